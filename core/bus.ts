/**
 * The dictionary bus: fans records out from inputs to every output that
 * selects them, each through its own bounded queue, and tracks when the
 * outputs have accepted them (for checkpoints and acknowledgements).
 *
 * @module
 */
import type { BusRecord } from "./record.ts";
import { ackRecords, type FullPolicy, OutputQueue } from "./queue.ts";
import type { Output } from "./transport.ts";
import type { PartStats } from "./stats.ts";
import type { Logger } from "./log.ts";
import { globMatcher } from "./glob.ts";
import { isDeepStrictEqual } from "node:util";
import { ProcessorChain } from "../processors/chain.ts";
import type { ProcessorConfig } from "../processors/schema.ts";

/** How an output is attached to the bus. */
export interface AttachOptions {
  /** Input names whose records this output takes (default: all). */
  inputs?: readonly string[];
  /** Stream globs this output takes (default: all). */
  streams?: readonly string[];
  /** Queue policy when full. */
  whenFull: FullPolicy;
  /** Queue bound in records. */
  queueRecords: number;
  /** Queue bound in bytes. */
  queueBytes: number;
  /** Most records per write. */
  batchRecords: number;
  /** Processors this output's copy of the records goes through before its queue (validated `processors` tables). */
  processors?: readonly Record<string, unknown>[];
}

/**
 * One output on the bus: its queue and the loop that feeds it. The loop counts
 * records written; the output itself counts bytes (only it knows its encoding).
 *
 * A reload swaps the output behind the queue ({@linkcode OutputAttachment.pause},
 * {@linkcode OutputAttachment.resume}): records keep queueing meanwhile, so none
 * is lost, none is written twice, and their order is kept.
 */
export class OutputAttachment {
  /** The queue in front of the output. */
  readonly queue: OutputQueue;
  #options: AttachOptions;
  #selectInput: ((source: string) => boolean) | undefined;
  #selectStream: ((stream: string) => boolean) | undefined;
  #output: Output | undefined;
  #loop?: Promise<void>;
  /** Set while paused: the loop holds its next batch until this resolves. */
  #paused?: PromiseWithResolvers<void>;
  /** The write in flight, if any. */
  #writing?: Promise<void>;
  /** The gauges of the queue, kept when the output is replaced (the old output's gauges go). */
  readonly #queueGauges: Map<string, () => number>;
  /** The output's processors, if it has any. */
  #chain?: ProcessorChain;
  #chainConfig?: readonly ProcessorConfig[];

  /**
   * Creates the queue and the selection of one output.
   *
   * @param name the output's name
   * @param output the output itself; undefined starts the attachment paused (see {@linkcode OutputAttachment.resume})
   * @param options selection and queue settings
   * @param stats the output's counters
   * @param log the output's logger
   */
  constructor(
    readonly name: string,
    output: Output | undefined,
    options: AttachOptions,
    readonly stats: PartStats,
    readonly log: Logger,
  ) {
    this.#output = output;
    if (!output) this.#paused = Promise.withResolvers();
    this.#options = options;
    const before = new Map(stats.gauges);
    this.queue = new OutputQueue({
      maxRecords: options.queueRecords,
      maxBytes: options.queueBytes,
      policy: options.whenFull,
      stats,
      onDrop: ackRecords,
    });
    this.#queueGauges = new Map([...stats.gauges].filter(([k, g]) => before.get(k) !== g));
    this.#select(options);
    this.#process(options.processors);
  }

  /** Sets up the processors; a chain with other tables is closed first, what it held going to the queue. */
  #process(tables: readonly Record<string, unknown>[] | undefined): void {
    if (this.#chain && isDeepStrictEqual(tables, this.#chainConfig)) return;
    this.#chain?.close(true);
    // The tables were checked against their schemas when the configuration was loaded.
    const configs = tables as readonly ProcessorConfig[] | undefined;
    this.#chainConfig = configs;
    // Records a processor releases later (from its timer) are queued as any others.
    this.#chain = configs?.length ? new ProcessorChain(configs, (records) => void this.queue.push(records)) : undefined;
    this.stats.processors = this.#chain?.stats ?? [];
  }

