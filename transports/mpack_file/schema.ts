/**
 * Configuration of the `mpack_file` output: one `[[outputs.mpack_file]]` table.
 *
 * @module
 */
import * as v from "npm:valibot@^1.1.0";
import { byteSize, described, duration, flag, outputCommon, table, type TableOutput } from "../../config/schema.ts";
import { placeholderProblem } from "../../core/path_template.ts";

/** When written bytes are forced to disk. */
export const FSYNC_POLICIES = ["never", "interval", "every_batch"] as const;
/** One of {@linkcode FSYNC_POLICIES}. */
export type FsyncPolicy = typeof FSYNC_POLICIES[number];

export { PATH_PLACEHOLDERS } from "../../core/path_template.ts";

/** Schema of one `[[outputs.mpack_file]]` table. */
export const mpackFileSchema = table(v.pipe(
  v.strictObject({
    ...outputCommon,
    path: described(
      v.pipe(
        v.string(),
        v.minLength(1),
        v.check((p) => !p.endsWith("/"), "path must name a file, not a folder"),
        v.check((p) => placeholderProblem(p) === undefined, (i) => placeholderProblem(i.input) ?? ""),
      ),
      "File-name template, e.g. `data/telemetry-{datetime}-{seq}.mpack` (placeholders: README, _Path template_). " +
        "Relative paths are relative to the working directory; parent folders are created.",
    ),
    rotate_size: described(
      v.optional(v.pipe(byteSize(), v.integer(), v.minValue(1))),
      "Start a new file before a record would push a non-empty file over this size. A batch is split across files " +
        "if needed, so a file exceeds the limit only when one record alone is larger than the limit.",
    ),
    rotate_interval: described(
      v.optional(v.pipe(duration(), v.minValue(1))),
      "Start a new file at every wall-clock multiple of this duration since the Unix epoch (hourly files start at " +
        ":00 UTC, daily files at 00:00 UTC). The time placeholders of such a file hold the start of its interval.",
    ),
    fsync: described(
      v.optional(v.picklist(FSYNC_POLICIES), "interval"),
      "When written bytes are forced to disk (README: _Durability_).",
    ),
    fsync_interval: described(v.optional(v.pipe(duration(), v.minValue(1)), "1s"), 'Period of `fsync = "interval"`.'),
    append: described(
      v.optional(flag(), true),
      "When the resolved file exists: append to it after repairing its tail. When `false` (and the template has no " +
        "`{seq}`), pick the next free name by adding `.1`, `.2`… before the extension.",
    ),
    stream_key: described(
      v.optional(v.pipe(v.string(), v.minLength(1))),
      "When set, every map starts with this key holding the record's stream name.",
    ),
    time_key: described(
      v.optional(v.pipe(v.string(), v.minLength(1))),
      "When set, every map gets this key (after `stream_key`) holding the record's time in seconds since the epoch, " +
        "always as float64 (microsecond resolution).",
    ),
  }),
  v.forward(
    v.check((c) => c.stream_key === undefined || c.stream_key !== c.time_key, "stream_key and time_key must differ"),
    ["time_key"],
  ),
));

/** The parsed `[[outputs.mpack_file]]` table (durations in ms, sizes in bytes). See README.md. */
export type MpackFileConfig = TableOutput<typeof mpackFileSchema>;
