/**
 * The main thread's side of the `mcap` output's worker (mcap_worker.ts): it
 * starts the worker, sends it batches (one transferable buffer each, see
 * batch.ts) and resolves each batch with the worker's answer. Log lines and
 * byte counts the worker reports go to the output's logger and counters.
 *
 * The worker is started from its module file (`new URL(...)`, a literal, so
 * that `deno compile` embeds it); it inherits the daemon's permissions, and
 * the read access to telebus's own code that lazy dynamic imports need
 * (cli/permissions.ts) covers its module too.
 *
 * @module
 */
import type { LogFields, Logger } from "../../core/log.ts";
import type { PartStats } from "../../core/stats.ts";
import type { PackedBatch } from "./batch.ts";
import type { McapConfig } from "./schema.ts";

/** Messages of the main thread to the worker. */
export type ToWorker =
  | { t: "open"; config: McapConfig; name: string; dataDir: string; startedMs: number }
  | { t: "batch"; id: number; batch: PackedBatch }
  | { t: "close" }
  | { t: "hold" }
  | { t: "release" };

/** A record of a batch the worker could not make a message of: its index in the batch, reason and error. */
export interface WorkerReject {
  /** Index of the record in its batch. */
  index: number;
  /** The limit reason (core/limits.ts). */
  reason: string;
  /** The error's message. */
  message: string;
}

/** Messages of the worker to the main thread. */
export type FromWorker =
  | { t: "log"; level: "debug" | "info" | "warn" | "error"; msg: string; fields?: LogFields }
  | { t: "wrote"; bytes: number; position: number }
  | { t: "repaired" }
  | { t: "opened"; path: string }
  | { t: "ready" }
  | { t: "open_failed"; error: string }
  | { t: "done"; id: number; rejects: WorkerReject[]; path?: string }
  | { t: "failed"; id: number; error: string }
  | { t: "closed" }
  | { t: "close_failed"; error: string }
  | { t: "held" };

/** The answer to a batch: its records are in the open chunk (but `rejects`), or `error` says why none may be. */
export type BatchAnswer = { rejects: WorkerReject[] } | { error: string };

/**
 * One worker writing one output's files. A worker that dies answers its
 * pending batches with an error; the caller starts a new one (which finishes
 * the file the dead one left torn).
 */
export class McapThread {
  readonly #worker: Worker;
  readonly #log: Logger;
  readonly #stats: PartStats;
  readonly #pending = new Map<number, (a: BatchAnswer) => void>();
  #nextId = 0;
  #ready = Promise.withResolvers<void>();
  #closed = Promise.withResolvers<void>();
  #held?: () => void;
  #dead?: string;
  /** Path of the file being written, as the worker last said. */
  path?: string;
  /** Size of that file, as the worker last said. */
  position = 0;

  /** Starts the worker and has it open the files (see {@linkcode McapThread.ready}). */
  constructor(config: McapConfig, name: string, dataDir: string, startedMs: number, log: Logger, stats: PartStats) {
    this.#log = log;
    this.#stats = stats;
    this.#ready.promise.catch(() => {});
    this.#closed.promise.catch(() => {});
    this.#worker = new Worker(new URL("./mcap_worker.ts", import.meta.url), { type: "module" });
    this.#worker.onmessage = (e: MessageEvent<FromWorker>) => this.#receive(e.data);
    this.#worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      this.#die(`the mcap worker failed: ${e.message}`);
    };
    this.#post({ t: "open", config, name, dataDir, startedMs });
  }

  /** Resolves once the worker finished a torn file and opened the first one; rejects if it could not. */
  get ready(): Promise<void> {
    return this.#ready.promise;
  }

  /** Why the worker is gone, if it is. */
  get dead(): string | undefined {
    return this.#dead;
  }

  /**
   * Sends a batch (its buffer is transferred); resolves with the worker's answer, never rejects. Throws (at once,
   * nothing sent) when structured clone cannot copy the batch's maps.
   */
  send(batch: PackedBatch): Promise<BatchAnswer> {
    if (this.#dead) return Promise.resolve({ error: this.#dead });
    const id = this.#nextId++;
    const answer = new Promise<BatchAnswer>((resolve) => this.#pending.set(id, resolve));
    try {
      this.#post({ t: "batch", id, batch }, [batch.buffer]);
    } catch (e) {
      this.#pending.delete(id);
      throw e;
    }
    return answer;
  }

  /** Has the worker write the open chunk and the summary, then ends it. */
  async close(): Promise<void> {
    if (!this.#dead) {
      this.#post({ t: "close" });
      try {
        await this.#closed.promise;
      } finally {
        this.#die("the mcap worker was closed");
      }
    }
  }

  /** For tests: holds the worker's queue (batches wait) until the returned function is called. */
  async hold(): Promise<() => void> {
    const held = new Promise<void>((resolve) => this.#held = resolve);
    this.#post({ t: "hold" });
    await held;
    return () => this.#post({ t: "release" });
  }

  #post(m: ToWorker, transfer: Transferable[] = []): void {
    this.#worker.postMessage(m, transfer);
  }

  #receive(m: FromWorker): void {
    switch (m.t) {
      case "log":
        this.#log[m.level](m.msg, m.fields);
        break;
      case "wrote":
        this.#stats.bytes += m.bytes;
        this.position = m.position;
        break;
      case "repaired":
        this.#stats.count("repaired_files");
        break;
      case "opened":
        this.#stats.count("files_opened");
        this.path = m.path;
        break;
      case "ready":
        this.#ready.resolve();
        break;
      case "open_failed":
        this.#ready.reject(new Error(m.error));
        break;
      case "done":
      case "failed": {
        const resolve = this.#pending.get(m.id);
        this.#pending.delete(m.id);
        if (m.t === "done" && m.path !== undefined) this.path = m.path;
        resolve?.(m.t === "done" ? { rejects: m.rejects } : { error: m.error });
        break;
      }
      case "closed":
        this.#closed.resolve();
        break;
      case "close_failed":
        this.#closed.reject(new Error(m.error));
        break;
      case "held":
        this.#held?.();
        break;
    }
  }

  /** Ends the worker; pending batches are answered with `why`. */
  #die(why: string): void {
    if (this.#dead) return;
    this.#dead = why;
    this.#worker.terminate();
    this.#ready.reject(new Error(why));
    this.#closed.reject(new Error(why));
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const resolve of pending) resolve({ error: why });
  }
}
