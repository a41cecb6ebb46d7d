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
import { basename, dirname, join } from "node:path";
import type { Logger } from "../../core/log.ts";
import { FileCheckpointStore } from "../../core/checkpoint.ts";
import { type AckToken, type BusRecord, type Dict, nsToSeconds } from "../../core/record.ts";
import type { PartStats } from "../../core/stats.ts";
import type { Output, OutputContext } from "../../core/transport.ts";
import { encodeMsgpack, encodeRecordMsgpack, recordMsgpack } from "../../codecs/msgpack.ts";
import { mapHeader, readMapHeader } from "../../codecs/msgpack_scan.ts";
import { assertRecordSize } from "../../core/limits.ts";
import { RecordRejects } from "../../core/reject.ts";
import { concatBytes } from "../../core/bytes.ts";
import { checkRecordSpan, INCOMPLETE, type MpackStreamItem, MpackStreamReader } from "../../codecs/mpack_stream.ts";
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
  /** Whole records found (after `from`). */
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
  /** Bytes read to find the end of the last whole record. */
  scanned: number;
}

/** Whole records that must follow a torn record, to the end of the file, for the repair to keep them. */
const AFTER_TEAR_RUN = 4;

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
 *
 * `from` is an offset known to end a whole record (the output saves one as it
 * writes): only what follows it is read. Should garbage turn up there, the
 * whole file is scanned after all.
 */
export async function repairMpackTail(path: string, log?: Logger, from = 0): Promise<TailRepair> {
  const file = await Deno.open(path, { read: true });
  let goodEnd = from;
  let records = 0;
  let middleGarbage = 0;
  let size = from;
  let tail: TailKind = "none";
  try {
    if (from > 0) await file.seek(from, Deno.SeekMode.Start);
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
          goodEnd = from + item.end;
        }
      }
    }
    // At the end of the file, a record still held back is torn: the reader then looks inside it for whole records
    // written after the tear (another writer appending), which must not be cut away with it. Only a run of at
    // least AFTER_TEAR_RUN records counts here: a short one at the very end may be a nested map of the torn record
    // itself, and cutting a torn tail is what a crash of this output needs. Garbage that reaches the end of the
    // file is the tail, judged below, not garbage between records.
    const after: MpackStreamItem[] = [];
    for (let item = reader.finish(); item; item = reader.next()) after.push(item);
    if (after.filter((i) => i.kind === "record").length >= AFTER_TEAR_RUN) {
      for (const item of after) {
        if (item.kind === "record") {
          records++;
          goodEnd = from + item.end;
        } else if (from + item.start + item.length < size) middleGarbage += item.length;
      }
    }
    if (goodEnd < size) tail = await classifyTail(file, goodEnd, size - goodEnd);
  } finally {
    file.close();
  }
  const scanned = size - from;
  if (from > 0 && (middleGarbage > 0 || tail === "junk")) {
    // Not what this output leaves behind: judge the file as a whole.
    const whole = await repairMpackTail(path, log, 0);
    return { ...whole, scanned: whole.scanned + scanned };
  }
  const cut = size - goodEnd;
  const foreign = from === 0 &&
    (records === 0 ? tail === "junk" : (middleGarbage + (tail === "junk" ? cut : 0)) * 2 > size);
  if (foreign) {
    log?.warn("existing file is not an mpack log or mostly garbage; leaving it untouched", {
      file: path,
      size,
      records,
      garbage_bytes: middleGarbage + cut,
    });
    return { size, records, cut: 0, tail, middleGarbage, foreign, scanned };
  }
  if (middleGarbage > 0) {
    log?.warn("existing file has garbage between records; left in place", { file: path, bytes: middleGarbage });
  }
  if (cut > 0) {
    await Deno.truncate(path, goodEnd);
    log?.warn("cut a torn tail before appending", { file: path, offset: goodEnd, bytes: cut, tail });
  }
  return { size: goodEnd, records, cut, tail, middleGarbage, foreign, scanned };
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

