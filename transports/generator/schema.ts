/**
 * Config schema of the `generator` input.
 *
 * @module
 */
import { z } from "npm:zod@^4.1.12";
import { inputCommon, numeric } from "../../config/schema.ts";

/** One `[[inputs.generator]]` table. */
export const generatorSchema = z.strictObject({
  ...inputCommon,
  rate: numeric().pipe(z.number().min(0)).default(100).describe(
    "Records per second, all streams together; `0` = as fast as the outputs take them (benchmarks).",
  ),
  streams: z.array(z.string().min(1)).min(1).default(["robot/telemetry"]).describe(
    "Stream names; records go round-robin over them.",
  ),
  keys: numeric().pipe(z.number().int().min(2).max(10_000)).default(20).describe(
    "Keys per dictionary, 2 to 10000 (`time` and `seq` included).",
  ),
  count: numeric().pipe(z.number().int().min(0)).optional().describe(
    "Stop after this many records (default: run until stopped; with `[daemon] exit_when_done` the daemon then stops).",
  ),
  seed: numeric().pipe(z.number().int()).default(1).describe(
    "Seed of the pseudo-random values: the same seed gives the same values.",
  ),
});

/** The parsed `generator` config. */
export type GeneratorConfig = z.output<typeof generatorSchema>;
