/**
 * The stream store behind the streamer API: a small interface shaped after
 * the Redis commands the API and its GraphQL schema need (XADD with
 * approximate MAXLEN, XREAD with BLOCK, XREVRANGE, XINFO STREAM, SCAN TYPE
 * stream/string, DEL, GET/SET of JSON strings, SADD/SREM/SMEMBERS, FLUSHDB),
 * and {@linkcode MemoryStreamStore}, the embedded implementation used when no
 * Redis is configured. `RedisStreamStore` (redis_store.ts) implements it on
 * Redis with the original's key layout.
 *
 * @module
 */
import * as v from "npm:valibot@^1.1.0";
import {
  compareEntryIds,
  type EntryId,
  formatEntryId,
  parseEntryId,
  StreamerProtocolError,
} from "../../protocol/streamer/wire.ts";
import { globToRegExp } from "../../core/glob.ts";
import { storeKeys } from "./schema.ts";

// A store made without limits (the library, tests) takes the config schema's defaults: they are stated only there.
const DEFAULT_MAXLEN: number = v.parse(storeKeys.maxlen, undefined);
const DEFAULT_MAX_STREAM_BYTES: number = v.parse(storeKeys.max_stream_bytes, undefined);
const DEFAULT_MAX_STREAMS: number = v.parse(storeKeys.max_streams, undefined);

/** One entry of a stream. */
export interface StreamEntry {
  /** Its `ms-seq` id. */
  readonly id: string;
  /** Its bytes (the `d` field of the original). */
  readonly data: Uint8Array;
}

/** What `XINFO STREAM` tells about a stream (the facts GraphQL's `Stream` type shows). */
export interface StreamInfo {
  /** Entries held now. */
  readonly length: number;
  /** Entries ever added (`entries-added`). */
  readonly entriesAdded: number;
  /** Id of the newest entry ever added, even if deleted since (`last-generated-id`). */
  readonly lastGeneratedId: string;
  /** Id of the newest entry trimmed away (`max-deleted-entry-id`; `0-0` when none). */
  readonly maxDeletedEntryId: string;
  /** Id of the oldest entry held (`recorded-first-entry-id`; `0-0` when empty). */
  readonly recordedFirstEntryId: string;
  /** The oldest entry held. */
  readonly firstEntry?: StreamEntry;
  /** The newest entry held. */
  readonly lastEntry?: StreamEntry;
  /** Keys of the stream's radix tree (`radix-tree-keys`; the embedded store reports 0). */
  readonly radixTreeKeys?: number;
  /** Nodes of the stream's radix tree (`radix-tree-nodes`; the embedded store reports 0). */
  readonly radixTreeNodes?: number;
  /** Consumer groups (`groups`; the embedded store has none). */
  readonly groups?: number;
}

/** Options of {@linkcode StreamStore.add}. */
export interface AddOptions {
  /** An explicit id (`ms-seq`, `ms`, or `ms-*`); it must be greater than the stream's top id. Default: generated. */
  readonly id?: string | null;
  /** Trim to `maxlen` (`MAXLEN ~`); false for the untrimmed event streams. Default true. */
  readonly trim?: boolean;
}

/** Options of {@linkcode StreamStore.read}. */
export interface ReadOptions {
  /** Most entries per stream (default 1). */
  readonly count?: number;
  /** Wait up to this many ms for an entry when none is there; 0 waits until `signal` aborts; absent: no wait. */
  readonly block?: number;
  /** Ends a blocked read early (it then returns what it has: nothing). */
  readonly signal?: AbortSignal;
}

