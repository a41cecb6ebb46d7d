/**
 * `filter`: streams by glob, records by a condition on a key.
 *
 * @module
 */
import type { BusRecord, Value } from "../core/record.ts";
import { globMatcher } from "../core/glob.ts";
import { lookupPath } from "../core/flatten.ts";
import type { filterSchema } from "./schema.ts";
import type * as v from "npm:valibot@^1.1.0";
import { type Condition, parseCondition } from "./condition.ts";
import { dropRecords, type Processor, type ProcessorContext } from "./processor.ts";

/** The parsed `filter` table. */
export type FilterConfig = v.InferOutput<typeof filterSchema>;

/** True when `v` meets `c` (a missing key or a value of another type does not). */
export function meets(c: Condition, v: Value | undefined): boolean {
  const x = typeof v === "bigint" ? Number(v) : v;
  if (typeof x !== typeof c.value) return false;
  const a = x as number | string | boolean, b = c.value;
  switch (c.op) {
    case "==":
      return a === b;
    case "!=":
      return a !== b;
    case "<":
      return a < b;
    case "<=":
      return a <= b;
    case ">":
      return a > b;
    case ">=":
      return a >= b;
  }
}

/** Keeps the records of the selected streams that meet the condition. */
export class FilterProcessor implements Processor {
  readonly #include?: (s: string) => boolean;
  readonly #exclude?: (s: string) => boolean;
  readonly #where?: Condition;

  /**
   * @param config the table
   * @param ctx the processor's context
   */
  constructor(config: FilterConfig, readonly ctx: ProcessorContext) {
    if (config.streams?.length) this.#include = globMatcher(config.streams);
    if (config.exclude?.length) this.#exclude = globMatcher(config.exclude);
    if (config.where !== undefined) this.#where = parseCondition(config.where);
  }

  /** Keeps the records that pass, in order; the array itself when all pass. */
  process(records: BusRecord[]): BusRecord[] {
    let kept: BusRecord[] | undefined;
    let dropped: BusRecord[] | undefined;
    for (let i = 0; i < records.length; i++) {
      const r = records[i];
      if (this.#passes(r)) {
        kept?.push(r);
        continue;
      }
      kept ??= records.slice(0, i);
      (dropped ??= []).push(r);
    }
    if (dropped) dropRecords(this.ctx, dropped);
    return kept ?? records;
  }

  #passes(r: BusRecord): boolean {
    if (this.#include && !this.#include(r.stream)) return false;
    if (this.#exclude && this.#exclude(r.stream)) return false;
    const w = this.#where;
    return w === undefined || meets(w, lookupPath(r.data, w.path));
  }
}
