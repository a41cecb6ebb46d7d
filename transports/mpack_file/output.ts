/**
 * The `mpack_file` output: writes each record's dictionary as one MessagePack
 * map, back to back, as mpacklog writes `.mpack` logs, with file-name
 * templates, rotation by size and by wall-clock interval, fsync policies and
 * repair of a torn tail before appending to an existing file.
 *
 * Each batch (or each part of a batch split by rotation) is written as one
 * contiguous buffer, so a crash can leave at most one torn record, at the end.
 *
 * @module
 */
import { basename, dirname } from "node:path";
import type { Logger } from "../../core/log.ts";
import { type BusRecord, type Dict, nsToSeconds } from "../../core/record.ts";
import type { PartStats } from "../../core/stats.ts";
import type { Output, OutputContext } from "../../core/transport.ts";
import { encodeMsgpack, encodeRecordMsgpack } from "../../codecs/msgpack.ts";
import { assertRecordSize } from "../../codecs/limits.ts";
import { RecordRejects } from "../../core/reject.ts";
import { checkRecordSpan, INCOMPLETE, MpackStreamReader } from "../../codecs/mpack_stream.ts";
import type { MpackFileConfig } from "./schema.ts";

/** Values substituted into a path template. */
export interface PathValues {
  /** The output's name, for `{name}`. */
  name: string;
  /** The host name, for `{host}`. */
  host: string;
  /** Milliseconds since the epoch, for `{date}`, `{time}` and `{datetime}` (UTC). */
  timeMs: number;
  /** The counter for `{seq}`; when undefined `{seq}` is left in place. */
  seq?: number;
  /** Milliseconds since the epoch when the output started, for `{started}` (default: `timeMs`). */
  startedMs?: number;
}

/** `YYYYMMDD` and `HHMMSS` of a time (UTC). */
function dateAndTime(ms: number): [string, string] {
  const iso = new Date(ms).toISOString(); // 2024-01-02T03:04:05.678Z
  return [
    iso.slice(0, 4) + iso.slice(5, 7) + iso.slice(8, 10),
    iso.slice(11, 13) + iso.slice(14, 16) + iso.slice(17, 19),
  ];
}

/**
 * Expands the placeholders of a path template: `{name}`, `{date}` (YYYYMMDD),
 * `{time}` (HHMMSS), `{datetime}` (YYYYMMDDTHHMMSSZ), all of `timeMs`;
 * `{started}` (YYYYMMDDTHHMMSSZ of `startedMs`), `{seq}` (0-padded to 4) and
 * `{host}`. Times are UTC.
 */
export function expandPathTemplate(template: string, values: PathValues): string {
  const [date, time] = dateAndTime(values.timeMs);
  return template.replace(/\{(name|date|time|datetime|started|seq|host)\}/g, (whole, key: string) => {
    switch (key) {
      case "started": {
        const [d, t] = dateAndTime(values.startedMs ?? values.timeMs);
        return `${d}T${t}Z`;
      }
      case "name":
        return values.name;
      case "date":
        return date;
      case "time":
        return time;
      case "datetime":
        return `${date}T${time}Z`;
      case "host":
        return values.host;
      default:
        return values.seq === undefined ? whole : String(values.seq).padStart(4, "0");
    }
  });
}

/** `a/b.mpack` with `n` = 2 gives `a/b.2.mpack`; a name without an extension gets `.2` appended. */
export function withNumberSuffix(path: string, n: number): string {
  const base = basename(path);
  const dot = base.lastIndexOf(".");
  if (dot <= 0) return `${path}.${n}`;
  const cut = path.length - base.length + dot;
  return `${path.slice(0, cut)}.${n}${path.slice(cut)}`;
}

/** What follows the last whole record of a file. */
export type TailKind = "none" | "torn" | "zeros" | "junk";

/** What {@linkcode repairMpackTail} found and did. */
export interface TailRepair {
  /** File size after the repair (the end of the last good record unless `foreign`). */
  size: number;
  /** Whole records found. */
  records: number;
  /** Bytes cut from the tail (0 when the file ended cleanly or is `foreign`). */
  cut: number;
  /** What the tail held: nothing, the start of a record, zeros (as a power loss can leave) or anything else. */
  tail: TailKind;
  /** Bytes of garbage between records, left in place. */
  middleGarbage: number;
  /**
   * The file does not look like an mpack log (no record and not just a torn record or zeros, or mostly
   * garbage): it was left untouched and must not be appended to.
   */
  foreign: boolean;
}

/** Bytes read per step while scanning an existing file. */
const SCAN_CHUNK = 1 << 20;

