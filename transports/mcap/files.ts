/**
 * The MCAP files of one `mcap` output, on whichever thread runs them: a file
 * a crash left torn is finished at start, files are opened from the path
 * template, messages go into the open chunk, a chunk is written when full and
 * at the latest `flush_interval` after its first message, files rotate by
 * size and interval, and the summary is written at close. The output
 * (output.ts) runs this in its own thread or in its worker (worker.ts).
 *
 * @module
 */
import { dirname, join } from "node:path";
import type { LogFields } from "../../core/log.ts";
import { FileCheckpointStore } from "../../core/checkpoint.ts";
import type { Dict } from "../../core/record.ts";
import { exists, hostName, pickPath, syncDir } from "../../core/path_template.ts";
import { McapEncoder } from "../../codecs/mcap.ts";
import { recordJsonSchema } from "../../codecs/json_schema.ts";
import type { McapConfig } from "./schema.ts";
import { finishTornMcap, writeAll } from "./repair.ts";

const encoder = new TextEncoder();

/** What the output keeps in `data_dir/mcap/NAME.json`: the file it is writing, if any. */
interface McapState {
  open?: string;
}

/** What the files report to the output: log lines and counters (posted across threads by the worker). */
export interface McapFilesHost {
  /** A log line of the output. */
  log(level: "debug" | "info" | "warn" | "error", msg: string, fields?: LogFields): void;
  /** Bytes written to a file; `position` is the current file's size. */
  wrote(bytes: number, position: number): void;
  /** A file was repaired at start (counter `repaired_files`). */
  repaired(): void;
  /** A file was opened (counter `files_opened`). */
  opened(path: string): void;
}

/** The schema of a channel: given (the record's own JSON Schema text), or inferred from its dictionary. */
export type ChannelSchema = () => Dict | Uint8Array;

/** One output's MCAP files. Not re-entrant: the caller runs one call at a time (timed flushes wait via `exclusive`). */
export class McapFiles {
  readonly #cfg: McapConfig;
  readonly #name: string;
  readonly #host: McapFilesHost;
  readonly #hostname: string;
  readonly #startedMs: number;
  readonly #store: FileCheckpointStore;
  readonly #exclusive: (fn: () => Promise<void>) => Promise<void>;
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
  #now = 0;

  /**
   * @param exclusive runs a timed flush after the call in progress (the caller's serialisation)
   */
  constructor(
    config: McapConfig,
    name: string,
    dataDir: string,
    host: McapFilesHost,
    exclusive: (fn: () => Promise<void>) => Promise<void>,
    startedMs = Date.now(),
  ) {
    this.#cfg = config;
    this.#name = name;
    this.#host = host;
    this.#exclusive = exclusive;
    this.#startedMs = startedMs;
    this.#hostname = config.path.includes("{host}") ? hostName() : "localhost";
    this.#store = new FileCheckpointStore(join(dataDir, "mcap"));
  }

  /** Path of the file being written. */
  get path(): string | undefined {
    return this.#path;
  }

  /** Bytes written to the current file so far (the open chunk not included). */
  get position(): number {
    return this.#enc?.position ?? 0;
  }

  /** Finishes the file a crash left torn, then opens the first file. */
  async open(): Promise<void> {
    await this.#recover();
    await this.#openNew(Date.now());
  }

