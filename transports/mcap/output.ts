/**
 * The `mcap` output: records as MCAP messages, one channel per stream, in
 * chunks compressed with zstd or lz4, with message indexes, statistics and a
 * summary, so indexed readers open the files. File names and rotation are
 * those of `mpack_file` (core/path_template.ts); the files themselves are
 * files.ts's, run in a worker (`worker = true`, thread.ts) or in this thread.
 *
 * A chunk is written when it is full, and at the latest `flush_interval`
 * after its first message; a crash loses at most the open chunk. The file being written is named in the
 * output's state (`data_dir/mcap/NAME.json`); a start that finds it without
 * its footer finishes it first (repair.ts).
 *
 * @module
 */
import type { Logger } from "../../core/log.ts";
import type { BusRecord } from "../../core/record.ts";
import type { PartStats } from "../../core/stats.ts";
import type { Output, OutputContext } from "../../core/transport.ts";
import { ackRecords } from "../../core/queue.ts";
import { RecordRejects } from "../../core/reject.ts";
import { recordMsgpack } from "../../codecs/msgpack.ts";
import { toCompactJson } from "../../codecs/json_compact.ts";
import { appendRecordJson, ByteBuffer, KeyTable } from "../../codecs/mpack_json.ts";
import type { McapConfig } from "./schema.ts";
import { McapFiles, type McapFilesHost } from "./files.ts";
import { BatchPacker } from "./batch.ts";
import { type BatchAnswer, McapThread } from "./thread.ts";

const encoder = new TextEncoder();

/**
 * Batches handed to the worker and not yet answered, at most: one being written while the next waits. A full window
 * makes `write` wait, so a slow worker fills the output's queue and its `when_full` policy applies.
 */
const WINDOW = 2;

/**
 * A running `mcap` output. Create it with {@linkcode McapOutput.open}.
 *
 * With the worker, `write` resolves once the batch is handed over (while
 * fewer than {@linkcode WINDOW} are); its records count as written, and their
 * acknowledgement is held, until the worker has them in its open chunk, as
 * they are when `write` resolves in one thread.
 */
export class McapOutput implements Output {
  /** With the worker, records are counted when it has them (see the class). */
  readonly countsRecords: boolean;
  readonly #cfg: McapConfig;
  readonly #ctx: OutputContext;
  readonly #log: Logger;
  readonly #stats: PartStats;
  readonly #rejects: RecordRejects;
  readonly #startedMs = Date.now();
  /** The files, when written in this thread. */
  #files?: McapFiles;
  /** The worker, when written there (replaced after it died). */
  #thread?: McapThread;
  readonly #packer: BatchPacker;
  /** Batches handed to the worker and not yet answered, oldest first. */
  readonly #inflight: Promise<void>[] = [];
  #closed = false;
  /** Reused for each message's JSON text (the encoder copies it into the chunk): no allocation per record. */
  readonly #json = new ByteBuffer(1 << 16);
  /** Keys of the records whose JSON is written from their MessagePack bytes, interned once. */
  readonly #keys = new KeyTable();
  /** Serialises writes, timed flushes, rotations and close (in this thread). */
  #lock: Promise<unknown> = Promise.resolve();

  private constructor(config: McapConfig, ctx: OutputContext) {
    this.#cfg = config;
    this.#ctx = ctx;
    this.#log = ctx.log;
    this.#stats = ctx.stats;
    this.countsRecords = config.worker;
    this.#rejects = new RecordRejects(ctx.stats, ctx.log);
    this.#packer = new BatchPacker(config.encoding === "json");
    ctx.stats.gauges.set("file_bytes", () => this.currentSize);
  }

  /** Finishes a file a crash left torn, opens the first file and starts the flush timer. */
  static async open(config: McapConfig, ctx: OutputContext): Promise<McapOutput> {
    const out = new McapOutput(config, ctx);
    if (config.worker) {
      const thread = out.#startThread();
      try {
        await thread.ready;
      } catch (e) {
        await thread.close().catch(() => {});
        throw e;
      }
    } else {
      const files = new McapFiles(
        config,
        ctx.name,
        ctx.dataDir,
        out.#host(),
        (fn) => out.#exclusive(fn),
        out.#startedMs,
      );
      await files.open();
      out.#files = files;
    }
    return out;
  }

  /** Path of the file being written. */
  get currentPath(): string | undefined {
    return this.#thread ? this.#thread.path : this.#files?.path;
  }

  /** Bytes written to the current file so far (the open chunk not included). */
  get currentSize(): number {
    return this.#thread ? this.#thread.position : this.#files?.position ?? 0;
  }

