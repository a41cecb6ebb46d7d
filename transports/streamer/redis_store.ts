/**
 * {@linkcode RedisStreamStore}: the streamer store on Redis itself, with
 * redis-streamer's key layout (section 4.1 of the spec): entries of
 * `{device}:{prefix}{sid}` hold the bytes in field `d` and are added with
 * `XADD … MAXLEN ~ n`; meta are JSON strings (`:stream:meta:…`,
 * `:devices:meta:…`); devices are the sets `:devices:connected` and
 * `:devices:seen`; the event streams are untrimmed. telebus and the original
 * server can share one Redis.
 *
 * @module
 */
import * as v from "npm:valibot@^1.1.0";
import { Buffer } from "node:buffer";
import { ErrorReply, RESP_TYPES } from "npm:redis@^5.8.0";
import type { Logger } from "../../core/log.ts";
import { parseEntryId, StreamerProtocolError } from "../../protocol/streamer/wire.ts";
import { createRedis, type RedisClient } from "../../net/redis.ts";
import type { AddOptions, ReadOptions, StreamEntry, StreamInfo, StreamStore } from "./store.ts";
import { storeKeys } from "./schema.ts";

// Without a `maxlen` (the library, tests) the config schema's default applies: it is stated only there.
const DEFAULT_MAXLEN: number = v.parse(storeKeys.maxlen, undefined);

/** Options of {@linkcode RedisStreamStore}. */
export interface RedisStreamStoreOptions {
  /** `MAXLEN ~` of pushes and posts (REDIS_STREAM_MAXLEN of the original; default 1000). */
  maxlen?: number;
  /** Idle dedicated connections kept for blocking reads (default 4). */
  idleReaders?: number;
  /** With `rediss://`: a PEM file of CAs trusted besides the system's. */
  tlsCa?: string;
}

/** Answers as Buffers: keys, ids and `d` fields are bytes. */
const BINARY = { typeMapping: { [RESP_TYPES.BLOB_STRING]: Buffer } };

/** A reply as the RESP2 shapes these commands give, with blob strings as Buffers. */
type Reply = Buffer | number | null | Reply[];

function text(r: Reply): string {
  return r instanceof Buffer ? r.toString("utf8") : String(r);
}

