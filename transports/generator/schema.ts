/**
 * Config schema of the `generator` input.
 *
 * @module
 */
import * as v from "npm:valibot@^1.1.0";
import { described, inputCommon, numeric, table, type TableOutput } from "../../config/schema.ts";

/** One `[[inputs.generator]]` table. */
export const generatorSchema = table(v.strictObject({
  ...inputCommon,
  rate: described(
    v.optional(v.pipe(numeric(), v.minValue(0)), 100),
    "Records per second, all streams together; `0` = as fast as the outputs take them (benchmarks).",
  ),
  streams: described(
    v.optional(v.pipe(v.array(v.pipe(v.string(), v.minLength(1))), v.minLength(1)), ["robot/telemetry"]),
    "Stream names; records go round-robin over them.",
  ),
  keys: described(
    v.optional(v.pipe(numeric(), v.integer(), v.minValue(2), v.maxValue(10_000)), 20),
    "Keys per dictionary, 2 to 10000 (`time` and `seq` included).",
  ),
  count: described(
    v.optional(v.pipe(numeric(), v.integer(), v.minValue(0))),
    "Stop after this many records (default: run until stopped; with `[daemon] exit_when_done` the daemon then stops).",
  ),
  seed: described(
    v.optional(v.pipe(numeric(), v.integer()), 1),
    "Seed of the pseudo-random values: the same seed gives the same values.",
  ),
}));

/** The parsed `generator` config. */
export type GeneratorConfig = TableOutput<typeof generatorSchema>;