/** Largest record accepted while scanning (MpackStreamReader's default); a longer tail cannot be one torn record. */
const MAX_RECORD = 64 * 1024 * 1024;

/**
 * Scans an existing `.mpack` file and, when it ends with a torn record (or
 * junk such as the zeros a power loss can leave), truncates it to the end of
 * its last whole record, so that appending never leaves a torn record in the
 * middle. Garbage between records is left alone. A file that does not look
 * like an mpack log is not touched (`foreign`).
 */
export async function repairMpackTail(path: string, log?: Logger): Promise<TailRepair> {
  const file = await Deno.open(path, { read: true });
  let goodEnd = 0;
  let records = 0;
  let middleGarbage = 0;
  let size = 0;
  let tail: TailKind = "none";
  try {
    const reader = new MpackStreamReader({ maxRecordBytes: MAX_RECORD });
    for (;;) {
      // A fresh buffer per read: the reader may keep a view on what it has not consumed.
      const data = await readFull(file, SCAN_CHUNK);
      if (data.length === 0) break;
      size += data.length;
      reader.push(data);
      for (let item = reader.next(); item; item = reader.next()) {
        if (item.kind === "garbage") middleGarbage += item.length;
        else {
          records++;
          goodEnd = item.end;
        }
      }
    }
    if (goodEnd < size) tail = await classifyTail(file, goodEnd, size - goodEnd);
  } finally {
    file.close();
  }
  const cut = size - goodEnd;
  const foreign = records === 0 ? tail === "junk" : (middleGarbage + (tail === "junk" ? cut : 0)) * 2 > size;
  if (foreign) {
    log?.warn("existing file is not an mpack log or mostly garbage; leaving it untouched", {
      file: path,
      size,
      records,
      garbage_bytes: middleGarbage + cut,
    });
    return { size, records, cut: 0, tail, middleGarbage, foreign };
  }
  if (middleGarbage > 0) {
    log?.warn("existing file has garbage between records; left in place", { file: path, bytes: middleGarbage });
  }
  if (cut > 0) {
    await Deno.truncate(path, goodEnd);
    log?.warn("cut a torn tail before appending", { file: path, offset: goodEnd, bytes: cut, tail });
  }
  return { size: goodEnd, records, cut, tail, middleGarbage, foreign };
}

/** Tells a torn record (a clean prefix of one) and power-loss zeros from other junk. */
async function classifyTail(file: Deno.FsFile, start: number, length: number): Promise<TailKind> {
  if (length > MAX_RECORD) return "junk"; // neither one torn record nor a few zeroed pages
  await file.seek(start, Deno.SeekMode.Start);
  const b = await readFull(file, length);
  // The bytes are a clean prefix of one record.
  if (checkRecordSpan(b, 0, b.length, MAX_RECORD) === INCOMPLETE) return "torn";
  return b.every((x) => x === 0) ? "zeros" : "junk";
}

