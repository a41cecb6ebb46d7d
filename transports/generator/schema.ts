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
  /** Records per second, all streams together; 0 = as fast as the outputs take them. */
  rate: numeric().pipe(z.number().min(0)).default(100),
  /** Stream names; records go round-robin over them. */
  streams: z.array(z.string().min(1)).min(1).default(["robot/telemetry"]),
  /** Keys per dictionary (at least 2: `time` and `seq`). */
  keys: numeric().pipe(z.number().int().min(2).max(10_000)).default(20),
  /** Stop after this many records (default: run until stopped). */
  count: numeric().pipe(z.number().int().min(0)).optional(),
  /** Seed of the pseudo-random values, for reproducible data. */
  seed: numeric().pipe(z.number().int()).default(1),
});

/** The parsed `generator` config. */
export type GeneratorConfig = z.output<typeof generatorSchema>;