  /** Adds a batch to the open chunk (writing chunks that fill up). */
  write(records: BusRecord[]): Promise<void> | undefined {
    if (records.length === 0) return;
    if (this.#cfg.worker) return this.#send(records);
    return this.#exclusive(() => this.#write(records));
  }

  /** Resolves once the worker answered every batch handed to it (at once without a worker). */
  async settled(): Promise<void> {
    while (this.#inflight.length > 0) await this.#inflight.at(-1);
  }

  /** For tests: holds the worker (batches wait for it) until the returned function is called. */
  hold(): Promise<() => void> {
    return this.#thread!.hold();
  }

  /** Writes the open chunk and the summary, fsyncs and closes the file (and ends the worker). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#cfg.worker) {
      await this.settled();
      await this.#thread?.close();
      return;
    }
    await this.#exclusive(() => this.#files!.close());
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(fn);
    this.#lock = run.catch(() => {});
    return run;
  }

  /** What the files in this thread report: the output's log and counters. */
  #host(): McapFilesHost {
    return {
      log: (level, msg, fields) => this.#log[level](msg, fields),
      wrote: (bytes) => this.#stats.bytes += bytes,
      repaired: () => this.#stats.count("repaired_files"),
      opened: () => this.#stats.count("files_opened"),
    };
  }

  #startThread(): McapThread {
    const { name, dataDir } = this.#ctx;
    return this.#thread = new McapThread(this.#cfg, name, dataDir, this.#startedMs, this.#log, this.#stats);
  }

  /** Hands a batch to the worker; waits (returns a promise) only while the window is full. */
  #send(records: BusRecord[]): Promise<void> | undefined {
    if (this.#closed) return Promise.reject(new Error(`mcap output ${this.#ctx.name} is closed`));
    const reject = (r: BusRecord, e: unknown) => this.#rejects.rejectError(r, e, { path: this.currentPath });
    let [batch, packed] = this.#packer.pack(records, reject);
    if (packed.length === 0) return;
    // A worker that died is replaced: the new one finishes the file it left torn.
    const thread = this.#thread?.dead === undefined ? this.#thread! : this.#startThread();
    let sent: Promise<BatchAnswer>;
    try {
      sent = thread.send(batch);
    } catch {
      // A map structured clone cannot copy (e.g. a class instance a program put in a record): JSON made here.
      [batch, packed] = this.#packer.pack(records, reject, true);
      sent = thread.send(batch);
    }
    // Their acknowledgement waits for the worker's answer.
    for (const r of packed) if (r.ack) r.ack.pending++;
    // Never rejects: nobody may be waiting for it (write returned before the answer).
    const p: Promise<void> = sent.then((a) => this.#answered(packed, a)).catch((e) =>
      this.#log.error("counting a batch failed", { error: e })
    ).finally(() => {
      this.#inflight.splice(this.#inflight.indexOf(p), 1);
    });
    this.#inflight.push(p);
    if (this.#inflight.length >= WINDOW) return this.#inflight[0];
  }

  /** Counts a batch the worker answered (written, rejected or failed) and releases its acknowledgement. */
  #answered(packed: BusRecord[], a: BatchAnswer): void {
    if ("error" in a) {
      this.#log.error("write failed; records dropped", {
        path: this.currentPath,
        records: packed.length,
        error: a.error,
      });
      this.#stats.errors++;
      this.#stats.drop("write_error", packed.length);
    } else {
      for (const j of a.rejects) {
        this.#rejects.reject(packed[j.index], j.reason, new Error(j.message), { path: this.currentPath });
      }
      this.#stats.records += packed.length - a.rejects.length;
    }
    ackRecords(packed);
  }

  async #write(records: BusRecord[]): Promise<void> {
    const files = this.#files!;
    try {
      if (this.#closed) throw new Error(`mcap output ${this.#ctx.name} is closed`);
      await files.begin();
      const json = this.#cfg.encoding === "json";
      for (const r of records) {
        let bytes: Uint8Array;
        try {
          bytes = json ? this.#jsonOf(r) : recordMsgpack(r);
        } catch (e) {
          // A record that cannot be encoded costs only itself.
          this.#rejects.rejectError(r, e, { path: files.path });
          continue;
        }
        const p = files.add(r.stream, r.time, bytes, () => r.data);
        if (p) await p;
      }
      await files.end();
    } catch (e) {
      this.#log.error("write failed", { path: files.path, records: records.length, error: e });
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
}

/** The output factory: validated config in, running output out. */
export function createMcapOutput(config: McapConfig, ctx: OutputContext): Promise<McapOutput> {
  return McapOutput.open(config, ctx);
}
