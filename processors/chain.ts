/**
 * The processors of one part, in order: what an input's records go through
 * before the bus, and what an output's copy goes through before its queue.
 *
 * @module
 */
import type { BusRecord } from "../core/record.ts";
import { ProcessorStats } from "../core/stats.ts";
import type { ProcessorConfig } from "./schema.ts";
import type { Processor, ProcessorContext } from "./processor.ts";
import { FilterProcessor } from "./filter.ts";
import { DropProcessor, RenameProcessor, SelectProcessor } from "./keys.ts";
import { EveryProcessor, ThrottleProcessor } from "./throttle.ts";
import { AggregateProcessor } from "./aggregate.ts";
import { FlattenProcessor } from "./flatten.ts";

/** Builds one processor from its table. */
export function createProcessor(config: ProcessorConfig, ctx: ProcessorContext): Processor {
  switch (config.type) {
    case "filter":
      return new FilterProcessor(config, ctx);
    case "select":
      return new SelectProcessor(config, ctx);
    case "drop":
      return new DropProcessor(config, ctx);
    case "rename":
      return new RenameProcessor(config, ctx);
    case "throttle":
      return new ThrottleProcessor(config, ctx);
    case "every":
      return new EveryProcessor(config, ctx);
    case "aggregate":
      return new AggregateProcessor(config, ctx);
    case "flatten":
      return new FlattenProcessor(config, ctx);
  }
}

/**
 * Processors applied in order. Records a processor releases later (a throttle's held record, an aggregate) go
 * through the processors after it and then to `sink`; so does what they hold when the chain closes.
 */
export class ProcessorChain {
  /** The counters of each processor, in order. */
  readonly stats: ProcessorStats[];
  readonly #processors: Processor[];
  #closed = false;

  /**
   * Builds the processors of `configs` (their timers start now).
   *
   * @param configs the `processors` tables
   * @param sink where records released later go (the bus for an input, the queue for an output)
   */
  constructor(configs: readonly ProcessorConfig[], readonly sink: (records: BusRecord[]) => void) {
    this.stats = configs.map((c, i) => new ProcessorStats(i, c.type));
    this.#processors = configs.map((c, i) => {
      const ctx: ProcessorContext = {
        stats: this.stats[i],
        emit: (records) => {
          this.stats[i].out += records.length;
          const out = this.#run(i + 1, records);
          if (out.length > 0) this.sink(out);
        },
      };
      return createProcessor(c, ctx);
    });
  }

  /** The records passed on by every processor, in order. */
  process(records: BusRecord[]): BusRecord[] {
    return this.#run(0, records);
  }

  #run(from: number, records: BusRecord[]): BusRecord[] {
    const ps = this.#processors;
    for (let i = from; i < ps.length && records.length > 0; i++) {
      const s = this.stats[i];
      s.in += records.length;
      records = ps[i].process(records);
      s.out += records.length;
    }
    return records;
  }

  /**
   * Stops the timers. With `flush` (the part stops, or a reload replaces the chain), what the processors hold
   * goes on to `sink`; without, it is dropped and acknowledged (records a reload discards).
   */
  close(flush = true): void {
    if (this.#closed) return;
    this.#closed = true;
    for (let i = 0; i < this.#processors.length; i++) {
      const held = this.#processors[i].close?.(flush) ?? [];
      if (held.length === 0) continue;
      this.stats[i].out += held.length;
      const out = this.#run(i + 1, held);
      if (out.length > 0) this.sink(out);
    }
  }
}
