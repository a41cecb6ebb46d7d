/**
 * `flatten`: nested dictionaries to `a/b` keys.
 *
 * @module
 */
import type { BusRecord } from "../core/record.ts";
import { flatten } from "../core/flatten.ts";
import type * as v from "npm:valibot@^1.1.0";
import type { flattenSchema } from "./schema.ts";
import { derive, type Processor, type ProcessorContext } from "./processor.ts";

/** The parsed `flatten` table. */
export type FlattenConfig = v.InferOutput<typeof flattenSchema>;

/** Flattens each record's dictionary; a flat record passes as it is (its encodings kept). */
export class FlattenProcessor implements Processor {
  /**
   * @param config the table
   * @param ctx the processor's context
   */
  constructor(readonly config: FlattenConfig, readonly ctx: ProcessorContext) {}

  /** The records, flattened. */
  process(records: BusRecord[]): BusRecord[] {
    const out: BusRecord[] = new Array(records.length);
    for (let i = 0; i < records.length; i++) {
      const r = records[i];
      const d = flatten(r.data, this.config.separator);
      out[i] = d === r.data ? r : derive(r, d);
    }
    return out;
  }
}