/** Reads up to `n` bytes, fewer only at the end of the file. */
async function readFull(file: Deno.FsFile, n: number): Promise<Uint8Array> {
  const buf = new Uint8Array(n);
  let off = 0;
  while (off < n) {
    const got = await file.read(buf.subarray(off));
    if (got === null) break;
    off += got;
  }
  return buf.subarray(0, off);
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function concat(parts: Uint8Array[], length: number): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(length);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** The smallest MessagePack map header for `n` entries, as mpacklog writes it. */
function mapHeader(n: number): Uint8Array {
  if (n < 16) return Uint8Array.of(0x80 | n);
  if (n < 0x10000) return Uint8Array.of(0xde, n >> 8, n & 0xff);
  return Uint8Array.of(0xdf, n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
}

/** Entry count and header length of the map at the start of `b`, or undefined when it is not a map. */
function readMapHeader(b: Uint8Array): [count: number, headerLength: number] | undefined {
  const t = b[0];
  if (t >= 0x80 && t <= 0x8f) return [t & 0x0f, 1];
  if (t === 0xde && b.length >= 3) return [(b[1] << 8) | b[2], 3];
  if (t === 0xdf && b.length >= 5) return [((b[1] << 24) >>> 0) + ((b[2] << 16) | (b[3] << 8) | b[4]), 5];
  return undefined;
}

/** A float64 (`cb`), always: a JS number with no fraction would otherwise be packed as an integer. */
function float64(v: number): Uint8Array {
  const b = new Uint8Array(9);
  b[0] = 0xcb;
  new DataView(b.buffer).setFloat64(1, v);
  return b;
}

/**
 * The record's dictionary as MessagePack: the cached bytes (which came through a reader's check or an encoding
 * within the limits), or encoded now within the limits and cached for later outputs.
 */
function dataBytes(r: BusRecord): Uint8Array {
  const cached = r.encoded?.msgpack;
  if (cached) return cached;
  const b = encodeRecordMsgpack(r.data);
  if (r.encoded) r.encoded.msgpack = b;
  else r.encoded = { msgpack: b };
  return b;
}

function hostName(): string {
  try {
    return Deno.hostname().replace(/[^A-Za-z0-9_.-]/g, "_");
  } catch {
    return "localhost"; // no --allow-sys
  }
}

/** Best effort: makes a new directory entry durable. Not every platform can open a directory. */
async function syncDir(dir: string): Promise<void> {
  try {
    const d = await Deno.open(dir, { read: true });
    try {
      await d.sync();
    } finally {
      d.close();
    }
  } catch {
    // ignored: the file's own data is still synced
  }
}

/** How a new file is chosen: at start (the `append` option applies) or on rotation (always a new file). */
type OpenMode = "start" | "rotate";

/** A running `mpack_file` output. Create it with {@linkcode MpackFileOutput.open}. */
export class MpackFileOutput implements Output {
  readonly #cfg: MpackFileConfig;
  readonly #name: string;
  readonly #log: Logger;
  readonly #stats: PartStats;
  readonly #rejects: RecordRejects;
  readonly #host: string;
  readonly #streamKey?: Uint8Array;
  readonly #timeKey?: Uint8Array;
  readonly #streamBytes = new Map<string, Uint8Array>();
  #file?: Deno.FsFile;
  #path?: string;
  #size = 0;
  #dirty = false;
  /** The current file was created by this output (not appended to). */
  #created = false;
  /** False for a device or FIFO (e.g. `/dev/stdout`): no repair, no fsync. */
  #regular = true;
  #intervalEnd = Infinity;
  /** When the output started, for `{started}`. */
  readonly #startedMs: number;
  #timer?: ReturnType<typeof setInterval>;
  #closed = false;
  /** Serialises writes, rotations, timed fsyncs and close: none may run on a file another is closing. */
  #lock: Promise<unknown> = Promise.resolve();

  private constructor(config: MpackFileConfig, ctx: OutputContext) {
    this.#cfg = config;
    this.#name = ctx.name;
    this.#log = ctx.log;
    this.#stats = ctx.stats;
    this.#rejects = new RecordRejects(ctx.stats, ctx.log);
    this.#host = config.path.includes("{host}") ? hostName() : "localhost";
    this.#startedMs = Date.now();
    // Keys are encoded once; slice() so they do not pin msgpackr's shared 8 KiB buffer.
    if (config.stream_key !== undefined) this.#streamKey = encodeMsgpack(config.stream_key).slice();
    if (config.time_key !== undefined) this.#timeKey = encodeMsgpack(config.time_key).slice();
    ctx.stats.gauges.set("file_bytes", () => this.#size);
  }

  /** Creates the output and opens its first file (so a bad path fails at start-up). */
  static async open(config: MpackFileConfig, ctx: OutputContext): Promise<MpackFileOutput> {
    const out = new MpackFileOutput(config, ctx);
    await out.#openNew(Date.now(), "start");
    if (config.fsync === "interval") {
      const timer = setInterval(() => {
        out.#exclusive(() => out.#sync()).catch((e) => out.#log.warn("fsync failed", { path: out.#path, error: e }));
      }, config.fsync_interval);
      // A forgotten output must not keep the process alive; close() clears the timer anyway.
      Deno.unrefTimer(timer);
      out.#timer = timer;
    }
    return out;
  }

  /** Path of the file being written (undefined only after a failed open). */
  get currentPath(): string | undefined {
    return this.#path;
  }

  /** Size in bytes of the file being written. */
  get currentSize(): number {
    return this.#size;
  }

  /** Writes a batch; resolves once written (and fsynced when `fsync = "every_batch"`). */
  write(records: BusRecord[]): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    return this.#exclusive(() => this.#write(records));
  }

  /** Fsyncs (unless `fsync = "never"`) and closes the file. */
  close(): Promise<void> {
    return this.#exclusive(async () => {
      if (this.#closed) return;
      this.#closed = true;
      if (this.#timer !== undefined) clearInterval(this.#timer);
      this.#timer = undefined;
      await this.#closeFile();
    });
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(fn);
    this.#lock = run.catch(() => {});
    return run;
  }

  async #write(records: BusRecord[]): Promise<void> {
    try {
      if (this.#closed) throw new Error(`mpack_file output ${this.#name} is closed`);
      const now = Date.now();
      if (!this.#file) await this.#reopen(now);
      else if (now >= this.#intervalEnd) await this.#rotate(now);
      const limit = this.#cfg.rotate_size ?? Infinity;
      let parts: Uint8Array[] = [];
      let length = 0;
      for (const r of records) {
        let b: Uint8Array;
        try {
          b = this.#encode(r);
        } catch (e) {
          // A record that cannot be written within the limits costs only itself.
          this.#rejects.rejectError(r, e, { path: this.#path });
          continue;
        }
        // Split before a record that would push a non-empty file over the limit.
        if (this.#size + length > 0 && this.#size + length + b.length > limit) {
          await this.#append(parts, length);
          await this.#rotate(now);
          parts = [];
          length = 0;
        }
        parts.push(b);
        length += b.length;
      }
      await this.#append(parts, length);
      if (this.#cfg.fsync === "every_batch") await this.#sync();
    } catch (e) {
      this.#log.error("write failed", { path: this.#path, records: records.length, error: e });
      this.#stats.errors++;
      throw e;
    }
  }

  /** Writes whole records as one buffer, looping because a write may be partial. */
  async #append(parts: Uint8Array[], length: number): Promise<void> {
    if (parts.length === 0) return;
    const file = this.#file;
    if (!file) throw new Error("no file is open");
    const buf = concat(parts, length);
    const before = this.#size;
    try {
      for (let off = 0; off < buf.length;) {
        const n = await file.write(buf.subarray(off));
        if (n <= 0) throw new Error("write made no progress");
        off += n;
      }
    } catch (e) {
      await this.#undo(file, before);
      throw e;
    }
    this.#size += length;
    this.#dirty = true;
    this.#stats.bytes += length;
  }

  /** After a failed write: cut what part of the batch got in, or drop the file so the next write repairs it. */
  async #undo(file: Deno.FsFile, size: number): Promise<void> {
    try {
      await file.truncate(size);
    } catch {
      try {
        file.close();
      } catch {
        // already unusable
      }
      this.#file = undefined;
    }
  }

  #encode(r: BusRecord): Uint8Array {
    if (!this.#streamKey && !this.#timeKey) return dataBytes(r);
    const sk = this.#cfg.stream_key;
    const tk = this.#cfg.time_key;
    const data = r.data;
    const clash = (sk !== undefined && Object.hasOwn(data, sk)) || (tk !== undefined && Object.hasOwn(data, tk));
    // The added keys go in front of the data's own entries; splicing them onto the data's bytes keeps the cache
    // useful and the data byte-exact. A data key of the same name is left out so the map has no duplicate.
    let body = clash ? encodeRecordMsgpack(this.#without(data)) : dataBytes(r);
    let header = readMapHeader(body);
    if (!header) { // a cache holding something other than a map: encode the dictionary afresh
      body = encodeRecordMsgpack(data);
      header = readMapHeader(body) ?? [0, 0];
    }
    const parts: Uint8Array[] = [];
    let count = header[0];
    if (this.#streamKey) {
      parts.push(this.#streamKey, this.#streamValue(r.stream));
      count++;
    }
    if (this.#timeKey) {
      parts.push(this.#timeKey, float64(nsToSeconds(r.time)));
      count++;
    }
    parts.unshift(mapHeader(count));
    parts.push(body.subarray(header[1]));
    let length = 0;
    for (const p of parts) length += p.length;
    assertRecordSize(length);
    return concat(parts, length);
  }

  #without(data: Dict): Dict {
    const out: Dict = {};
    for (const k in data) if (k !== this.#cfg.stream_key && k !== this.#cfg.time_key) out[k] = data[k];
    return out;
  }

  #streamValue(stream: string): Uint8Array {
    let b = this.#streamBytes.get(stream);
    if (!b) {
      if (this.#streamBytes.size >= 4096) this.#streamBytes.clear(); // bound memory if streams are unbounded
      b = encodeMsgpack(stream).slice();
      this.#streamBytes.set(stream, b);
    }
    return b;
  }

  async #sync(): Promise<void> {
    if (!this.#file || !this.#dirty || !this.#regular) return;
    await this.#file.syncData();
    this.#dirty = false;
  }

  async #closeFile(): Promise<void> {
    const file = this.#file;
    if (!file) return;
    this.#file = undefined;
    try {
      if (this.#cfg.fsync !== "never" && this.#dirty && this.#regular) await file.syncData();
      this.#dirty = false;
    } finally {
      file.close();
    }
  }

  async #rotate(now: number): Promise<void> {
    const old = this.#path;
    // A file this run created that never got a record (an interval without data) is not worth keeping.
    const discard = this.#created && this.#size === 0;
    await this.#closeFile();
    if (discard && old !== undefined) await Deno.remove(old).catch(() => {});
    await this.#openNew(now, "rotate");
  }

  /** After a failed write dropped the file: continue the same file, repairing its tail. */
  async #reopen(now: number): Promise<void> {
    const path = this.#path;
    if (path !== undefined && await this.#openAt(path, await exists(path))) return;
    await this.#openNew(now, "start");
  }

  /** Picks a path from the template and opens it; retries when another process takes the name first. */
  async #openNew(now: number, mode: OpenMode): Promise<void> {
    const iv = this.#cfg.rotate_interval;
    // With interval rotation a file is named after the start of its interval: hourly files read 130000, not 132715.
    const start = iv === undefined ? now : Math.floor(now / iv) * iv;
    for (let attempt = 0; attempt < 100; attempt++) {
      const [path, existing] = await this.#pickPath(start, mode);
      try {
        if (await this.#openAt(path, existing)) {
          this.#intervalEnd = iv === undefined ? Infinity : start + iv;
          return;
        }
        mode = "rotate"; // a foreign file holds the name: pick a new one
      } catch (e) {
        if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
      }
    }
    throw new Error(`no free file name for ${this.#cfg.path}`);
  }

  /** Opens `path`; an existing file is repaired first. Returns false when it is not an mpack log. */
  async #openAt(path: string, existing: boolean): Promise<boolean> {
    const dir = dirname(path);
    if (!existing) await Deno.mkdir(dir, { recursive: true });
    let cut = 0;
    // A device or FIFO (`/dev/stdout`) cannot be scanned or truncated: write to it as it is.
    const regular = !existing || (await Deno.stat(path)).isFile;
    if (existing && regular) {
      const repair = await repairMpackTail(path, this.#log);
      if (repair.foreign) return false;
      cut = repair.cut;
      if (cut > 0) this.#stats.count("repaired_bytes", cut);
    }
    // append: every write lands at the end, also after a truncate in #undo.
    const file = await Deno.open(path, existing ? { append: true } : { append: true, createNew: true });
    let size: number;
    try {
      size = (await file.stat()).size;
    } catch (e) {
      file.close();
      throw e;
    }
    if (!existing && this.#cfg.fsync !== "never") await syncDir(dir);
    this.#file = file;
    this.#path = path;
    this.#size = size;
    this.#regular = regular;
    this.#created = !existing;
    this.#dirty = cut > 0; // a cut tail is made durable with the next sync
    this.#stats.count("files_opened");
    this.#log.info("writing", existing ? { path, append_at: size } : { path });
    return true;
  }

  /** The next path for `mode`, and whether it is an existing file to append to. */
  async #pickPath(timeMs: number, mode: OpenMode): Promise<[string, boolean]> {
    const tpl = expandPathTemplate(this.#cfg.path, {
      name: this.#name,
      host: this.#host,
      timeMs,
      startedMs: this.#startedMs,
    });
    if (tpl.includes("{seq}")) return [await this.#freeSeqPath(tpl), false];
    if (!(await exists(tpl))) return [tpl, false];
    if (mode === "start" && this.#cfg.append) {
      // Continue the newest file of the `.1`, `.2`… chain an earlier run left.
      let last = tpl;
      for (let i = 1; await exists(withNumberSuffix(tpl, i)); i++) last = withNumberSuffix(tpl, i);
      return [last, true];
    }
    for (let i = 1;; i++) {
      const p = withNumberSuffix(tpl, i);
      if (!(await exists(p))) return [p, false];
    }
  }

  /**
   * The template with `{seq}` one past the highest number already in the folder, so names keep
   * their order even when older files were deleted.
   */
  async #freeSeqPath(tpl: string): Promise<string> {
    const at = (n: number) => tpl.replaceAll("{seq}", String(n).padStart(4, "0"));
    let seq = 0;
    const dir = dirname(tpl);
    const base = basename(tpl);
    if (!dir.includes("{seq}")) {
      const re = new RegExp(`^${base.split("{seq}").map(escapeRegExp).join("(\\d+)")}$`);
      try {
        for await (const e of Deno.readDir(dir)) {
          const m = re.exec(e.name);
          if (m) seq = Math.max(seq, Number(m[1]) + 1);
        }
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      }
    }
    while (await exists(at(seq))) seq++;
    return at(seq);
  }
}

/** The output factory: validated config in, running output out. */
export function createMpackFileOutput(config: MpackFileConfig, ctx: OutputContext): Promise<MpackFileOutput> {
  return MpackFileOutput.open(config, ctx);
}
