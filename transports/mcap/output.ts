/**
 * The `mcap` output: records as MCAP messages, one channel per stream, in
 * chunks compressed with zstd or lz4, with message indexes, statistics and a
 * summary, so indexed readers open the files. File names and rotation are
 * those of `mpack_file` (core/path_template.ts).
 *
 * A chunk is written when it is full, and at the latest `flush_interval`
 * after its first message; a crash loses at most the open chunk. The file being written is named in the
 * output's state (`data_dir/mcap/NAME.json`); a start that finds it without
 * its footer finishes it first (repair.ts).
 *
 * @module
 */
import { dirname, join } from "node:path";
import type { Logger } from "../../core/log.ts";
import { FileCheckpointStore } from "../../core/checkpoint.ts";
import type { BusRecord } from "../../core/record.ts";
import type { PartStats } from "../../core/stats.ts";
import type { Output, OutputContext } from "../../core/transport.ts";
import { RecordRejects } from "../../core/reject.ts";
import { exists, hostName, pickPath, syncDir } from "../../core/path_template.ts";
import { McapEncoder } from "../../codecs/mcap.ts";
import { recordMsgpack } from "../../codecs/msgpack.ts";
import { toCompactJson } from "../../codecs/json_compact.ts";
import { appendRecordJson, ByteBuffer, KeyTable } from "../../codecs/mpack_json.ts";
import { recordJsonSchema } from "../../codecs/json_schema.ts";
import type { McapConfig } from "./schema.ts";
import { finishTornMcap, writeAll } from "./repair.ts";

const encoder = new TextEncoder();

/** What the output keeps in `data_dir/mcap/NAME.json`: the file it is writing, if any. */
interface McapState {
  open?: string;
}

/** A running `mcap` output. Create it with {@linkcode McapOutput.open}. */
export class McapOutput implements Output {
  readonly #cfg: McapConfig;
  readonly #name: string;
  readonly #log: Logger;
  readonly #stats: PartStats;
  readonly #rejects: RecordRejects;
  readonly #host: string;
  readonly #startedMs = Date.now();
  readonly #store: FileCheckpointStore;
  #file?: Deno.FsFile;
  #path?: string;
  #enc?: McapEncoder;
  /** Channel id of each stream in the current file. */
  #channels = new Map<string, number>();
  #intervalEnd = Infinity;
  /** When the open chunk got its first message. */
  #pendingSince = 0;
  /** Writes the open chunk `flush_interval` after its first message. */
  #timer?: ReturnType<typeof setTimeout>;
  #closed = false;
  /** Reused for each message's JSON text (the encoder copies it into the chunk): no allocation per record. */
  readonly #json = new ByteBuffer(1 << 16);
  /** Keys of the records whose JSON is written from their MessagePack bytes, interned once. */
  readonly #keys = new KeyTable();
  /** Serialises writes, timed flushes, rotations and close. */
  #lock: Promise<unknown> = Promise.resolve();

  private constructor(config: McapConfig, ctx: OutputContext) {
    this.#cfg = config;
    this.#name = ctx.name;
    this.#log = ctx.log;
    this.#stats = ctx.stats;
    this.#rejects = new RecordRejects(ctx.stats, ctx.log);
    this.#host = config.path.includes("{host}") ? hostName() : "localhost";
    this.#store = new FileCheckpointStore(join(ctx.dataDir, "mcap"));
    ctx.stats.gauges.set("file_bytes", () => this.currentSize);
  }

  /** Finishes a file a crash left torn, opens the first file and starts the flush timer. */
  static async open(config: McapConfig, ctx: OutputContext): Promise<McapOutput> {
    const out = new McapOutput(config, ctx);
    await out.#recover();
    await out.#openNew(Date.now());
    return out;
  }

  /** Path of the file being written. */
  get currentPath(): string | undefined {
    return this.#path;
  }

  /** Bytes written to the current file so far (the open chunk not included). */
  get currentSize(): number {
    return this.#enc?.position ?? 0;
  }

