/**
 * Configuration of the `mpack_file` output: one `[[outputs.mpack_file]]` table.
 *
 * @module
 */
import { z } from "npm:zod@^4.1.12";
import { byteSize, duration, flag, outputCommon } from "../../config/schema.ts";
import { placeholderProblem } from "../../core/path_template.ts";

/** When written bytes are forced to disk. */
export const FSYNC_POLICIES = ["never", "interval", "every_batch"] as const;
/** One of {@linkcode FSYNC_POLICIES}. */
export type FsyncPolicy = typeof FSYNC_POLICIES[number];

export { PATH_PLACEHOLDERS } from "../../core/path_template.ts";

/** Schema of one `[[outputs.mpack_file]]` table. */
export const mpackFileSchema = z.strictObject({
  ...outputCommon,
  path: z.string().min(1).refine((p) => !p.endsWith("/"), "path must name a file, not a folder")
    .superRefine((p, ctx) => {
      const problem = placeholderProblem(p);
      if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
    }).describe(
      "File-name template, e.g. `data/telemetry-{datetime}-{seq}.mpack` (placeholders: README, _Path template_). " +
        "Relative paths are relative to the working directory; parent folders are created.",
    ),
  rotate_size: byteSize().pipe(z.number().int().min(1)).optional().describe(
    "Start a new file before a record would push a non-empty file over this size. A batch is split across files " +
      "if needed, so a file exceeds the limit only when one record alone is larger than the limit.",
  ),
  rotate_interval: duration().pipe(z.number().min(1)).optional().describe(
    "Start a new file at every wall-clock multiple of this duration since the Unix epoch (hourly files start at " +
      ":00 UTC, daily files at 00:00 UTC). The time placeholders of such a file hold the start of its interval.",
  ),
  fsync: z.enum(FSYNC_POLICIES).default("interval").describe(
    "When written bytes are forced to disk (README: _Durability_).",
  ),
  fsync_interval: duration().pipe(z.number().min(1)).default(1000).describe('Period of `fsync = "interval"`.'),
  append: flag().default(true).describe(
    "When the resolved file exists: append to it after repairing its tail. When `false` (and the template has no " +
      "`{seq}`), pick the next free name by adding `.1`, `.2`… before the extension.",
  ),
  stream_key: z.string().min(1).optional().describe(
    "When set, every map starts with this key holding the record's stream name.",
  ),
  time_key: z.string().min(1).optional().describe(
    "When set, every map gets this key (after `stream_key`) holding the record's time in seconds since the epoch, " +
      "always as float64 (microsecond resolution).",
  ),
}).refine((c) => c.stream_key === undefined || c.stream_key !== c.time_key, {
  message: "stream_key and time_key must differ",
  path: ["time_key"],
});

/** The parsed `[[outputs.mpack_file]]` table (durations in ms, sizes in bytes). See README.md. */
export type MpackFileConfig = z.output<typeof mpackFileSchema>;