  /** Starts a batch: opens a file if none is open, rotates at the end of an interval. */
  async begin(): Promise<void> {
    const now = this.#now = Date.now();
    if (!this.#enc) await this.#openNew(now);
    else if (now >= this.#intervalEnd) await this.#rotate(now);
  }

  /**
   * Adds a message of `stream` (rotating by size first, writing the chunk when it fills). Returns a promise only
   * when it writes: most messages cost no await.
   */
  add(stream: string, time: bigint, bytes: Uint8Array, schema: ChannelSchema): Promise<void> | undefined {
    const enc = this.#enc!;
    const limit = this.#cfg.rotate_size;
    if (limit !== undefined && enc.messages > 0 && enc.position + enc.pendingBytes + bytes.length > limit) {
      // The bytes may be a reused buffer: copied before the rotation's awaits.
      const copy = bytes.slice();
      return this.#rotate(this.#now).then(() => this.add(stream, time, copy, schema));
    }
    const ch = this.#channels.get(stream) ?? this.#addChannel(stream, schema);
    if (enc.pendingMessages === 0) this.#pendingSince = Date.now();
    enc.addMessage(ch, time < 0n ? 0n : time, bytes);
    if (enc.pendingBytes >= this.#cfg.chunk_size) return this.#flush();
  }

  /** Ends a batch: writes the open chunk when due, else arms the timer that will. */
  async end(): Promise<void> {
    await this.#flushIfDue(Date.now());
    this.#arm();
  }

  /** Writes the open chunk and the summary, fsyncs and closes the file. */
  async close(): Promise<void> {
    this.#disarm();
    await this.#closeFile();
  }

  /** Finishes the file the last run was writing when it has no footer (a crash). */
  async #recover(): Promise<void> {
    let state: McapState | undefined;
    try {
      state = await this.#store.load<McapState>(this.#name);
    } catch (e) {
      this.#host.log("warn", "cannot read the output's state", { error: e });
      return;
    }
    const path = state?.open;
    if (typeof path !== "string" || !(await exists(path))) return;
    try {
      const r = await finishTornMcap(path, this.#cfg.compression);
      if (r) {
        this.#host.repaired();
        this.#host.log("warn", "finished a file left without its summary", {
          path,
          messages: r.messages,
          torn_bytes: r.tornBytes,
          bytes: r.bytes,
          stopped_at: r.error,
        });
      }
    } catch (e) {
      this.#host.log("error", "cannot finish a torn file", { path, error: e });
    }
    await this.#store.save(this.#name, {});
  }

  #addChannel(stream: string, schema: ChannelSchema): number {
    const enc = this.#enc!;
    let id: number;
    if (this.#cfg.encoding === "json") {
      const s = schema();
      const data = s instanceof Uint8Array ? s : encoder.encode(JSON.stringify(recordJsonSchema(s, stream)));
      id = enc.addChannel(stream, "json", { name: stream, encoding: "jsonschema", data });
    } else id = enc.addChannel(stream, "msgpack");
    this.#channels.set(stream, id);
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
        this.#host.log("warn", "writing a chunk failed", { path: this.#path, error: e })
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
    this.#host.wrote(bytes.length, this.position);
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
      this.#host.wrote(end.length, 0);
      await file.syncData();
    } finally {
      file.close();
    }
    this.#host.log("info", "closed", { path: this.#path, messages: enc.messages, bytes: enc.position });
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
        { name: this.#name, host: this.#hostname, timeMs: start, startedMs: this.#startedMs },
        "rotate",
        false,
      );
      const dir = dirname(path);
      await Deno.mkdir(dir, { recursive: true });
      if (await exists(path)) continue;
      // The state names the file before it exists: a crash between its creation and its header must not leave an
      // empty file nobody repairs (start-up finishes a named file, even an empty one, and skips a missing one).
      await this.#store.save(this.#name, { open: path } satisfies McapState);
      let file: Deno.FsFile;
      try {
        file = await Deno.open(path, { write: true, createNew: true });
      } catch (e) {
        if (e instanceof Deno.errors.AlreadyExists) continue; // another process took the name first
        throw e;
      }
      await syncDir(dir);
      const enc = new McapEncoder({ compression: this.#cfg.compression });
      this.#file = file;
      this.#path = path;
      this.#enc = enc;
      this.#channels = new Map();
      this.#intervalEnd = iv === undefined ? Infinity : start + iv;
      await this.#append(enc.start());
      this.#host.opened(path);
      this.#host.log("info", "writing", { path });
      return;
    }
    throw new Error(`no free file name for ${this.#cfg.path}`);
  }
}
