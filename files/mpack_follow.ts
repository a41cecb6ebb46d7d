/**
 * Follows a `.mpack` log (or the newest `*.mpack` of a directory) like
 * `tail -F`: reads it in large chunks, yields whole records in batches with
 * their absolute offsets, waits for torn records to complete, reports garbage,
 * and notices truncation, rotation and newer files. Used by the `mpack_tail`
 * input and by the command line's `dump` and `list`.
 *
 * @module
 */
import { basename, join } from "node:path";
import {
  type MpackRecordItem,
  type MpackStreamItem,
  type MpackStreamOptions,
  MpackStreamReader,
} from "../codecs/mpack_stream.ts";
import { sleep } from "../core/async.ts";

export type { MpackRecordItem };

/** Which file is meant: its path when it was opened, and its device and inode (stable across renames). */
export interface FileIdentity {
  /** The path the file was opened by. */
  path: string;
  /** Device number (`stat.dev`). */
  dev: number;
  /** Inode number (`stat.ino`; 0 where the platform has none). */
  ino: number;
}

/** A place in a followed log: what a checkpoint stores. */
export interface FollowPosition {
  /** The file; when absent, the offset applies to whichever file is current. */
  file?: FileIdentity;
  /** Absolute byte offset in that file (just past the last record handled). */
  offset: number;
}

/** Options of {@linkcode followMpack}. */
export interface FollowOptions {
  /** True: keep waiting for appended data and new files (`tail -f`); false: end at the end of the data. */
  follow: boolean;
  /** Where to begin (default `"start"`). */
  from?: "start" | "end" | FollowPosition;
  /** Milliseconds between checks when idle (default 50). */
  pollInterval?: number;
  /** Read size in bytes (default 64 KiB). */
  chunkSize?: number;
  /** Largest record accepted, passed to the stream reader (default 64 MiB). */
  maxRecordBytes?: number;
  /** Decode records as they are read (default true); false defers decoding to the first access of `value`. */
  decode?: boolean;
  /**
   * Read into two buffers in turn instead of a new one per read (default
   * false): a record's `raw` bytes (and, with `decode: false`, its `value`)
   * are then valid only until the next event is asked for. Keeps memory flat
   * for consumers that are done with each batch at once (`dump`, `list`).
   */
  reuseBuffers?: boolean;
  /**
   * Receives each record as soon as it is read, instead of its batch: the
   * `records` events then carry no items, only `count`. Spares consumers that
   * handle one record at a time (`dump`) the batch that outlives V8's
   * young-generation collections.
   */
  onRecord?: (item: MpackRecordItem) => void;
  /**
   * Following: milliseconds an incomplete record may stay at the end of the
   * file before it is declared torn (reported as garbage) and reading resumes
   * after it (default 1000).
   */
  tornAfter?: number;
  /** Ends the iteration promptly. */
  signal?: AbortSignal;
}

/** What {@linkcode followMpack} yields. */
export type FollowEvent =
  | {
    /** Discriminator. */
    kind: "records";
    /** The file the records come from. */
    file: FileIdentity;
    /** The records of one read, in file order (none when `onRecord` took them). */
    items: MpackRecordItem[];
    /** How many records the event stands for (`items.length` unless `onRecord` took them). */
    count: number;
    /** Absolute offset just past the last item: the position to checkpoint. */
    endOffset: number;
  }
  | {
    /** Discriminator. */
    kind: "garbage";
    /** The file that holds the garbage. */
    file: FileIdentity;
    /** Absolute offset of the first bad byte. */
    start: number;
    /** How many bytes were skipped. */
    length: number;
    /** Why the bytes are no record. */
    reason: string;
  }
  | {
    /** Discriminator. */
    kind: "switch";
    /**
     * The file read before; on the first (`"open"`) event it is set only when
     * `from` was a position that could not be resumed (its file is gone or
     * shorter than the offset), and then reading starts at offset 0.
     */
    from?: FileIdentity;
    /** The file read from now on. */
    to: FileIdentity;
    /** Why: the first file, the path now names another file, the file shrank, a newer file appeared. */
    reason: "open" | "rotated" | "truncated" | "newer file";
  };

/** The reader the follower uses. */
type StreamReader = MpackStreamReader;

function makeReader(options: MpackStreamOptions): StreamReader {
  return new MpackStreamReader(options);
}

