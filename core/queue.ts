/**
 * The bounded queue in front of every output, with its policy for when it is
 * full: `block` (back-pressure to the inputs), `drop_oldest`, `drop_newest`,
 * or `latest` (keep only the newest record of each stream).
 *
 * @module
 */
import type { BusRecord } from "./record.ts";
import type { PartStats } from "./stats.ts";
import type { FullPolicy } from "../config/schema.ts";

// What a queue does when a record does not fit: the values of `when_full`, defined once with its schema.
export type { FullPolicy };

/** Limits and policy of an {@linkcode OutputQueue}. */
export interface QueueOptions {
  /** Most records held. */
  maxRecords: number;
  /** Most bytes held (by `BusRecord.size`); a single larger record is let in when the queue is empty. */
  maxBytes: number;
  /** What happens when full. */
  policy: FullPolicy;
  /** Where drops are counted. */
  stats: PartStats;
  /** Called with every record the queue drops, so that its acknowledgement is not lost. */
  onDrop?: (records: BusRecord[]) => void;
}

/** Counts a record's acknowledgement group down; runs `done` at zero. */
export function ackRecords(records: readonly BusRecord[]): void {
  for (let i = 0; i < records.length; i++) {
    const t = records[i].ack;
    if (t !== undefined && --t.pending === 0) t.done();
  }
}

/**
 * A FIFO of records, bounded in count and bytes. One consumer takes batches;
 * any number of producers push.
 */
export class OutputQueue {
  /** Items live in `#items[#head..]`; the array is compacted when the head passes half. */
  #items: BusRecord[] = [];
  #head = 0;
  #bytes = 0;
  #closed = false;
  /** Resolves the consumer waiting for records. */
  #wakeConsumer?: () => void;
  /** Producers waiting for room (block policy), in arrival order. */
  #waiters: (() => void)[] = [];
  /** The blocked push in progress (block policy): later pushes queue behind it to keep order. */
  #blocked?: Promise<void>;
  readonly #opts: QueueOptions;

  /**
   * Creates an empty queue.
   *
   * @param options limits, policy and counters
   */
  constructor(options: QueueOptions) {
    this.#opts = options;
    options.stats.gauges.set("queue_records", () => this.length);
    options.stats.gauges.set("queue_bytes", () => this.#bytes);
    options.stats.gauges.set("queue_capacity_records", () => options.maxRecords);
  }

  /** Records held now. */
  get length(): number {
    return this.#items.length - this.#head;
  }

  /**
   * Array slots in use, records already taken included: stays below twice
   * {@linkcode OutputQueue.length} plus 1024 however long the queue runs.
   */
  get slots(): number {
    return this.#items.length;
  }

  /** Bytes held now. */
  get bytes(): number {
    return this.#bytes;
  }

  /** True once {@linkcode OutputQueue.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  #fits(size: number): boolean {
    const n = this.length;
    return n === 0 || (n < this.#opts.maxRecords && this.#bytes + size <= this.#opts.maxBytes);
  }

  #append(r: BusRecord): void {
    this.#items.push(r);
    this.#bytes += r.size;
  }

  #shift(): BusRecord {
    const r = this.#items[this.#head++];
    this.#bytes -= r.size;
    this.#compact();
    return r;
  }

  /**
   * Drops the taken records from the front of the array once they are half
   * of it: a queue that is never quite empty (a consumer that keeps up) would
   * otherwise hold on to every record it ever passed. Amortised O(1).
   */
  #compact(): void {
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
  }

