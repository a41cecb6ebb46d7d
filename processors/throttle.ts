/**
 * `throttle` and `every`: thinning a stream by time or by count.
 *
 * @module
 */
import type { BusRecord } from "../core/record.ts";
import type * as v from "npm:valibot@^1.1.0";
import type { everySchema, throttleSchema } from "./schema.ts";
import { dropRecords, type Processor, type ProcessorContext } from "./processor.ts";

/** The parsed `throttle` table. */
export type ThrottleConfig = v.InferOutput<typeof throttleSchema>;
/** The parsed `every` table. */
export type EveryConfig = v.InferOutput<typeof everySchema>;

/** Most streams remembered; beyond it the counts start again (a source that makes up stream names). */
const MAX_STREAMS = 100_000;

/** A stream's open interval: when it ends, and the newest record since the one passed at its start. */
interface Window {
  end: number;
  held?: BusRecord;
}

/**
 * At most one record per stream per interval: a stream's first record passes at once and opens an interval; the
 * newest record that arrives during it passes when it ends (and opens the next one). One timer serves every stream:
 * intervals all have the same length and open in time order, so they end in the order they were opened.
 */
export class ThrottleProcessor implements Processor {
  readonly #interval: number;
  readonly #windows = new Map<string, Window>();
  /** Streams by the end of their interval, earliest first (`#head` is the first live entry). */
  #ends: { stream: string; end: number }[] = [];
  #head = 0;
  #timer?: ReturnType<typeof setTimeout>;
  #closed = false;

  /**
   * @param config the table
   * @param ctx the processor's context
   * @param now the clock in milliseconds (tests may give their own)
   */
  constructor(
    config: ThrottleConfig,
    readonly ctx: ProcessorContext,
    readonly now: () => number = () => performance.now(),
  ) {
    this.#interval = config.interval;
  }

  /** Passes a stream's first record of an interval; holds the newest of the others. */
  process(records: BusRecord[]): BusRecord[] {
    if (this.#closed) return records;
    const now = this.now();
    const out: BusRecord[] = [];
    let dropped: BusRecord[] | undefined;
    for (const r of records) {
      const w = this.#windows.get(r.stream);
      if (w === undefined) {
        this.#open(r.stream, now);
        out.push(r);
      } else {
        if (w.held !== undefined) (dropped ??= []).push(w.held);
        w.held = r;
      }
    }
    if (dropped) dropRecords(this.ctx, dropped);
    return out;
  }

  #open(stream: string, now: number): void {
    const end = now + this.#interval;
    this.#windows.set(stream, { end });
    this.#ends.push({ stream, end });
    this.#schedule(now);
  }

  #schedule(now: number): void {
    if (this.#timer !== undefined || this.#head >= this.#ends.length) return;
    this.#timer = setTimeout(this.#tick, Math.max(0, this.#ends[this.#head].end - now));
  }

  readonly #tick = (): void => {
    this.#timer = undefined;
    const now = this.now();
    const released: BusRecord[] = [];
    const ends = this.#ends;
    while (this.#head < ends.length && ends[this.#head].end <= now) {
      const { stream } = ends[this.#head++];
      const w = this.#windows.get(stream)!;
      this.#windows.delete(stream);
      if (w.held !== undefined) {
        // The held record passes now and opens the next interval.
        released.push(w.held);
        this.#open(stream, now);
      }
    }
    if (this.#head > 1024 && this.#head * 2 > ends.length) {
      this.#ends = ends.slice(this.#head);
      this.#head = 0;
    }
    this.#schedule(now);
    if (released.length > 0) this.ctx.emit(released);
  };

  /** Stops the timer; the records held pass (`flush`) or are dropped. */
  close(flush: boolean): BusRecord[] {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const held: BusRecord[] = [];
    for (const w of this.#windows.values()) if (w.held !== undefined) held.push(w.held);
    this.#windows.clear();
    this.#ends = [];
    this.#head = 0;
    if (flush) return held;
    dropRecords(this.ctx, held);
    return [];
  }
}

/** One record in `n` per stream: the first, the n+1st, … */
export class EveryProcessor implements Processor {
  readonly #n: number;
  readonly #seen = new Map<string, number>();

  /**
   * @param config the table
   * @param ctx the processor's context
   */
  constructor(config: EveryConfig, readonly ctx: ProcessorContext) {
    this.#n = config.n;
  }

  /** Passes one record in `n` of each stream. */
  process(records: BusRecord[]): BusRecord[] {
    if (this.#n === 1) return records;
    const out: BusRecord[] = [];
    let dropped: BusRecord[] | undefined;
    for (const r of records) {
      let seen = this.#seen.get(r.stream);
      if (seen === undefined && this.#seen.size >= MAX_STREAMS) this.#seen.clear();
      seen ??= 0;
      if (seen % this.#n === 0) out.push(r);
      else (dropped ??= []).push(r);
      this.#seen.set(r.stream, (seen + 1) % this.#n);
    }
    if (dropped) dropRecords(this.ctx, dropped);
    return out;
  }
}