/** A store of bounded, append-only streams of byte entries with Redis-style ids. */
export interface StreamStore {
  /** Appends an entry (XADD … MAXLEN ~ n); resolves to its id. Rejects with a clear message on a bad or stale id. */
  add(key: string, data: Uint8Array, options?: AddOptions): Promise<string>;
  /**
   * Entries after each cursor (exclusive), oldest first, up to `count` per
   * stream (XREAD). Streams with nothing new are left out. With `block`, waits
   * for the first append to any of the streams when none has anything.
   */
  read(
    cursors: ReadonlyArray<readonly [key: string, after: string]>,
    options?: ReadOptions,
  ): Promise<[string, StreamEntry[]][]>;
  /** The newest entries after `after` (exclusive; default: all), newest first, up to `count` (XREVRANGE key + (after COUNT n). */
  revRange(key: string, options?: { after?: string; count?: number }): Promise<StreamEntry[]>;
  /** Facts about a stream, or undefined when it does not exist (XINFO STREAM). */
  info(key: string): Promise<StreamInfo | undefined>;
  /** Keys of the streams, sorted, optionally those matching a glob (`*` matches `:` and `/` too). */
  keys(glob?: string): Promise<string[]>;
  /** Deletes a key of any kind (DEL); resolves to whether it existed. */
  delete(key: string): Promise<boolean>;
  /** The string value of a key (GET; the original keeps JSON there), or undefined. */
  getValue(key: string): Promise<string | undefined>;
  /** Sets the string value of a key (SET). */
  setValue(key: string, value: string): Promise<void>;
  /** Keys holding string values, sorted, optionally those matching a glob (SCAN TYPE string). */
  valueKeys(glob?: string): Promise<string[]>;
  /** Adds a member to a set (SADD); resolves to whether it was new. */
  setAdd(key: string, member: string): Promise<boolean>;
  /** Removes a member from a set (SREM); resolves to whether it was there. */
  setRemove(key: string, member: string): Promise<boolean>;
  /** Members of a set, sorted (SMEMBERS). */
  setMembers(key: string): Promise<string[]>;
  /** Deletes everything (FLUSHDB). */
  flush(): Promise<void>;
  /** Releases the store; blocked reads return at once. */
  close(): Promise<void>;
}

/** Limits of a {@linkcode MemoryStreamStore}. */
export interface MemoryStreamStoreOptions {
  /** Entries kept per stream, trimmed approximately as Redis's `MAXLEN ~` (default: the `maxlen` option's). */
  maxlen?: number;
  /** Bytes kept per stream; the oldest entries go first (default: the `max_stream_bytes` option's). */
  maxStreamBytes?: number;
  /** Most streams; adding to a new stream beyond this is refused (default: the `max_streams` option's). Also bounds values and set members. */
  maxStreams?: number;
  /** Largest string value (stream and device meta; default 1 MiB). */
  maxValueBytes?: number;
}

interface Entry extends StreamEntry {
  readonly key: EntryId;
}

class Stream {
  entries: Entry[] = [];
  bytes = 0;
  added = 0;
  last: EntryId = { ms: 0, seq: 0 };
  maxDeleted: EntryId = { ms: 0, seq: 0 };
}