  /** Adds a batch to the open chunk (writing chunks that fill up). */
  write(records: BusRecord[]): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    return this.#exclusive(() => this.#write(records));
  }

  /** Writes the open chunk and the summary, fsyncs and closes the file. */
  close(): Promise<void> {
    return this.#exclusive(async () => {
      if (this.#closed) return;
      this.#closed = true;
      this.#disarm();
      await this.#closeFile();
    });
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(fn);
    this.#lock = run.catch(() => {});
    return run;
  }

  /** Finishes the file the last run was writing when it has no footer (a crash). */
  async #recover(): Promise<void> {
    let state: McapState | undefined;
    try {
      state = await this.#store.load<McapState>(this.#name);
    } catch (e) {
      this.#log.warn("cannot read the output's state", { error: e });
      return;
    }
    const path = state?.open;
    if (typeof path !== "string" || !(await exists(path))) return;
    try {
      const r = await finishTornMcap(path, this.#cfg.compression);
      if (r) {
        this.#stats.count("repaired_files");
        this.#log.warn("finished a file left without its summary", {
          path,
          messages: r.messages,
          torn_bytes: r.tornBytes,
          bytes: r.bytes,
          stopped_at: r.error,
        });
      }
    } catch (e) {
      this.#log.error("cannot finish a torn file", { path, error: e });
    }
    await this.#store.save(this.#name, {});
  }

  async #write(records: BusRecord[]): Promise<void> {
    try {
      if (this.#closed) throw new Error(`mcap output ${this.#name} is closed`);
      const now = Date.now();
      if (!this.#enc) await this.#openNew(now);
      else if (now >= this.#intervalEnd) await this.#rotate(now);
      const limit = this.#cfg.rotate_size ?? Infinity;
      const chunkSize = this.#cfg.chunk_size;
      const json = this.#cfg.encoding === "json";
      for (const r of records) {
        let bytes: Uint8Array;
        try {
          bytes = json ? this.#jsonOf(r) : recordMsgpack(r);
        } catch (e) {
          // A record that cannot be encoded costs only itself.
          this.#rejects.rejectError(r, e, { path: this.#path });
          continue;
        }
        let enc = this.#enc!;
        if (limit !== Infinity && enc.messages > 0 && enc.position + enc.pendingBytes + bytes.length > limit) {
          await this.#rotate(now);
          enc = this.#enc!;
        }
        const ch = this.#channels.get(r.stream) ?? this.#addChannel(r);
        if (enc.pendingMessages === 0) this.#pendingSince = Date.now();
        enc.addMessage(ch, r.time < 0n ? 0n : r.time, bytes);
        if (enc.pendingBytes >= chunkSize) await this.#flush();
      }
      await this.#flushIfDue(Date.now());
      this.#arm();
    } catch (e) {
      this.#log.error("write failed", { path: this.#path, records: records.length, error: e });
      this.#stats.errors++;
      throw e;
    }
  }

  /**
   * The record's JSON text in the reused buffer (valid until the next call): written from the MessagePack bytes the
   * record came as when it has them (no decoding; Python-style spacing), else `toCompactJson` of its dictionary.
   */
  #jsonOf(r: BusRecord): Uint8Array {
    const sink = this.#json;
    sink.length = 0;
    const mp = r.encoded?.msgpack;
    // appendRecordJson ends the text with a newline, which the message leaves out.
    if (mp && appendRecordJson(sink, mp, 0, mp.length, this.#keys)) return sink.bytes.subarray(0, sink.length - 1);
    const text = toCompactJson(r.data);
    sink.reserve(3 * text.length); // UTF-8 takes at most 3 bytes per UTF-16 unit
    sink.length = encoder.encodeInto(text, sink.bytes).written;
    return sink.bytes.subarray(0, sink.length);
  }

  #addChannel(r: BusRecord): number {
    const enc = this.#enc!;
    const id = this.#cfg.encoding === "json"
      ? enc.addChannel(r.stream, "json", {
        name: r.stream,
        encoding: "jsonschema",
        data: encoder.encode(JSON.stringify(recordJsonSchema(r.data, r.stream))),
      })
      : enc.addChannel(r.stream, "msgpack");
    this.#channels.set(r.stream, id);
    return id;
  }

  async #flushIfDue(now: number): Promise<void> {
    if (this.#enc && this.#enc.pendingMessages > 0 && now - this.#pendingSince >= this.#cfg.flush_interval) {
      await this.#flush();
    }
  }

  /** Writes the open chunk. */
  async #flush(): Promise<void> {
    this.#disarm();
    await this.#append(this.#enc!.flush());
  }

  /** Sets the timer that writes the open chunk once its first message is `flush_interval` old. */
  #arm(): void {
    if (this.#timer !== undefined || !this.#enc || this.#enc.pendingMessages === 0) return;
    const due = Math.max(0, this.#pendingSince + this.#cfg.flush_interval - Date.now());
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#exclusive(() => this.#flushIfDue(Date.now()).then(() => this.#arm())).catch((e) =>
        this.#log.warn("writing a chunk failed", { path: this.#path, error: e })
      );
    }, due);
    // A forgotten output must not keep the process alive; close() clears the timer anyway.
    Deno.unrefTimer(this.#timer);
  }

  #disarm(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  async #append(bytes: Uint8Array): Promise<void> {
    if (bytes.length === 0) return;
    await writeAll(this.#file!, bytes);
    this.#stats.bytes += bytes.length;
  }

  async #rotate(now: number): Promise<void> {
    // A file of an interval without a single record is not worth keeping.
    const empty = this.#enc?.messages === 0 ? this.#path : undefined;
    await this.#closeFile();
    if (empty !== undefined) await Deno.remove(empty).catch(() => {});
    await this.#openNew(now);
  }

  /** Writes the summary and footer, fsyncs, closes; the state then names no open file. */
  async #closeFile(): Promise<void> {
    const file = this.#file, enc = this.#enc;
    if (!file || !enc) return;
    this.#disarm();
    this.#file = undefined;
    this.#enc = undefined;
    try {
      const end = enc.end();
      await writeAll(file, end);
      this.#stats.bytes += end.length;
      await file.syncData();
    } finally {
      file.close();
    }
    this.#log.info("closed", { path: this.#path, messages: enc.messages, bytes: enc.position });
    await this.#store.save(this.#name, {});
  }

  /** Picks a free path from the template, creates the file and writes the header. */
  async #openNew(now: number): Promise<void> {
    const iv = this.#cfg.rotate_interval;
    // With interval rotation a file is named after the start of its interval, as mpack_file's are.
    const start = iv === undefined ? now : Math.floor(now / iv) * iv;
    for (let attempt = 0; attempt < 100; attempt++) {
      const [path] = await pickPath(
        this.#cfg.path,
        { name: this.#name, host: this.#host, timeMs: start, startedMs: this.#startedMs },
        "rotate",
        false,
      );
      const dir = dirname(path);
      await Deno.mkdir(dir, { recursive: true });
      let file: Deno.FsFile;
      try {
        file = await Deno.open(path, { write: true, createNew: true });
      } catch (e) {
        if (e instanceof Deno.errors.AlreadyExists) continue; // another process took the name first
        throw e;
      }
      // The state names the file before a byte of it matters, so a crash from here on is repaired.
      await this.#store.save(this.#name, { open: path } satisfies McapState);
      await syncDir(dir);
      const enc = new McapEncoder({ compression: this.#cfg.compression });
      this.#file = file;
      this.#path = path;
      this.#enc = enc;
      this.#channels = new Map();
      this.#intervalEnd = iv === undefined ? Infinity : start + iv;
      await this.#append(enc.start());
      this.#stats.count("files_opened");
      this.#log.info("writing", { path });
      return;
    }
    throw new Error(`no free file name for ${this.#cfg.path}`);
  }
}

/** The output factory: validated config in, running output out. */
export function createMcapOutput(config: McapConfig, ctx: OutputContext): Promise<McapOutput> {
  return McapOutput.open(config, ctx);
}