/**
 * Read size. Small on purpose: decoded records that wait in queues survive V8's young-generation collections and
 * get expensive; reading 64 KiB (about 250 telemetry records) at a time keeps that short. Measured with
 * bench/pipeline_throughput.ts: 64 KiB beats 1 MiB by 1.5–2× on every path.
 */
const DEFAULT_CHUNK = 64 * 1024;
/** Directory mode re-lists the folder at least this often even when its mtime looks unchanged (coarse clocks). */
const RESCAN_MS = 1000;

interface OpenFile {
  handle: Deno.FsFile;
  id: FileIdentity;
}

interface Listed {
  id: FileIdentity;
  name: string;
  mtime: number;
}

function identityOf(path: string, info: Deno.FileInfo): FileIdentity {
  return { path, dev: info.dev, ino: info.ino ?? 0 };
}

function sameFile(a: FileIdentity, b: FileIdentity): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}

/** Oldest first: by mtime, then by name. */
function compareAge(a: { mtime: number; name: string }, b: { mtime: number; name: string }): number {
  return a.mtime - b.mtime || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

function isNotFound(e: unknown): boolean {
  return e instanceof Deno.errors.NotFound;
}

/** The `*.mpack` regular files of `dir`, oldest first. */
async function listDir(dir: string): Promise<Listed[]> {
  const out: Listed[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (!e.name.endsWith(".mpack")) continue;
    const p = join(dir, e.name);
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(p);
    } catch (err) {
      if (isNotFound(err)) continue; // removed between readDir and stat
      throw err;
    }
    if (!info.isFile) continue;
    out.push({ id: identityOf(p, info), name: e.name, mtime: info.mtime?.getTime() ?? 0 });
  }
  return out.sort(compareAge);
}

