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
import { dirname, join } from "node:path";
import type { Logger } from "../../core/log.ts";
import { FileCheckpointStore } from "../../core/checkpoint.ts";
import type { AckToken, BusRecord } from "../../core/record.ts";
import type { PartStats } from "../../core/stats.ts";
import type { Output, OutputContext } from "../../core/transport.ts";
import { RecordRejects } from "../../core/reject.ts";
import { concatBytes } from "../../core/bytes.ts";
import type { MpackFileConfig } from "./schema.ts";
import { exists, hostName, type OpenMode, pickPath, syncDir } from "../../core/path_template.ts";
import { repairMpackTail } from "./tail_repair.ts";
import { RecordSplicer } from "./splice.ts";
import {
  cutBack,
  type FileEnd,
  isState,
  type MpackFileMark,
  type MpackFileState,
  planRewind,
  STATE_FILES,
  STATE_SAVE_MS,
} from "./state.ts";

export { expandPathTemplate, type PathValues, withNumberSuffix } from "../../core/path_template.ts";
export { repairMpackTail, type TailKind, type TailRepair } from "./tail_repair.ts";
export type { MpackFileMark, MpackFileState } from "./state.ts";

/** A running `mpack_file` output. Create it with {@linkcode MpackFileOutput.open}. */
export class MpackFileOutput implements Output {
  readonly #cfg: MpackFileConfig;
  readonly #name: string;
  readonly #log: Logger;
  readonly #stats: PartStats;
  readonly #rejects: RecordRejects;
  readonly #host: string;
  readonly #splicer: RecordSplicer;
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
    this.#splicer = new RecordSplicer(config.stream_key, config.time_key);
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
    const plan = await planRewind(mark, source, this.#prev, this.#state.selection, this.#wrote);
    if ("why" in plan) return refuse(plan.why, plan.details);
    const { mark: m, prev, at, later, size } = plan;
    // The file opened at start may be one of those removed below: close it, and drop it if this run made it empty.
    const current = this.#path;
    const discard = this.#created && this.#size === 0 && current !== undefined &&
      !prev.files.some((f) => f.path === current);
    await this.#closeFile();
    if (discard) await Deno.remove(current).catch(() => {});
    // Each step can be repeated after a crash: the state is saved last.
    const { cut, removed } = await cutBack(m, size, later, this.#cfg.fsync !== "never");
    // The lineage goes on: after the mark come again only records of `source` after its checkpoint.
    this.#state = {
      ...prev,
      files: prev.files.slice(0, at + 1),
      end: { path: m.path, ino: m.ino, size: m.size },
    };
    this.#prev = this.#state;
    this.#path = undefined;
    await this.#stateStore.save(this.#name, this.#state);
    this.#stateSaved = true;
    this.#stateSavedAt = Date.now();
    if (cut > 0) this.#stats.count("rewound_bytes", cut);
    this.#log.info("cut back to the input's checkpoint", {
      input: source,
      file: m.path,
      offset: m.size,
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
          b = this.#splicer.encode(r);
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
      const [path, existing] = await pickPath(
        this.#cfg.path,
        {
          name: this.#name,
          host: this.#host,
          timeMs: start,
          startedMs: this.#startedMs,
        },
        mode,
        this.#cfg.append,
      );
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
}

/** The output factory: validated config in, running output out. */
export function createMpackFileOutput(config: MpackFileConfig, ctx: OutputContext): Promise<MpackFileOutput> {
  return MpackFileOutput.open(config, ctx);
}