/** A float64 (`cb`), always: a JS number with no fraction would otherwise be packed as an integer. */
function float64(v: number): Uint8Array {
  const b = new Uint8Array(9);
  b[0] = 0xcb;
  new DataView(b.buffer).setFloat64(1, v);
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

/** A place in one file: `path` (inode `ino`) holds whole records up to `size` bytes. */
interface FileEnd {
  /** The file's path. */
  path: string;
  /** Its inode, so that a file put in its place is not mistaken for it. */
  ino: number;
  /** Bytes of whole records. */
  size: number;
}

/**
 * The mark this output leaves on an acknowledgement group (`ack.marks[name]`): where it stood just after the
 * group's last record. The input saves it with its checkpoint and hands it back through `rewind` on a restart.
 */
export interface MpackFileMark extends FileEnd {
  /** The lineage it belongs to (see {@linkcode MpackFileState.run}). */
  run: string;
}

/** What the output keeps in `data_dir/mpack_file/<name>.json` between runs. */
export interface MpackFileState {
  /**
   * Lineage id. A run that cut back to a mark of the last lineage continues it (what follows the mark is again
   * only its source's records after that checkpoint); any other run that writes starts a new one. A mark is
   * only honoured when it belongs to the lineage saved here.
   */
  run: string;
  /** Inputs whose records the lineage wrote. */
  sources: string[];
  /** The output's `inputs` and `streams` when the lineage began. */
  selection: string;
  /** Files the lineage opened, oldest first (the last {@linkcode STATE_FILES}); `created`: opened as new. */
  files: { path: string; created: boolean }[];
  /** The last saved end of whole records (at most ~1 s old while writing; exact after a clean close). */
  end?: FileEnd;
}

/** How many files the state remembers; a rewind needs those opened since the last checkpoint. */
const STATE_FILES = 64;

/** Most milliseconds between saves of the state's `end` while writing. */
const STATE_SAVE_MS = 1000;

function isFileEnd(v: unknown): v is FileEnd {
  const m = v as Record<string, unknown> | null;
  return typeof m === "object" && m !== null && typeof m.path === "string" && typeof m.ino === "number" &&
    Number.isSafeInteger(m.size) && (m.size as number) >= 0;
}

function isMark(v: unknown): v is MpackFileMark {
  return isFileEnd(v) && typeof (v as unknown as Record<string, unknown>).run === "string";
}

function isState(v: unknown): v is MpackFileState {
  const s = v as Record<string, unknown> | null;
  return typeof s === "object" && s !== null && typeof s.run === "string" && Array.isArray(s.sources) &&
    typeof s.selection === "string" && Array.isArray(s.files) && (s.end === undefined || isFileEnd(s.end));
}

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
  /** The current file's inode (0 for a special file). */
  #ino = 0;
  /** Where the state is kept (`data_dir/mpack_file/`). */
  readonly #stateStore: FileCheckpointStore;
  /** The state the last run left, read at open. */
  #prev?: MpackFileState;
  /** This run's state; saved before the first record is written, then whenever it changes. */
  #state: MpackFileState;
  /** True once `#state` is on disk (from the first write or a rewind on). */
  #stateSaved = false;
  /** When `#state.end` was last saved. */
  #stateSavedAt = 0;
  /** Something was written in this run (a rewind then comes too late). */
  #wrote = false;
  /** Acknowledgement groups of the part being written and the offset just after each one's last record. */
  #markTokens: AckToken[] = [];
  #markEnds: number[] = [];

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
    this.#stateStore = new FileCheckpointStore(join(ctx.dataDir, "mpack_file"));
    this.#state = { run: crypto.randomUUID(), sources: [], selection: this.#selection(), files: [] };
  }

  #selection(): string {
    return JSON.stringify({ inputs: this.#cfg.inputs ?? [], streams: this.#cfg.streams ?? [] });
  }

  /** Creates the output and opens its first file (so a bad path fails at start-up). */
  static async open(config: MpackFileConfig, ctx: OutputContext): Promise<MpackFileOutput> {
    const out = new MpackFileOutput(config, ctx);
    await out.#loadState();
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

  /** Fsyncs (unless `fsync = "never"`) and closes the file; saves where its records end. */
  close(): Promise<void> {
    return this.#exclusive(async () => {
      if (this.#closed) return;
      this.#closed = true;
      if (this.#timer !== undefined) clearInterval(this.#timer);
      this.#timer = undefined;
      await this.#closeFile();
      if (this.#stateSaved) await this.#saveState();
    });
  }

  /**
   * Input `source` resumes from a checkpoint saved with `mark`: cuts the file back to the mark's length and
   * removes the files opened after it, since every record written after the mark comes again. Refused (with a
   * warning; the records then repeat) unless the mark belongs to the lineage the state names, that lineage
   * wrote only records of `source`, the selection is unchanged and nothing was written yet in this run.
   */
  rewind(mark: unknown, source: string): Promise<void> {
    return this.#exclusive(() => this.#rewind(mark, source));
  }

  async #loadState(): Promise<void> {
    let saved: unknown;
    try {
      saved = await this.#stateStore.load<unknown>(this.#name);
    } catch (e) {
      this.#log.warn("cannot read the output's state; existing files are scanned in full", { error: e });
      return;
    }
    if (isState(saved)) this.#prev = saved;
    else if (saved !== undefined) this.#log.warn("ignoring a malformed state", { file: this.#statePath });
  }

  get #statePath(): string {
    return this.#stateStore.pathOf(this.#name);
  }

  /**
   * Saves `#state` with the current end of whole records, atomically (written beside, renamed over). `sync`
   * forces it to disk first; the periodic saves of `end` alone skip that: `end` is only a hint where scanning
   * may start (an older one is still right), and an fsync every second would, on ext4, also flush the
   * data file.
   */
  async #saveState(sync = true): Promise<void> {
    if (this.#path !== undefined && this.#regular) {
      this.#state.end = { path: this.#path, ino: this.#ino, size: this.#size };
    }
    if (sync) await this.#stateStore.save(this.#name, this.#state);
    else {
      const path = this.#statePath, tmp = `${path}.tmp`;
      await Deno.writeTextFile(tmp, JSON.stringify(this.#state));
      await Deno.rename(tmp, path);
    }
    this.#stateSaved = true;
    this.#stateSavedAt = Date.now();
  }

  async #rewind(mark: unknown, source: string): Promise<void> {
    const refuse = (why: string, details: Record<string, unknown> = {}) =>
      this.#log.warn(`not cutting back to the input's checkpoint (${why}); records after it may repeat`, {
        input: source,
        ...details,
      });
    if (this.#closed) return;
    if (!isMark(mark)) return refuse("malformed mark", { mark });
    if (this.#wrote) return refuse("records were written before the input resumed");
    const prev = this.#prev;
    if (!prev || prev.run !== mark.run) return refuse("the mark is older than the output's last run");
    if (prev.sources.some((s) => s !== source)) {
      return refuse("other inputs wrote to it too", { sources: prev.sources });
    }
    if (prev.selection !== this.#state.selection) return refuse("its inputs or streams changed");
    const at = prev.files.findLastIndex((f) => f.path === mark.path);
    if (at < 0) return refuse("the marked file is not among its recent files", { file: mark.path });
    const later = prev.files.slice(at + 1);
    // A file appended to after the mark also holds older records: it cannot simply go.
    const kept = later.find((f) => !f.created);
    if (kept) return refuse("a file it appended to after the mark holds older records", { file: kept.path });
    let size: number;
    try {
      const st = await Deno.stat(mark.path);
      if (!st.isFile || (st.ino ?? 0) !== mark.ino) return refuse("another file has its name", { file: mark.path });
      size = st.size;
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
      return refuse("the marked file is gone", { file: mark.path });
    }
    if (size < mark.size) {
      return refuse("the file is shorter than the mark: what was written last did not reach the disk", {
        file: mark.path,
        size,
        mark: mark.size,
      });
    }
    // The file opened at start may be one of those removed below: close it, and drop it if this run made it empty.
    const current = this.#path;
    const discard = this.#created && this.#size === 0 && current !== undefined &&
      !prev.files.some((f) => f.path === current);
    await this.#closeFile();
    if (discard) await Deno.remove(current).catch(() => {});
    // Each step can be repeated after a crash: the state is saved last.
    let cut = size - mark.size;
    const removed: string[] = [];
    for (const f of later) {
      try {
        cut += (await Deno.stat(f.path)).size;
        await Deno.remove(f.path);
        removed.push(f.path);
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      }
    }
    if (size > mark.size) await Deno.truncate(mark.path, mark.size);
    if (this.#cfg.fsync !== "never" && (size > mark.size || removed.length > 0)) {
      const f = await Deno.open(mark.path, { write: true });
      try {
        await f.syncData();
      } finally {
        f.close();
      }
      await syncDir(dirname(mark.path));
    }
    // The lineage goes on: after the mark come again only records of `source` after its checkpoint.
    this.#state = {
      ...prev,
      files: prev.files.slice(0, at + 1),
      end: { path: mark.path, ino: mark.ino, size: mark.size },
    };
    this.#prev = this.#state;
    this.#path = undefined;
    await this.#stateStore.save(this.#name, this.#state);
    this.#stateSaved = true;
    this.#stateSavedAt = Date.now();
    if (cut > 0) this.#stats.count("rewound_bytes", cut);
    this.#log.info("cut back to the input's checkpoint", {
      input: source,
      file: mark.path,
      offset: mark.size,
      bytes: cut,
      removed_files: removed.length > 0 ? removed.join(",") : undefined,
    });
    await this.#openNew(Date.now(), "start");
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
      // The state names every source before a record of it is written (a rewind must know who wrote); a new
      // lineage's state is saved with its first record, since its sources are empty until then.
      const sources = this.#state.sources;
      let source: string | undefined;
      const limit = this.#cfg.rotate_size ?? Infinity;
      let parts: Uint8Array[] = [];
      let length = 0;
      let token: AckToken | undefined;
      for (const r of records) {
        if (r.source !== source) {
          source = r.source;
          if (!sources.includes(source)) {
            sources.push(source);
            await this.#saveState();
          }
        }
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
          token = undefined;
        }
        parts.push(b);
        length += b.length;
        // Remember where each acknowledgement group's last record ends; marked once the bytes are in.
        const t = r.ack;
        if (t !== undefined) {
          if (t === token) this.#markEnds[this.#markEnds.length - 1] = length;
          else {
            token = t;
            this.#markTokens.push(t);
            this.#markEnds.push(length);
          }
        }
      }
      await this.#append(parts, length);
      if (this.#cfg.fsync === "every_batch") await this.#sync();
      if (now - this.#stateSavedAt >= STATE_SAVE_MS) {
        // Only a hint for the next start: the records are written, so a failure here must not fail the batch.
        await this.#saveState(false).catch((e) => this.#log.warn("cannot save the output's state", { error: e }));
      }
    } catch (e) {
      this.#markTokens.length = 0;
      this.#markEnds.length = 0;
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
    const buf = concatBytes(parts, length);
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
    this.#wrote = true;
    this.#stats.bytes += length;
    this.#mark(before);
  }

  /** Puts this output's mark on the groups whose records just went in (`before`: the file's size before). */
  #mark(before: number): void {
    const tokens = this.#markTokens, ends = this.#markEnds;
    if (tokens.length === 0) return;
    if (this.#regular) {
      const path = this.#path!, ino = this.#ino, run = this.#state.run;
      for (let i = 0; i < tokens.length; i++) {
        const mark: MpackFileMark = { run, path, ino, size: before + ends[i] };
        (tokens[i].marks ??= {})[this.#name] = mark;
      }
    }
    tokens.length = 0;
    ends.length = 0;
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
    if (!this.#streamKey && !this.#timeKey) return recordMsgpack(r);
    const sk = this.#cfg.stream_key;
    const tk = this.#cfg.time_key;
    const data = r.data;
    const clash = (sk !== undefined && Object.hasOwn(data, sk)) || (tk !== undefined && Object.hasOwn(data, tk));
    // The added keys go in front of the data's own entries; splicing them onto the data's bytes keeps the cache
    // useful and the data byte-exact. A data key of the same name is left out so the map has no duplicate.
    let body = clash ? encodeRecordMsgpack(this.#without(data)) : recordMsgpack(r);
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
    return concatBytes(parts, length);
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
    if (discard && old !== undefined) {
      await Deno.remove(old).catch(() => {});
      if (this.#state.files.at(-1)?.path === old) this.#state.files.pop();
    }
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
    const st = existing ? await Deno.stat(path) : undefined;
    const regular = !st || st.isFile;
    if (st && regular) {
      // Only what follows the last known end of whole records is read; an unknown file is read in full.
      const known = this.#knownEnd(path);
      const from = known && known.ino === (st.ino ?? 0) && known.size <= st.size ? known.size : 0;
      const repair = await repairMpackTail(path, this.#log, from);
      this.#stats.count("scanned_bytes", repair.scanned);
      if (repair.foreign) return false;
      cut = repair.cut;
      if (cut > 0) this.#stats.count("repaired_bytes", cut);
    }
    // append: every write lands at the end, also after a truncate in #undo.
    const file = await Deno.open(path, existing ? { append: true } : { append: true, createNew: true });
    let size: number, ino: number;
    try {
      const opened = await file.stat();
      size = opened.size;
      ino = regular ? opened.ino ?? 0 : 0;
    } catch (e) {
      file.close();
      throw e;
    }
    if (!existing && this.#cfg.fsync !== "never") await syncDir(dir);
    this.#file = file;
    this.#path = path;
    this.#size = size;
    this.#ino = ino;
    this.#regular = regular;
    this.#created = !existing;
    const files = this.#state.files;
    if (files.at(-1)?.path !== path) {
      files.push({ path, created: !existing });
      if (files.length > STATE_FILES) files.splice(0, files.length - STATE_FILES);
    }
    // A rotation's new file is in the state before any record goes into it.
    if (this.#stateSaved) await this.#saveState();
    this.#dirty = cut > 0; // a cut tail is made durable with the next sync
    this.#stats.count("files_opened");
    this.#log.info("writing", existing ? { path, append_at: size } : { path });
    return true;
  }

  /** The last known end of whole records of `path`: from this run, or from the state the last run saved. */
  #knownEnd(path: string): FileEnd | undefined {
    if (path === this.#path && this.#regular) return { path, ino: this.#ino, size: this.#size };
    const end = this.#state.end ?? this.#prev?.end;
    return end?.path === path ? end : undefined;
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
