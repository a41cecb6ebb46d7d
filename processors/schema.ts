/**
 * The processors' schemas: one valibot object per processor type, with a `type`
 * literal, every option described and its default stated here only (a
 * processor's own description is in {@linkcode processorDescriptions}: a
 * variant's options must be plain objects). The
 * `processors` key of every input and output table (`config/schema.ts`) is a
 * list of them; `deno task docs` writes docs/processors.md from them.
 *
 * @module
 */
import * as v from "npm:valibot@^1.1.0";
import { described, duration, numeric } from "../config/options.ts";
import { parseCondition } from "./condition.ts";

const globs = (what: string) => described(v.array(v.string()), what);
const optionalGlobs = (what: string) => described(v.optional(v.array(v.string())), what);

/** `filter`: keeps the records of some streams, or those whose key meets a condition. */
export const filterSchema = v.strictObject({
  type: described(v.literal("filter"), "`filter`"),
  streams: optionalGlobs("Keep only these streams (globs; default: all)."),
  exclude: optionalGlobs("Leave out these streams (globs), even when `streams` selects them."),
  where: described(
    v.optional(v.pipe(
      v.string(),
      v.rawCheck(({ dataset, addIssue }) => {
        if (!dataset.typed) return;
        try {
          parseCondition(dataset.value);
        } catch (e) {
          addIssue({ message: (e as Error).message });
        }
      }),
    )),
    "Keep only records whose key meets this condition: `KEY OP VALUE`, OP one of `==` `!=` `<` `<=` `>` `>=`, " +
      'VALUE a number, a quoted string, `true` or `false` (`battery < 20`, `mode == "auto"`). KEY may be a path ' +
      "(`pose/x`). A record without the key, or whose value is of another type, fails the condition.",
  ),
});

/** `select`: keeps only some keys. */
export const selectSchema = v.strictObject({
  type: described(v.literal("select"), "`select`"),
  keys: globs(
    "Keys to keep, as globs over their paths (`pose/*`, `battery`); a dictionary whose path matches is kept whole.",
  ),
});

/** `drop`: removes some keys. */
export const dropSchema = v.strictObject({
  type: described(v.literal("drop"), "`drop`"),
  keys: globs("Keys to remove, as globs over their paths (`debug/*`, `raw`)."),
});

/** `rename`: renames keys and streams. */
export const renameSchema = v.strictObject({
  type: described(v.literal("rename"), "`rename`"),
  keys: described(
    v.optional(v.record(v.string(), v.string())),
    "Old key → new key (top-level keys; flatten first for nested ones).",
  ),
  streams: described(v.optional(v.record(v.string(), v.string())), "Old stream name → new stream name."),
});

/** `throttle`: at most one record per stream per interval, the newest. */
export const throttleSchema = v.strictObject({
  type: described(v.literal("throttle"), "`throttle`"),
  interval: described(v.pipe(duration(), v.gtValue(0)), "At most one record per stream per this long."),
});

/** `every`: one record in N per stream. */
export const everySchema = v.strictObject({
  type: described(v.literal("every"), "`every`"),
  n: described(
    v.pipe(numeric(), v.integer(), v.minValue(1)),
    "Pass one record in this many, per stream (the first).",
  ),
});

/** The functions `aggregate` can compute. */
export const AGGREGATE_FUNCTIONS = ["mean", "min", "max", "last", "count"] as const;

/** `aggregate`: per stream and window, statistics of numeric keys. */
export const aggregateSchema = v.strictObject({
  type: described(v.literal("aggregate"), "`aggregate`"),
  window: described(v.pipe(duration(), v.gtValue(0)), "Length of a window."),
  functions: described(
    v.optional(v.pipe(v.array(v.picklist(AGGREGATE_FUNCTIONS)), v.minLength(1)), ["mean", "min", "max"]),
    "What each output record holds per numeric key `K`: `K_mean`, `K_min`, `K_max`, `K_last`, `K_count`.",
  ),
  keys: optionalGlobs("Numeric keys to aggregate, as globs (default: every top-level numeric key)."),
});

/** `flatten`: nested dictionaries to `a/b` keys. */
export const flattenSchema = v.strictObject({
  type: described(v.literal("flatten"), "`flatten`"),
  separator: described(v.optional(v.pipe(v.string(), v.minLength(1)), "/"), "Put between the keys of a path."),
});

/** What each processor does, as the docs say it. */
export const processorDescriptions: Record<keyof typeof processorSchemas, string> = {
  filter: "Keeps the records of some streams, or those whose key meets a condition; drops the others.",
  select: "Keeps only the keys that match; a record left with no key is dropped.",
  drop: "Removes the keys that match; a record left with no key is dropped.",
  rename: "Renames keys and streams (old → new).",
  throttle: "At most one record per stream per `interval`, keeping the newest: a stream's first record passes at " +
    "once, the last one of the interval that follows passes at its end (records in between are dropped). What it " +
    "holds is passed on when the part stops.",
  every: "Passes one record in `n` per stream (the 1st, the n+1st, …) and drops the others.",
  aggregate: "Per stream and window, replaces the records by one with the mean, min, max, last value or count of " +
    "each top-level numeric key (flatten first for nested ones), at the end of the window; its time is the window's " +
    "last record's. Records with no such key are dropped. What it holds is passed on when the part stops.",
  flatten: 'Flattens nested dictionaries: `{pose: {x: 1}}` becomes `{"pose/x": 1}`.',
};

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
export const processorSchema = v.variant("type", [
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
export const processorsSchema = v.array(processorSchema);

/** A parsed processor table. */
export type ProcessorConfig = v.InferOutput<typeof processorSchema>;
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