  /**
   * Queues records this output selected, through its processors first. Each record holds one count of its `ack`
   * group (the bus counted it); the processors give back the count of what they leave out. Returns the queue's
   * promise when it blocks (see {@linkcode OutputQueue.push}).
   */
  push(records: BusRecord[]): Promise<void> | void {
    const out = this.#chain ? this.#chain.process(records) : records;
    if (out.length > 0) return this.queue.push(out);
  }

  #select(options: AttachOptions): void {
    this.#selectInput = this.#selectStream = undefined;
    if (options.inputs && options.inputs.length > 0) {
      const set = new Set(options.inputs);
      this.#selectInput = (s) => set.has(s);
    }
    if (options.streams && options.streams.length > 0 && !options.streams.includes("*")) {
      this.#selectStream = globMatcher(options.streams);
    }
  }

  /** Selection and queue settings. */
  get options(): AttachOptions {
    return this.#options;
  }

  /** The output written to (undefined while a paused attachment has none). */
  get output(): Output | undefined {
    return this.#output;
  }

  /** The records of `records` this output takes (the same array when it takes all). */
  select(records: BusRecord[]): BusRecord[] {
    const si = this.#selectInput, ss = this.#selectStream;
    if (!si && !ss) return records;
    return records.filter((r) => (!si || si(r.source)) && (!ss || ss(r.stream)));
  }

  /** Starts the loop that takes batches from the queue and writes them. */
  start(): void {
    this.#loop ??= this.#run();
  }

  async #run(): Promise<void> {
    for (;;) {
      const batch = await this.queue.take(this.#options.batchRecords);
      if (batch === null) return;
      // Paused for a reload: hold the batch for the output that comes next.
      while (this.#paused) await this.#paused.promise;
      const writing = this.#write(this.#output!, batch);
      this.#writing = writing;
      await writing;
      this.#writing = undefined;
      ackRecords(batch);
    }
  }

  async #write(output: Output, batch: BusRecord[]): Promise<void> {
    const rejected = this.stats.rejectedTotal;
    try {
      await output.write(batch);
      // Records the output refused alone (beyond the codecs' limits) were counted as rejected, not written; an
      // output that counts its own records (as its destination confirms them) is left alone.
      if (!output.countsRecords) this.stats.records += batch.length - (this.stats.rejectedTotal - rejected);
    } catch (e) {
      // Counted (as drops; the output counts its own errors) and logged; the records are acknowledged anyway
      // so that one broken output cannot stall every checkpoint. Outputs that can retry do so inside write().
      this.stats.drop("write_error", batch.length);
      this.log.error("write failed; records dropped", { records: batch.length, error: e });
    }
  }

  /**
   * Stops writing: resolves once the write in flight (if any) is done. Records
   * keep queueing (the queue's policy applies when it fills) until
   * {@linkcode OutputAttachment.resume}; the caller may close the output meanwhile.
   */
  async pause(): Promise<void> {
    this.#paused ??= Promise.withResolvers();
    await this.#writing;
  }

  /**
   * Writes again: to `output` from now on when given (the previous one must be
   * closed by the caller), with `options` (selection, queue bounds and policy,
   * batch size) when given.
   */
  resume(output?: Output, options?: AttachOptions): void {
    if (options) {
      this.#options = options;
      this.#select(options);
      this.#process(options.processors);
      this.queue.setLimits(options.queueRecords, options.queueBytes, options.whenFull);
    }
    if (output) this.#output = output;
    if (!this.#output) throw new Error(`output ${this.name} has nothing to write to`);
    const p = this.#paused;
    this.#paused = undefined;
    p?.resolve();
  }

  /** Acknowledges and forgets everything queued, and closes the queue: for a paused attachment a reload removes. */
  async discard(): Promise<void> {
    this.#chain?.close(false);
    this.queue.close();
    for (
      let b = await this.queue.take(Number.MAX_SAFE_INTEGER);
      b;
      b = await this.queue.take(Number.MAX_SAFE_INTEGER)
    ) {
      ackRecords(b);
    }
  }

  /** Removes every gauge but the queue's: the output that set them is gone. */
  clearOutputGauges(): void {
    this.stats.gauges.clear();
    for (const [k, g] of this.#queueGauges) this.stats.gauges.set(k, g);
  }

  /**
   * Passes on what the processors hold (a throttle's newest records, an aggregate's open window) and stops their
   * timers: the daemon is stopping, and the inputs wait for their records' acceptance. Records after this pass the
   * throttle and the aggregate unheld; the other processors go on as before.
   */
  flushProcessors(): void {
    this.#chain?.close(true);
  }

  /** Closes the queue, waits until everything queued was written, then closes the output. */
  async drainAndClose(): Promise<void> {
    // What the processors hold is the last of this output's records.
    this.flushProcessors();
    // A producer waiting for room hands its records over before the queue closes, rather than having them dropped.
    this.start();
    await this.queue.settled();
    this.queue.close();
    await this.#loop;
    await this.#output?.close();
  }
}

/** Fans records out to the attached outputs. */
export class Bus {
  #outputs: OutputAttachment[] = [];
  /** Records emitted, all inputs together. */
  emitted = 0;

  /** The attached outputs. */
  get outputs(): readonly OutputAttachment[] {
    return this.#outputs;
  }

  /** Attaches an output; records emitted from now on reach it. */
  attach(a: OutputAttachment): void {
    this.#outputs = [...this.#outputs, a];
  }

  /** Puts `next` in the place of `prev` in one step: each record emitted reaches exactly one of the two. */
  replace(prev: OutputAttachment, next: OutputAttachment): void {
    this.#outputs = this.#outputs.map((o) => o === prev ? next : o);
  }

  /** Detaches an output (its queue is not drained here). */
  detach(a: OutputAttachment): void {
    this.#outputs = this.#outputs.filter((o) => o !== a);
  }

  /**
   * Puts records on the bus. Returns a promise when an output with the
   * `block` policy is full; it resolves once every record is queued.
   * `onAccepted` runs once every selecting output has written the records
   * (or dropped them by its policy); with no output selecting them, at once.
   */
  emit(records: BusRecord[], onAccepted?: () => void): Promise<void> | void {
    if (records.length === 0) {
      onAccepted?.();
      return;
    }
    this.emitted += records.length;
    const outs = this.#outputs;
    if (onAccepted) {
      // Start at 1 so that drops during the pushes below cannot finish the group early.
      const token = { pending: 1, done: onAccepted };
      for (let i = 0; i < records.length; i++) records[i].ack = token;
      let waits: Promise<void>[] | undefined;
      for (const o of outs) {
        const sel = o.select(records);
        if (sel.length === 0) continue;
        token.pending += sel.length;
        const p = o.push(sel);
        if (p) (waits ??= []).push(p);
      }
      if (--token.pending === 0) token.done();
      if (waits) return waits.length === 1 ? waits[0] : Promise.all(waits).then(() => {});
      return;
    }
    let waits: Promise<void>[] | undefined;
    for (const o of outs) {
      const sel = o.select(records);
      if (sel.length === 0) continue;
      const p = o.push(sel);
      if (p) (waits ??= []).push(p);
    }
    if (waits) return waits.length === 1 ? waits[0] : Promise.all(waits).then(() => {});
  }

  /**
   * Puts records on the bus that already carry their `ack` groups (an input's processors made or held them), each
   * holding one count of its group: every output that selects a record takes a count of its own, then the
   * caller's count is given back. Returns a promise when a `block` output is full, as {@linkcode Bus.emit}.
   */
  emitHeld(records: BusRecord[]): Promise<void> | void {
    if (records.length === 0) return;
    this.emitted += records.length;
    let waits: Promise<void>[] | undefined;
    for (const o of this.#outputs) {
      const sel = o.select(records);
      if (sel.length === 0) continue;
      for (let i = 0; i < sel.length; i++) {
        const t = sel[i].ack;
        if (t !== undefined) t.pending++;
      }
      const p = o.push(sel);
      if (p) (waits ??= []).push(p);
    }
    ackRecords(records);
    if (waits) return waits.length === 1 ? waits[0] : Promise.all(waits).then(() => {});
  }
}