/** Opens `path` for reading; undefined when it vanished meanwhile. */
async function openFile(path: string): Promise<{ file: OpenFile; size: number; mtime: number } | undefined> {
  let handle: Deno.FsFile;
  try {
    handle = await Deno.open(path, { read: true });
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
  try {
    const info = await handle.stat();
    return { file: { handle, id: identityOf(path, info) }, size: info.size, mtime: info.mtime?.getTime() ?? 0 };
  } catch (e) {
    handle.close();
    throw e;
  }
}

function closeQuietly(f: OpenFile | undefined): void {
  try {
    f?.handle.close();
  } catch {
    // already closed
  }
}

/** Milliseconds an incomplete record may stay at the end of a followed file before it is declared torn. */
const DEFAULT_TORN_AFTER = 1000;

/**
 * Moves what the reader holds into `out`, starting with `first` when given:
 * all records between garbage runs as one `records` event each (one per read
 * in the usual case), garbage as its own event. Synchronous on purpose: this
 * is the hot path.
 */
function drainReader(
  reader: StreamReader,
  file: FileIdentity,
  out: FollowEvent[],
  first?: MpackStreamItem,
  each?: (item: MpackRecordItem) => void,
): void {
  let items: MpackRecordItem[] = [];
  let count = 0;
  let endOffset = 0;
  for (let it = first ?? reader.next(); it !== undefined; it = reader.next()) {
    if (it.kind === "record") {
      if (each) each(it);
      else items.push(it);
      count++;
      endOffset = it.end;
      continue;
    }
    if (count > 0) {
      out.push({ kind: "records", file, items, count, endOffset });
      items = [];
      count = 0;
    }
    out.push({ kind: "garbage", file, start: it.start, length: it.length, reason: it.reason });
  }
  if (count > 0) out.push({ kind: "records", file, items, count, endOffset });
}

/**
 * Follows the `.mpack` log at `path` (a file, or a directory whose newest
 * `*.mpack` file is read) and yields batches of records, garbage reports and
 * file switches. The first event is always a `switch` with reason `"open"`.
 *
 * - A torn last record is held back until its rest arrives. Following, a
 *   record still incomplete `tornAfter` ms after it was first seen at the end
 *   of the file is declared torn: a `garbage` event, and reading resumes at
 *   the first byte written after it (see
 *   {@linkcode MpackStreamReader.declareTorn}). Not following, it is torn at
 *   the end of the data, and the records after it are still found (see
 *   {@linkcode MpackStreamReader.finish}).
 * - A file that shrinks below the read position is re-read from 0
 *   (`"truncated"`).
 * - When the path names another file (rotation), or a newer file appears in
 *   the directory, the current file is first read to its end, then the other
 *   file is read from 0. In a directory, newer files are taken oldest first
 *   so none is skipped; files once left are not returned to.
 * - Not following, the iteration ends at the end of the current file (in a
 *   directory, after the files newer than it that exist already, which only
 *   matters when resuming from an older file). A missing file or empty
 *   directory ends it at once (a missing path throws `NotFound`); following,
 *   both are waited for, and a file that appears later is read from 0.
 *
 * Every file handle is closed when the iteration ends, returns or is aborted.
 */
export async function* followMpack(path: string, options: FollowOptions): AsyncIterableIterator<FollowEvent> {
  const follow = options.follow;
  const poll = options.pollInterval ?? 50;
  const chunkSize = Math.max(options.chunkSize ?? DEFAULT_CHUNK, 16);
  const signal = options.signal;
  const from = options.from ?? "start";
  const tornAfter = options.tornAfter ?? DEFAULT_TORN_AFTER;
  const each = options.onRecord;
  const reader = makeReader({
    maxRecordBytes: options.maxRecordBytes,
    decode: options.decode,
    recycle: options.reuseBuffers,
  });
  let cur: OpenFile | undefined;
  let pending: { file: OpenFile; reason: "rotated" | "newer file" } | undefined;
  const left = new Set<string>(); // dev:ino of files finished in directory mode
  const keyOf = (id: FileIdentity) => `${id.dev}:${id.ino}`;
  let dirMtime = -1;
  let lastScan = 0;
  let scanned: Listed[] = [];
  /** The record held back at the end of the file (absolute offset, -1 for none) and since when (ms). */
  let heldAt = -1;
  let heldSince = 0;

  try {
    // Wait for the path to exist and learn whether it is a directory.
    let isDir = false;
    let waited = false;
    for (;;) {
      try {
        isDir = (await Deno.stat(path)).isDirectory;
        break;
      } catch (e) {
        if (!isNotFound(e) || !follow) throw e;
      }
      waited = true;
      if (!await sleep(poll, signal)) return;
    }

    // Open the first file at the position `from` asks for.
    let offset = 0;
    let missed: FileIdentity | undefined;
    for (;;) {
      if (signal?.aborted) return;
      let target = path;
      if (isDir) {
        const list = await listDir(path);
        if (list.length > 0) {
          target = list[list.length - 1].id.path;
          const want = typeof from === "object" ? from.file : undefined;
          const found = want && list.find((e) => sameFile(e.id, want));
          if (found) target = found.id.path;
        } else target = "";
      }
      const opened = target ? await openFile(target) : undefined;
      if (opened) {
        cur = opened.file;
        // Data that appears after we started waiting is new: read it all, even for "end".
        if (from === "end") offset = waited ? 0 : opened.size;
        else if (typeof from === "object") {
          const ok = (from.file === undefined || sameFile(from.file, cur.id)) && from.offset <= opened.size;
          offset = ok ? from.offset : 0;
          if (!ok && from.file) missed = from.file;
        }
        break;
      }
      if (!follow) return;
      waited = true;
      if (!await sleep(poll, signal)) return;
    }
    if (offset > 0) await cur.handle.seek(offset, Deno.SeekMode.Start);
    reader.reset(offset);
    yield missed ? { kind: "switch", from: missed, to: cur.id, reason: "open" } : {
      kind: "switch",
      to: cur.id,
      reason: "open",
    };

    /** In directory mode: the oldest file newer than the current one, opened; else undefined. */
    const newerInDir = async (curMtime: number): Promise<OpenFile | undefined> => {
      const now = Date.now();
      let mtime = -2;
      try {
        mtime = (await Deno.stat(path)).mtime?.getTime() ?? -2;
      } catch (e) {
        if (!isNotFound(e)) throw e;
        return undefined; // the directory is gone: keep reading what we hold
      }
      if (mtime !== dirMtime || now - lastScan >= RESCAN_MS) {
        scanned = await listDir(path);
        dirMtime = mtime;
        lastScan = now;
      }
      const c = cur as OpenFile;
      const me = { mtime: curMtime, name: basename(c.id.path) };
      for (const e of scanned) {
        if (sameFile(e.id, c.id) || left.has(keyOf(e.id)) || compareAge(e, me) <= 0) continue;
        const opened = await openFile(e.id.path);
        if (!opened) continue;
        if (sameFile(opened.file.id, c.id) || left.has(keyOf(opened.file.id))) {
          closeQuietly(opened.file);
          continue;
        }
        return opened.file;
      }
      return undefined;
    };

    /** In file mode: the file the path names now when it is another one (rotation), opened; else undefined. */
    const replacedAtPath = async (): Promise<OpenFile | undefined> => {
      let info: Deno.FileInfo;
      try {
        info = await Deno.stat(path);
      } catch (e) {
        if (isNotFound(e)) return undefined; // renamed away, the new one is not there yet
        throw e;
      }
      const c = cur as OpenFile;
      if (sameFile(identityOf(path, info), c.id)) return undefined;
      const opened = await openFile(path);
      if (!opened) return undefined;
      if (sameFile(opened.file.id, c.id)) {
        closeQuietly(opened.file);
        return undefined;
      }
      return opened.file;
    };

    const events: FollowEvent[] = [];
    let buf = new Uint8Array(chunkSize);
    // Two buffers in turn: the reader copies bytes it holds back out of the previous one before the next is read.
    const spare = options.reuseBuffers ? [buf, new Uint8Array(chunkSize)] : undefined;
    let turn = 0;
    for (;;) {
      if (signal?.aborted) return;
      // Reading a whole file with reused buffers (dump, list): a blocking read, which a local file answers at once,
      // without a trip through the runtime's thread pool. A follower keeps the async one: it must stay responsive
      // to signals whatever the path is.
      const n = spare && !follow ? cur.handle.readSync(buf) : await cur.handle.read(buf);
      if (n !== null && n > 0) {
        let chunk: Uint8Array;
        // Records are views on the chunk, so a chunk is never overwritten (unless reuseBuffers); small reads are
        // copied out so that a trickle of appends does not pin a 1 MiB buffer per read.
        if (spare) {
          chunk = buf.subarray(0, n);
          turn ^= 1;
          buf = spare[turn];
        } else if (n < chunkSize >> 1) chunk = buf.slice(0, n);
        else {
          chunk = buf.subarray(0, n);
          buf = new Uint8Array(chunkSize);
        }
        reader.push(chunk);
        drainReader(reader, cur.id, events, undefined, each);
        for (let i = 0; i < events.length; i++) yield events[i];
        events.length = 0;
        continue;
      }

      // At the end of the current file.
      if (pending) {
        // The old file was read to its end once more after the switch was decided: now switch.
        drainReader(reader, cur.id, events, reader.finish(), each);
        for (let i = 0; i < events.length; i++) yield events[i];
        events.length = 0;
        const old = cur;
        left.add(keyOf(old.id));
        if (left.size > 10_000) left.clear(); // bound memory in a folder that rotates forever
        cur = pending.file;
        const reason = pending.reason;
        pending = undefined;
        closeQuietly(old);
        reader.reset(0);
        heldAt = -1;
        yield { kind: "switch", from: old.id, to: cur.id, reason };
        continue;
      }

      if (!follow) {
        const next = isDir ? await newerInDir((await cur.handle.stat()).mtime?.getTime() ?? 0) : undefined;
        if (next) {
          pending = { file: next, reason: "newer file" };
          continue;
        }
        drainReader(reader, cur.id, events, reader.finish(), each);
        for (let i = 0; i < events.length; i++) yield events[i];
        return;
      }

      const info = await cur.handle.stat();
      if (info.size < reader.end) {
        // What we held back (a torn record) is gone with the truncated data.
        reader.reset(0);
        heldAt = -1;
        await cur.handle.seek(0, Deno.SeekMode.Start);
        yield { kind: "switch", from: cur.id, to: cur.id, reason: "truncated" };
        continue;
      }
      const next = isDir ? await newerInDir(info.mtime?.getTime() ?? 0) : await replacedAtPath();
      if (next) {
        // Read the old file to its end once more (the writer may have added a last record), then switch.
        pending = { file: next, reason: isDir ? "newer file" : "rotated" };
        continue;
      }
      // An incomplete record at the end of the file: wait for its rest, but not forever (a writer that crashed).
      const held = reader.heldRecord();
      const now = performance.now();
      if (held !== heldAt) {
        heldAt = held;
        heldSince = now;
      } else if (held >= 0 && now - heldSince >= tornAfter) {
        heldAt = -1;
        const g = reader.declareTorn(`torn record: still incomplete after ${tornAfter} ms`);
        if (g) {
          drainReader(reader, cur.id, events, g, each);
          for (let i = 0; i < events.length; i++) yield events[i];
          events.length = 0;
          continue;
        }
      }
      if (!await sleep(poll, signal)) return;
    }
  } finally {
    closeQuietly(cur);
    closeQuietly(pending?.file);
  }
}
