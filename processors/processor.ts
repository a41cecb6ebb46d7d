/**
 * What every processor is, and the helpers they share. A processor takes the
 * records of one part (an input's, or one output's copy) and returns those it
 * passes on; it never changes a record (records are shared by every output):
 * it makes new ones.
 *
 * Acknowledgement: every record in a processor's hands holds one count of its
 * `ack` group. A record passed on (or a new record made from it, which takes its
 * `ack`) carries that count on; a record left out gives it back
 * ({@linkcode dropRecords}); an aggregate carries the counts of every record it
 * summarises ({@linkcode AckHolder}). So checkpoints advance past what a
 * processor drops, and not past what it still holds.
 *
 * @module
 */
import { type AckToken, type BusRecord, type Dict, estimateSize } from "../core/record.ts";
import { ackRecords } from "../core/queue.ts";
import type { ProcessorStats } from "../core/stats.ts";

/** What a processor is given. */
export interface ProcessorContext {
  /** Hands records the processor releases later (from a timer) to the processors after it. */
  emit(records: BusRecord[]): void;
  /** Its counters; `dropped` is the processor's to count (see {@linkcode dropRecords}). */
  stats: ProcessorStats;
}

/** One processor. */
export interface Processor {
  /** The records of `records` passed on, in order (new records where it changed them). */
  process(records: BusRecord[]): BusRecord[];
  /**
   * Stops its timers and returns what it holds, to be passed on (`flush`) or, without `flush`, gives it back
   * (acknowledged and counted as dropped) and returns nothing. Records processed after close pass unheld.
   */
  close?(flush: boolean): BusRecord[];
}

/** Leaves records out: counts them as dropped and gives back their acknowledgement. */
export function dropRecords(ctx: ProcessorContext, records: BusRecord[]): void {
  if (records.length === 0) return;
  ctx.stats.dropped += records.length;
  ackRecords(records);
}

/**
 * A new record from `r` with other data and/or stream; it carries `r`'s acknowledgement. The cached encodings
 * (and the size) are kept only when the data is the same object; `size` (queue accounting) is estimated unless given.
 */
export function derive(r: BusRecord, data: Dict, stream: string = r.stream, size?: number): BusRecord {
  const same = data === r.data;
  const out: BusRecord = {
    stream,
    time: r.time,
    data,
    source: r.source,
    size: same ? r.size : size ?? estimateSize(data),
  };
  if (r.meta !== undefined) out.meta = r.meta;
  if (same && r.encoded !== undefined) out.encoded = r.encoded;
  if (r.ack !== undefined) out.ack = r.ack;
  return out;
}

/** Holds the acknowledgement counts of the records an aggregate summarises (one count per record). */
export class AckHolder {
  #held = new Map<AckToken, number>();

  /** Takes over the count `r` holds. */
  take(r: BusRecord): void {
    const t = r.ack;
    if (t !== undefined) this.#held.set(t, (this.#held.get(t) ?? 0) + 1);
  }

  /** Gives every count back now. */
  release(): void {
    const held = this.#held;
    this.#held = new Map();
    for (const [t, n] of held) if ((t.pending -= n) === 0) t.done();
  }

  /** One group that, when acknowledged, gives back every count held so far (undefined when none is held). */
  group(): AckToken | undefined {
    if (this.#held.size === 0) return undefined;
    const held = this.#held;
    this.#held = new Map();
    return {
      pending: 1,
      done: () => {
        for (const [t, n] of held) if ((t.pending -= n) === 0) t.done();
      },
    };
  }
}
