/**
 * `aggregate`: per stream and window, statistics of the numeric keys.
 *
 * @module
 */
import type { BusRecord, Dict } from "../core/record.ts";
import { makeRecord } from "../core/record.ts";
import { globMatcher } from "../core/glob.ts";
import type * as v from "npm:valibot@^1.1.0";
import type { aggregateSchema } from "./schema.ts";
import { AckHolder, dropRecords, type Processor, type ProcessorContext } from "./processor.ts";

/** The parsed `aggregate` table. */
export type AggregateConfig = v.InferOutput<typeof aggregateSchema>;

/** Running statistics of one key. */
interface KeyStats {
  sum: number;
  min: number;
  max: number;
  last: number;
  count: number;
}

/** What a stream's window holds so far. */
interface StreamWindow {
  time: bigint;
  source: string;
  keys: Map<string, KeyStats>;
  acks: AckHolder;
  /** Records folded in. */
  records: number;
}

/**
 * Folds each stream's records into running statistics and, at the end of each window (one timer for every
 * stream), passes one record per stream that had any: `K_mean`, `K_min`, … per numeric key `K`. The new record
 * carries the acknowledgements of every record it summarises.
 */
export class AggregateProcessor implements Processor {
  readonly #functions: AggregateConfig["functions"];
  readonly #select: (key: string) => boolean;
  #windows = new Map<string, StreamWindow>();
  #timer?: ReturnType<typeof setTimeout>;
  #closed = false;

  /**
   * @param config the table
   * @param ctx the processor's context
   */
  constructor(config: AggregateConfig, readonly ctx: ProcessorContext) {
    this.#functions = config.functions;
    this.#select = globMatcher(config.keys);
    this.#timer = setInterval(() => {
      const out = this.#take();
      if (out.length > 0) this.ctx.emit(out);
    }, config.window);
  }

  /** Folds the records in; passes nothing now (records without a numeric key are dropped). */
  process(records: BusRecord[]): BusRecord[] {
    if (this.#closed) return records;
    let dropped: BusRecord[] | undefined;
    for (const r of records) {
      let w = this.#windows.get(r.stream);
      let hit = false;
      const d = r.data;
      for (const k in d) {
        const raw = d[k];
        if ((typeof raw !== "number" && typeof raw !== "bigint") || !this.#select(k)) continue;
        const v = Number(raw);
        if (Number.isNaN(v)) continue;
        w ??= this.#open(r);
        hit = true;
        const s = w.keys.get(k);
        if (s === undefined) w.keys.set(k, { sum: v, min: v, max: v, last: v, count: 1 });
        else {
          s.sum += v;
          if (v < s.min) s.min = v;
          if (v > s.max) s.max = v;
          s.last = v;
          s.count++;
        }
      }
      if (!hit) {
        (dropped ??= []).push(r);
        continue;
      }
      w!.time = r.time;
      w!.source = r.source;
      w!.acks.take(r);
      w!.records++;
    }
    if (dropped) dropRecords(this.ctx, dropped);
    return [];
  }

  #open(r: BusRecord): StreamWindow {
    const w: StreamWindow = { time: r.time, source: r.source, keys: new Map(), acks: new AckHolder(), records: 0 };
    this.#windows.set(r.stream, w);
    return w;
  }

  /** One record per stream of the window that ends now. */
  #take(): BusRecord[] {
    const windows = this.#windows;
    if (windows.size === 0) return [];
    this.#windows = new Map();
    const out: BusRecord[] = [];
    for (const [stream, w] of windows) {
      const data: Dict = {};
      for (const [k, s] of w.keys) {
        for (const f of this.#functions) data[`${k}_${f}`] = f === "mean" ? s.sum / s.count : s[f];
      }
      const r = makeRecord(stream, w.time, data, w.source);
      const ack = w.acks.group();
      if (ack !== undefined) r.ack = ack;
      out.push(r);
    }
    return out;
  }

  /** Stops the timer; the windows open now pass (`flush`) or are given back. */
  close(flush: boolean): BusRecord[] {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
    if (flush) return this.#take();
    for (const w of this.#windows.values()) {
      this.ctx.stats.dropped += w.records;
      w.acks.release();
    }
    this.#windows.clear();
    return [];
  }
}