/** Index of the first entry whose id is greater than `after`. */
function firstAfter(entries: readonly Entry[], after: EntryId): number {
  let lo = 0, hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareEntryIds(entries[mid].key, after) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function cursorId(text: string): EntryId {
  const id = parseEntryId(text);
  if (!id) throw new StreamerProtocolError(`invalid stream id ${JSON.stringify(text)}`);
  return id;
}

function publicEntry(e: Entry | undefined): StreamEntry | undefined {
  return e && { id: e.id, data: e.data };
}

/**
 * The embedded stream store: every stream an array of entries in memory,
 * bounded by entry count (approximate trim, like `MAXLEN ~`: trimmed in
 * chunks of a tenth of `maxlen`, at most 100, so the length stays within
 * `maxlen` and `maxlen + chunk - 1`) and by bytes. Blocked reads wait on the
 * streams they read and are woken by appends; nothing polls.
 */
export class MemoryStreamStore implements StreamStore {
  readonly #streams = new Map<string, Stream>();
  readonly #waiters = new Map<string, Set<() => void>>();
  readonly #maxlen: number;
  readonly #chunk: number;
  readonly #maxBytes: number;
  readonly #maxStreams: number;
  readonly #maxValueBytes: number;
  readonly #values = new Map<string, string>();
  readonly #sets = new Map<string, Set<string>>();
  #closed = false;

  /** Creates an empty store with the given limits. */
  constructor(options: MemoryStreamStoreOptions = {}) {
    this.#maxlen = Math.max(1, options.maxlen ?? DEFAULT_MAXLEN);
    this.#chunk = Math.max(1, Math.min(100, Math.floor(this.#maxlen / 10)));
    this.#maxBytes = options.maxStreamBytes ?? DEFAULT_MAX_STREAM_BYTES;
    this.#maxStreams = options.maxStreams ?? DEFAULT_MAX_STREAMS;
    this.#maxValueBytes = options.maxValueBytes ?? 1024 * 1024;
  }

  /** Synchronous {@linkcode add}: appends and returns the new id. */
  addSync(key: string, data: Uint8Array, options: AddOptions = {}): string {
    if (this.#closed) throw new Error("the stream store is closed");
    let s = this.#streams.get(key);
    const fresh = !s;
    if (!s) {
      if (this.#streams.size >= this.#maxStreams) {
        throw new StreamerProtocolError(`too many streams (${this.#maxStreams}); not creating ${JSON.stringify(key)}`);
      }
      s = new Stream();
    }
    const id = this.#nextId(s, options.id ?? null);
    if (fresh) this.#streams.set(key, s);
    const entry: Entry = { key: id, id: formatEntryId(id), data };
    s.entries.push(entry);
    s.bytes += data.length;
    s.added++;
    s.last = id;
    if (options.trim !== false) this.#trim(s);
    // Even an untrimmed stream (the device events) stays bounded in memory.
    else if (s.entries.length > this.#maxlen * 10) this.#trimTo(s, s.entries.length - this.#maxlen * 10);
    const w = this.#waiters.get(key);
    if (w) { for (const wake of w) wake(); }
    return entry.id;
  }

  #nextId(s: Stream, explicit: string | null): EntryId {
    const top = s.last;
    if (explicit === null || explicit === "*") {
      const now = Date.now();
      return now > top.ms ? { ms: now, seq: 0 } : { ms: top.ms, seq: top.seq + 1 };
    }
    let id: EntryId | undefined;
    if (explicit.endsWith("-*")) {
      const ms = parseEntryId(explicit.slice(0, -2))?.ms;
      if (ms !== undefined && !explicit.slice(0, -2).includes("-")) {
        id = ms === top.ms ? { ms, seq: top.seq + 1 } : { ms, seq: 0 };
      }
    } else id = parseEntryId(explicit);
    if (!id) throw new StreamerProtocolError(`invalid entry id ${JSON.stringify(explicit)} (expected ms-seq)`);
    if (id.ms === 0 && id.seq === 0) throw new StreamerProtocolError("the entry id must be greater than 0-0");
    if (compareEntryIds(id, top) <= 0) {
      throw new StreamerProtocolError(
        `entry id ${formatEntryId(id)} is equal or smaller than the stream's top id ${formatEntryId(top)}`,
      );
    }
    return id;
  }

  #trim(s: Stream): void {
    let drop = 0;
    if (s.entries.length >= this.#maxlen + this.#chunk) drop = s.entries.length - this.#maxlen;
    let bytes = s.bytes;
    for (let i = 0; i < drop; i++) bytes -= s.entries[i].data.length;
    // The byte bound is exact; the newest entry is always kept.
    while (bytes > this.#maxBytes && drop < s.entries.length - 1) bytes -= s.entries[drop++].data.length;
    this.#trimTo(s, drop, bytes);
  }

  #trimTo(s: Stream, drop: number, bytes?: number): void {
    if (drop === 0) return;
    if (bytes === undefined) {
      bytes = s.bytes;
      for (let i = 0; i < drop; i++) bytes -= s.entries[i].data.length;
    }
    s.maxDeleted = s.entries[drop - 1].key;
    s.entries.splice(0, drop);
    s.bytes = bytes;
  }

  /** Appends an entry; see {@linkcode StreamStore.add}. */
  add(key: string, data: Uint8Array, options?: AddOptions): Promise<string> {
    try {
      return Promise.resolve(this.addSync(key, data, options));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  #readNow(cursors: ReadonlyArray<readonly [string, EntryId]>, count: number): [string, StreamEntry[]][] {
    const out: [string, StreamEntry[]][] = [];
    for (const [key, after] of cursors) {
      const s = this.#streams.get(key);
      if (!s) continue;
      const i = firstAfter(s.entries, after);
      if (i >= s.entries.length) continue;
      out.push([key, s.entries.slice(i, i + count).map((e) => ({ id: e.id, data: e.data }))]);
    }
    return out;
  }

  /** Reads after cursors, optionally blocking; see {@linkcode StreamStore.read}. */
  async read(
    cursors: ReadonlyArray<readonly [string, string]>,
    options: ReadOptions = {},
  ): Promise<[string, StreamEntry[]][]> {
    const parsed = cursors.map(([k, c]) => [k, cursorId(c)] as const);
    const count = Math.max(1, options.count ?? 1);
    const now = this.#readNow(parsed, count);
    if (now.length > 0 || options.block === undefined || this.#closed || options.signal?.aborted) return now;
    const deadline = options.block > 0 ? Date.now() + options.block : Infinity;
    for (;;) {
      const remaining = deadline - Date.now();
      if (remaining <= 0 || this.#closed || options.signal?.aborted) return [];
      await this.#wait(parsed.map(([k]) => k), remaining, options.signal);
      const got = this.#readNow(parsed, count);
      if (got.length > 0) return got;
    }
  }

  /** Resolves on the first append to one of `keys`, after `ms`, on abort, or on close. */
  #wait(keys: readonly string[], ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const wake = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", wake);
        for (const k of keys) {
          const set = this.#waiters.get(k);
          set?.delete(wake);
          if (set?.size === 0) this.#waiters.delete(k);
        }
        this.#closers.delete(wake);
        resolve();
      };
      for (const k of keys) {
        let set = this.#waiters.get(k);
        if (!set) this.#waiters.set(k, set = new Set());
        set.add(wake);
      }
      this.#closers.add(wake);
      signal?.addEventListener("abort", wake, { once: true });
      if (Number.isFinite(ms)) timer = setTimeout(wake, ms);
    });
  }
  readonly #closers = new Set<() => void>();

  /** Newest entries first; see {@linkcode StreamStore.revRange}. */
  revRange(key: string, options: { after?: string; count?: number } = {}): Promise<StreamEntry[]> {
    try {
      const s = this.#streams.get(key);
      if (!s) return Promise.resolve([]);
      const from = options.after === undefined ? 0 : firstAfter(s.entries, cursorId(options.after));
      const count = options.count ?? Infinity;
      const out: StreamEntry[] = [];
      for (let i = s.entries.length - 1; i >= from && out.length < count; i--) out.push(publicEntry(s.entries[i])!);
      return Promise.resolve(out);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Synchronous {@linkcode info}. */
  infoSync(key: string): StreamInfo | undefined {
    const s = this.#streams.get(key);
    if (!s) return undefined;
    const first = s.entries[0], last = s.entries[s.entries.length - 1];
    return {
      length: s.entries.length,
      entriesAdded: s.added,
      lastGeneratedId: formatEntryId(s.last),
      maxDeletedEntryId: formatEntryId(s.maxDeleted),
      recordedFirstEntryId: first ? first.id : "0-0",
      firstEntry: publicEntry(first),
      lastEntry: publicEntry(last),
    };
  }

  /** Facts about a stream; see {@linkcode StreamStore.info}. */
  info(key: string): Promise<StreamInfo | undefined> {
    return Promise.resolve(this.infoSync(key));
  }

  /** Stream keys, sorted; see {@linkcode StreamStore.keys}. */
  keys(glob?: string): Promise<string[]> {
    const all = [...this.#streams.keys()].sort();
    if (glob === undefined || glob === "*") return Promise.resolve(all);
    const re = globToRegExp(glob);
    return Promise.resolve(all.filter((k) => re.test(k)));
  }

  /** Deletes a key of any kind; see {@linkcode StreamStore.delete}. */
  delete(key: string): Promise<boolean> {
    const a = this.#streams.delete(key), b = this.#values.delete(key), c = this.#sets.delete(key);
    return Promise.resolve(a || b || c);
  }

  /** A string value; see {@linkcode StreamStore.getValue}. */
  getValue(key: string): Promise<string | undefined> {
    return Promise.resolve(this.#values.get(key));
  }

  /** Sets a string value; see {@linkcode StreamStore.setValue}. */
  setValue(key: string, value: string): Promise<void> {
    if (this.#closed) return Promise.reject(new Error("the stream store is closed"));
    if (value.length > this.#maxValueBytes) {
      return Promise.reject(
        new StreamerProtocolError(`a value of ${value.length} bytes exceeds ${this.#maxValueBytes}`),
      );
    }
    if (!this.#values.has(key) && this.#values.size >= this.#maxStreams) {
      return Promise.reject(new StreamerProtocolError(`too many values (${this.#maxStreams})`));
    }
    this.#values.set(key, value);
    return Promise.resolve();
  }

  /** Keys of string values; see {@linkcode StreamStore.valueKeys}. */
  valueKeys(glob?: string): Promise<string[]> {
    const all = [...this.#values.keys()].sort();
    if (glob === undefined || glob === "*") return Promise.resolve(all);
    const re = globToRegExp(glob);
    return Promise.resolve(all.filter((k) => re.test(k)));
  }

  /** Adds to a set; see {@linkcode StreamStore.setAdd}. */
  setAdd(key: string, member: string): Promise<boolean> {
    if (this.#closed) return Promise.reject(new Error("the stream store is closed"));
    let set = this.#sets.get(key);
    if (!set) this.#sets.set(key, set = new Set());
    if (set.has(member)) return Promise.resolve(false);
    if (set.size >= this.#maxStreams) return Promise.reject(new StreamerProtocolError(`set ${key} is full`));
    set.add(member);
    return Promise.resolve(true);
  }

  /** Removes from a set; see {@linkcode StreamStore.setRemove}. */
  setRemove(key: string, member: string): Promise<boolean> {
    const set = this.#sets.get(key);
    const had = set?.delete(member) ?? false;
    if (set?.size === 0) this.#sets.delete(key);
    return Promise.resolve(had);
  }

  /** Members of a set; see {@linkcode StreamStore.setMembers}. */
  setMembers(key: string): Promise<string[]> {
    return Promise.resolve([...this.#sets.get(key) ?? []].sort());
  }

  /** Deletes everything; see {@linkcode StreamStore.flush}. */
  flush(): Promise<void> {
    this.#streams.clear();
    this.#values.clear();
    this.#sets.clear();
    return Promise.resolve();
  }

  /** Total entries and bytes held, for gauges. */
  get size(): { streams: number; entries: number; bytes: number } {
    let entries = 0, bytes = 0;
    for (const s of this.#streams.values()) {
      entries += s.entries.length;
      bytes += s.bytes;
    }
    return { streams: this.#streams.size, entries, bytes };
  }

  /** Wakes every blocked read and refuses further appends. */
  close(): Promise<void> {
    this.#closed = true;
    for (const wake of [...this.#closers]) wake();
    return Promise.resolve();
  }
}