  #dropped(reason: string, records: BusRecord[]): void {
    this.#opts.stats.drop(reason, records.length);
    this.#opts.onDrop?.(records);
  }

  /** Keeps only the newest queued record of each stream. Returns how many were dropped. */
  #coalesce(): number {
    const live = this.#items.slice(this.#head);
    const newest = new Map<string, number>();
    for (let i = 0; i < live.length; i++) newest.set(live[i].stream, i);
    if (newest.size === live.length) return 0;
    const kept: BusRecord[] = [];
    const dropped: BusRecord[] = [];
    let bytes = 0;
    for (let i = 0; i < live.length; i++) {
      if (newest.get(live[i].stream) === i) {
        kept.push(live[i]);
        bytes += live[i].size;
      } else dropped.push(live[i]);
    }
    this.#items = kept;
    this.#head = 0;
    this.#bytes = bytes;
    this.#dropped("latest", dropped);
    return dropped.length;
  }

  /**
   * Adds records. Returns a promise only when the policy is `block` and some
   * records had to wait for room; it resolves when all are queued.
   * Pushing to a closed queue drops the records (counted as `closed`).
   */
  push(records: readonly BusRecord[]): Promise<void> | void {
    if (this.#closed) {
      this.#dropped("closed", records.slice());
      return;
    }
    const policy = this.#opts.policy;
    if (this.#blocked) return this.#chainBlocked(records, 0);
    for (let i = 0; i < records.length; i++) {
      const r = records[i];
      if (this.#fits(r.size)) {
        this.#append(r);
        continue;
      }
      switch (policy) {
        case "block":
          this.#wake();
          return this.#chainBlocked(records, i);
        case "drop_newest":
          this.#dropped("drop_newest", [r]);
          continue;
        case "latest":
          if (this.#coalesce() > 0 && this.#fits(r.size)) {
            this.#append(r);
            continue;
          }
          // More distinct streams than room: fall back to dropping the oldest.
          // falls through
        case "drop_oldest": {
          const dropped: BusRecord[] = [];
          while (!this.#fits(r.size)) dropped.push(this.#shift());
          this.#dropped(policy, dropped);
          this.#append(r);
        }
      }
    }
    this.#wake();
  }

  #chainBlocked(records: readonly BusRecord[], from: number): Promise<void> {
    const run = (this.#blocked ?? Promise.resolve()).then(() => this.#pushBlocked(records, from));
    const tail = run.finally(() => {
      if (this.#blocked === tail) this.#blocked = undefined;
    });
    this.#blocked = tail;
    return tail;
  }

  async #pushBlocked(records: readonly BusRecord[], from: number): Promise<void> {
    for (let i = from; i < records.length; i++) {
      const r = records[i];
      while (!this.#fits(r.size)) {
        if (this.#closed) {
          this.#dropped("closed", records.slice(i));
          return;
        }
        await new Promise<void>((resolve) => this.#waiters.push(resolve));
      }
      if (this.#closed) {
        this.#dropped("closed", records.slice(i));
        return;
      }
      this.#append(r);
      this.#wake();
    }
  }

  #wake(): void {
    const w = this.#wakeConsumer;
    if (w && this.length > 0) {
      this.#wakeConsumer = undefined;
      w();
    }
  }

  #release(): void {
    // Let every waiting producer re-check: each takes what fits and waits again otherwise.
    const ws = this.#waiters;
    if (ws.length === 0) return;
    this.#waiters = [];
    for (const w of ws) w();
  }

  /**
   * Takes up to `max` records, waiting until at least one is there.
   * Returns null once the queue is closed and empty.
   */
  async take(max: number): Promise<BusRecord[] | null> {
    while (this.length === 0) {
      if (this.#closed) return null;
      await new Promise<void>((resolve) => this.#wakeConsumer = resolve);
    }
    const n = Math.min(max, this.length);
    let batch: BusRecord[];
    if (this.#head === 0 && n === this.#items.length) {
      batch = this.#items;
      this.#items = [];
      this.#bytes = 0;
    } else {
      batch = this.#items.slice(this.#head, this.#head + n);
      this.#head += n;
      for (const r of batch) this.#bytes -= r.size;
      if (this.#head === this.#items.length) {
        this.#items = [];
        this.#head = 0;
      } else this.#compact();
    }
    this.#release();
    return batch;
  }

  /**
   * Resolves once no producer waits for room (`block` policy): every record
   * pushed so far is queued (or was dropped by the policy).
   */
  async settled(): Promise<void> {
    while (this.#blocked) await this.#blocked;
  }

  /** Changes the bounds and the policy (a reload); records already queued stay, even beyond a smaller bound. */
  setLimits(maxRecords: number, maxBytes: number, policy: FullPolicy): void {
    this.#opts.maxRecords = maxRecords;
    this.#opts.maxBytes = maxBytes;
    this.#opts.policy = policy;
    this.#release();
  }

  /** No more pushes: the consumer drains what is left, then `take` returns null. */
  close(): void {
    this.#closed = true;
    const w = this.#wakeConsumer;
    this.#wakeConsumer = undefined;
    w?.();
    this.#release();
  }
}