function bytes(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

const EMPTY: Uint8Array = new Uint8Array(0);

/** How long a command waits for Redis before it fails, while the store is not connected yet. */
const CONNECT_WAIT_MS = 2000;

/** An entry `[id, [field, value, …]]`: the original's data is field `d` (another writer's entry without it reads as empty). */
function entryOf(r: Reply): StreamEntry {
  const [id, fields] = r as [Buffer, Reply[] | null];
  let data = EMPTY;
  const f = fields ?? [];
  for (let i = 0; i + 1 < f.length; i += 2) {
    if (text(f[i]) === "d") {
      data = bytes(f[i + 1] as Buffer);
      break;
    }
  }
  return { id: text(id), data };
}

/** Drops a connection at once; one closed already is left alone (node-redis throws then). */
function drop(c: RedisClient): void {
  try {
    if (c.isOpen) c.destroy();
  } catch {
    // closed meanwhile
  }
}

function checkCursor(c: string): string {
  if (!parseEntryId(c)) throw new StreamerProtocolError(`invalid stream id ${JSON.stringify(c)}`);
  return c;
}

/**
 * The streamer store on Redis. Commands go over one connection; blocking
 * reads (XREAD BLOCK) each take a dedicated connection from a small pool, so
 * they never hold up the others; a blocked read whose signal aborts drops its
 * connection, which ends the block on the server. The store connects in the
 * background: commands wait for the first connection.
 */
export class RedisStreamStore implements StreamStore {
  readonly #client: RedisClient;
  readonly #ready: Promise<RedisClient>;
  readonly #maxlen: number;
  readonly #idleMax: number;
  readonly #idle: RedisClient[] = [];
  readonly #busy = new Set<RedisClient>();
  readonly #stop = new AbortController();
  #closed = false;

  /**
   * Starts connecting to `url`.
   *
   * @param url `redis://…`
   * @param log where connection losses are logged
   * @param options trimming and pool size
   */
  constructor(readonly url: string, readonly log: Logger, options: RedisStreamStoreOptions = {}) {
    this.#maxlen = Math.max(1, options.maxlen ?? DEFAULT_MAXLEN);
    this.#idleMax = options.idleReaders ?? 4;
    // Not connected yet: the store is made synchronously when the API is acquired.
    const client: RedisClient = createRedis(url, log, { tlsCa: options.tlsCa });
    this.#client = client;
    this.#ready = client.connect().then(() => client);
    // A failed first connection is reported by the commands that wait for it.
    this.#ready.catch(() => {});
  }

  /** The connected client; fails after a while when Redis cannot be reached. */
  async #connected(): Promise<RedisClient> {
    if (this.#closed) throw new Error("the stream store is closed");
    if (this.#client.isReady) return this.#client;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      return await Promise.race([
        this.#ready,
        new Promise<never>((_, reject) =>
          timer = setTimeout(() => reject(new Error(`redis at ${this.url} is not reachable`)), CONNECT_WAIT_MS)
        ),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  async #cmd(args: (string | Buffer)[]): Promise<Reply> {
    const c = await this.#connected();
    return await c.sendCommand<Reply>(args, BINARY);
  }

  /** XADD key [MAXLEN ~ n] id d data. */
  async add(key: string, data: Uint8Array, options: AddOptions = {}): Promise<string> {
    const trim = options.trim === false ? [] : ["MAXLEN", "~", String(this.#maxlen)];
    const id = options.id ?? "*";
    try {
      const r = await this.#cmd([
        "XADD",
        key,
        ...trim,
        id,
        "d",
        Buffer.from(data.buffer, data.byteOffset, data.byteLength),
      ]);
      return text(r);
    } catch (e) {
      // Redis refuses a stale or malformed id: the client's mistake, answered as such.
      if (e instanceof ErrorReply) throw new StreamerProtocolError(`${key}: ${e.message}`);
      throw e;
    }
  }

  async #reader(): Promise<RedisClient> {
    const idle = this.#idle.pop();
    if (idle?.isReady) return idle;
    if (idle) drop(idle);
    const main = await this.#connected();
    const c = main.duplicate();
    c.on("error", () => {}); // the main connection logs losses; a reader is dropped on failure
    await c.connect();
    return c;
  }

  #release(c: RedisClient, ok: boolean): void {
    this.#busy.delete(c);
    if (ok && !this.#closed && c.isReady && this.#idle.length < this.#idleMax) this.#idle.push(c);
    else drop(c);
  }

  /** XREAD COUNT n [BLOCK ms] STREAMS …; a blocking read runs on a dedicated connection. */
  async read(
    cursors: ReadonlyArray<readonly [string, string]>,
    options: ReadOptions = {},
  ): Promise<[string, StreamEntry[]][]> {
    if (cursors.length === 0) return [];
    for (const [, c] of cursors) checkCursor(c);
    const count = Math.max(1, options.count ?? 1);
    const args = ["XREAD", "COUNT", String(count)];
    if (options.block !== undefined) args.push("BLOCK", String(Math.max(0, options.block)));
    args.push("STREAMS", ...cursors.map(([k]) => k), ...cursors.map(([, c]) => c));
    let r: Reply;
    if (options.block === undefined) r = await this.#cmd(args);
    else {
      if (this.#closed || options.signal?.aborted) return [];
      const c = await this.#reader();
      this.#busy.add(c);
      const abort = () => drop(c);
      options.signal?.addEventListener("abort", abort, { once: true });
      this.#stop.signal.addEventListener("abort", abort, { once: true });
      let ok = false;
      try {
        r = await c.sendCommand<Reply>(args, BINARY);
        ok = true;
      } catch (e) {
        if (options.signal?.aborted || this.#closed) return [];
        throw e;
      } finally {
        options.signal?.removeEventListener("abort", abort);
        this.#stop.signal.removeEventListener("abort", abort);
        this.#release(c, ok);
      }
    }
    if (!Array.isArray(r)) return [];
    return r.map((s) => {
      const [key, entries] = s as [Buffer, Reply[]];
      return [text(key), entries.map(entryOf)];
    });
  }

  /** XREVRANGE key + (after COUNT n. */
  async revRange(key: string, options: { after?: string; count?: number } = {}): Promise<StreamEntry[]> {
    const low = options.after === undefined ? "-" : `(${checkCursor(options.after)}`;
    const args = ["XREVRANGE", key, "+", low];
    if (options.count !== undefined) args.push("COUNT", String(options.count));
    const r = await this.#cmd(args);
    return Array.isArray(r) ? r.map(entryOf) : [];
  }

  /** XINFO STREAM key; undefined when there is no such key. */
  async info(key: string): Promise<StreamInfo | undefined> {
    let r: Reply;
    try {
      r = await this.#cmd(["XINFO", "STREAM", key]);
    } catch (e) {
      if (e instanceof ErrorReply && /no such key/i.test(e.message)) return undefined;
      throw e;
    }
    const f = new Map<string, Reply>();
    const a = r as Reply[];
    for (let i = 0; i + 1 < a.length; i += 2) f.set(text(a[i]), a[i + 1]);
    const num = (k: string) => Number(f.get(k) ?? 0);
    const id = (k: string) => f.has(k) ? text(f.get(k)!) : "0-0";
    const entry = (k: string) => Array.isArray(f.get(k)) ? entryOf(f.get(k)!) : undefined;
    return {
      length: num("length"),
      entriesAdded: num("entries-added"),
      lastGeneratedId: id("last-generated-id"),
      maxDeletedEntryId: id("max-deleted-entry-id"),
      recordedFirstEntryId: id("recorded-first-entry-id"),
      radixTreeKeys: num("radix-tree-keys"),
      radixTreeNodes: num("radix-tree-nodes"),
      groups: num("groups"),
      firstEntry: entry("first-entry"),
      lastEntry: entry("last-entry"),
    };
  }

  async #scan(glob: string | undefined, type: string): Promise<string[]> {
    const out = new Set<string>();
    let cursor = "0";
    do {
      const r = await this.#cmd(["SCAN", cursor, "MATCH", glob ?? "*", "COUNT", "1000", "TYPE", type]) as [
        Buffer,
        Buffer[],
      ];
      cursor = text(r[0]);
      for (const k of r[1]) out.add(text(k));
    } while (cursor !== "0");
    return [...out].sort();
  }

  /** SCAN … TYPE stream, sorted. */
  keys(glob?: string): Promise<string[]> {
    return this.#scan(glob, "stream");
  }

  /** DEL key. */
  async delete(key: string): Promise<boolean> {
    return Number(await this.#cmd(["DEL", key])) > 0;
  }

  /** GET key (undefined when absent or not a string). */
  async getValue(key: string): Promise<string | undefined> {
    try {
      const r = await this.#cmd(["GET", key]);
      return r === null ? undefined : text(r);
    } catch (e) {
      if (e instanceof ErrorReply) return undefined; // WRONGTYPE: not a value
      throw e;
    }
  }

  /** SET key value. */
  async setValue(key: string, value: string): Promise<void> {
    await this.#cmd(["SET", key, value]);
  }

  /** SCAN … TYPE string, sorted. */
  valueKeys(glob?: string): Promise<string[]> {
    return this.#scan(glob, "string");
  }

  /** SADD key member. */
  async setAdd(key: string, member: string): Promise<boolean> {
    return Number(await this.#cmd(["SADD", key, member])) > 0;
  }

  /** SREM key member. */
  async setRemove(key: string, member: string): Promise<boolean> {
    return Number(await this.#cmd(["SREM", key, member])) > 0;
  }

  /** SMEMBERS key, sorted. */
  async setMembers(key: string): Promise<string[]> {
    const r = await this.#cmd(["SMEMBERS", key]);
    return Array.isArray(r) ? r.map(text).sort() : [];
  }

  /** FLUSHDB, as the original's `flush` mutation does: it empties the whole Redis database. */
  async flush(): Promise<void> {
    await this.#cmd(["FLUSHDB"]);
  }

  /** Ends blocked reads, closes the connections. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#stop.abort();
    for (const c of this.#idle.splice(0)) drop(c);
    for (const c of this.#busy) drop(c);
    const c = this.#client;
    try {
      if (c.isReady) await c.close();
      else drop(c);
    } catch {
      drop(c);
    }
  }
}
