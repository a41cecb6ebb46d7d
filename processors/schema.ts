/**
 * The processors' schemas: one zod object per processor type, with a `type`
 * literal, every option described and its default stated here only. The
 * `processors` key of every input and output table (`config/schema.ts`) is a
 * list of them; `deno task docs` writes docs/processors.md from them.
 *
 * @module
 */
import { z } from "npm:zod@^4.1.12";
import { duration, numeric } from "../config/options.ts";
import { parseCondition } from "./condition.ts";

const globs = (what: string) => z.array(z.string()).describe(what);

/** `filter`: keeps the records of some streams, or those whose key meets a condition. */
export const filterSchema = z.strictObject({
  type: z.literal("filter").describe("`filter`"),
  streams: globs("Keep only these streams (globs; default: all).").optional(),
  exclude: globs("Leave out these streams (globs), even when `streams` selects them.").optional(),
  where: z.string().superRefine((v, ctx) => {
    try {
      parseCondition(v);
    } catch (e) {
      ctx.addIssue({ code: "custom", message: (e as Error).message });
    }
  }).optional().describe(
    "Keep only records whose key meets this condition: `KEY OP VALUE`, OP one of `==` `!=` `<` `<=` `>` `>=`, " +
      'VALUE a number, a quoted string, `true` or `false` (`battery < 20`, `mode == "auto"`). KEY may be a path ' +
      "(`pose/x`). A record without the key, or whose value is of another type, fails the condition.",
  ),
}).describe("Keeps the records of some streams, or those whose key meets a condition; drops the others.");

/** `select`: keeps only some keys. */
export const selectSchema = z.strictObject({
  type: z.literal("select").describe("`select`"),
  keys: globs(
    "Keys to keep, as globs over their paths (`pose/*`, `battery`); a dictionary whose path matches is kept whole.",
  ),
}).describe("Keeps only the keys that match; a record left with no key is dropped.");

/** `drop`: removes some keys. */
export const dropSchema = z.strictObject({
  type: z.literal("drop").describe("`drop`"),
  keys: globs("Keys to remove, as globs over their paths (`debug/*`, `raw`)."),
}).describe("Removes the keys that match; a record left with no key is dropped.");

/** `rename`: renames keys and streams. */
export const renameSchema = z.strictObject({
  type: z.literal("rename").describe("`rename`"),
  keys: z.record(z.string(), z.string()).optional().describe(
    "Old key → new key (top-level keys; flatten first for nested ones).",
  ),
  streams: z.record(z.string(), z.string()).optional().describe("Old stream name → new stream name."),
}).describe("Renames keys and streams (old → new).");

/** `throttle`: at most one record per stream per interval, the newest. */
export const throttleSchema = z.strictObject({
  type: z.literal("throttle").describe("`throttle`"),
  interval: duration().pipe(z.number().gt(0)).describe("At most one record per stream per this long."),
}).describe(
  "At most one record per stream per `interval`, keeping the newest: a stream's first record passes at once, " +
    "the last one of the interval that follows passes at its end (records in between are dropped). What it holds " +
    "is passed on when the part stops.",
);

/** `every`: one record in N per stream. */
export const everySchema = z.strictObject({
  type: z.literal("every").describe("`every`"),
  n: numeric().pipe(z.number().int().min(1)).describe("Pass one record in this many, per stream (the first)."),
}).describe("Passes one record in `n` per stream (the 1st, the n+1st, …) and drops the others.");

/** The functions `aggregate` can compute. */
export const AGGREGATE_FUNCTIONS = ["mean", "min", "max", "last", "count"] as const;

/** `aggregate`: per stream and window, statistics of numeric keys. */
export const aggregateSchema = z.strictObject({
  type: z.literal("aggregate").describe("`aggregate`"),
  window: duration().pipe(z.number().gt(0)).describe("Length of a window."),
  functions: z.array(z.enum(AGGREGATE_FUNCTIONS)).min(1).default(["mean", "min", "max"]).describe(
    "What each output record holds per numeric key `K`: `K_mean`, `K_min`, `K_max`, `K_last`, `K_count`.",
  ),
  keys: globs("Numeric keys to aggregate, as globs (default: every top-level numeric key).").optional(),
}).describe(
  "Per stream and window, replaces the records by one with the mean, min, max, last value or count of each " +
    "top-level numeric key (flatten first for nested ones), at the end of the window; its time is the window's " +
    "last record's. Records with no such key are dropped. What it holds is passed on when the part stops.",
);

/** `flatten`: nested dictionaries to `a/b` keys. */
export const flattenSchema = z.strictObject({
  type: z.literal("flatten").describe("`flatten`"),
  separator: z.string().min(1).default("/").describe("Put between the keys of a path."),
}).describe('Flattens nested dictionaries: `{pose: {x: 1}}` becomes `{"pose/x": 1}`.');

/** Every processor's schema, by type, in the order the docs list them. */
export const processorSchemas = {
  filter: filterSchema,
  select: selectSchema,
  drop: dropSchema,
  rename: renameSchema,
  throttle: throttleSchema,
  every: everySchema,
  aggregate: aggregateSchema,
  flatten: flattenSchema,
} as const;

/** One processor's table: a discriminated union on `type`. */
export const processorSchema = z.discriminatedUnion("type", [
  filterSchema,
  selectSchema,
  dropSchema,
  renameSchema,
  throttleSchema,
  everySchema,
  aggregateSchema,
  flattenSchema,
]);

/** The `processors` key: processors applied in order. */
export const processorsSchema = z.array(processorSchema);

/** A parsed processor table. */
export type ProcessorConfig = z.output<typeof processorSchema>;
/** The type names of the processors. */
export type ProcessorType = ProcessorConfig["type"];

/** An example table of each processor, as the docs show it (a test loads each one). */
export const processorExamples: Record<ProcessorType, string> = {
  filter: `[[outputs.mpack_file.processors]]
type = "filter"
streams = ["robot/*"]
exclude = ["robot/debug"]
where = "battery < 20"`,
  select: `[[outputs.influxdb.processors]]
type = "select"
keys = ["battery", "pose/*"]`,
  drop: `[[outputs.websocket.processors]]
type = "drop"
keys = ["raw", "debug/*"]`,
  rename: `[[inputs.generator.processors]]
type = "rename"
keys = { v = "speed" }
streams = { "gen/a" = "robot/speed" }`,
  throttle: `[[outputs.mpack_file.processors]]
type = "throttle"
interval = "100ms"`,
  every: `[[outputs.dashboard.processors]]
type = "every"
n = 10`,
  aggregate: `[[outputs.influxdb.processors]]
type = "aggregate"
window = "10s"
functions = ["mean", "max", "count"]
keys = ["speed", "battery"]`,
  flatten: `[[inputs.mpack_tail.processors]]
type = "flatten"
separator = "."`,
};
