/**
 * Config schema of the `replay` input: one `[[inputs.replay]]` table.
 *
 * @module
 */
import { z } from "npm:zod@^4.1.12";
import { flag, inputCommon, numeric } from "../../config/schema.ts";
import { parseDuration } from "../../config/units.ts";
import { recordingFormatProblem } from "../../codecs/recording.ts";

/** Where a replay begins: an offset after the recording's first record, or an absolute time (ms since the epoch). */
export type ReplayStart = { after_ms: number } | { at_ms: number };

/** An ISO 8601 date with a time: `2026-12-05T08:00:00Z`, `2026-12-05 08:00:00.250+01:00`. */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/i;

/** `start`: seconds or a duration after the first record, or an ISO 8601 time. */
const start = z.union([z.number(), z.string()]).transform((v, ctx): ReplayStart => {
  if (typeof v === "string" && ISO_TIME.test(v.trim())) {
    const ms = Date.parse(v.trim().replace(" ", "T"));
    if (Number.isFinite(ms)) return { at_ms: ms };
    ctx.addIssue({ code: "custom", message: `bad time ${JSON.stringify(v)}` });
    return z.NEVER;
  }
  try {
    return { after_ms: parseDuration(v) };
  } catch (e) {
    ctx.addIssue({
      code: "custom",
      message: `${(e as Error).message}, or an ISO 8601 time such as "2026-12-05T08:00:00Z"`,
    });
    return z.NEVER;
  }
});

/** One `[[inputs.replay]]` table. */
export const replaySchema = z.strictObject({
  ...inputCommon,
  path: z.string().min(1).superRefine((p, ctx) => {
    const problem = recordingFormatProblem(p);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  }).describe(
    "The recording to play, by its extension: `.mpack` (mpacklog's format, as `mpack_file` writes it) or `.mcap` (one channel per stream, as the `mcap` output writes it: topic = stream, log time = time).",
  ),
  speed: numeric().pipe(z.number().min(0)).default(1).describe(
    "Pace: `1` = as recorded, `2` = twice as fast, `0.5` = half as fast; `0` = as fast as the outputs take them.",
  ),
  start: start.optional().describe(
    'Where to begin: seconds (or a duration, `"1m30s"`) after the first record, or an absolute time in ISO 8601 ' +
      '(`"2026-12-05T08:00:00Z"`); records before it are skipped. Default: the first record.',
  ),
  loop: flag().default(false).describe(
    "After the last record start again at `start`, until stopped; each round's times are shifted by the span " +
      "played (plus one mean record interval), so times keep increasing.",
  ),
  streams: z.array(z.string().min(1)).optional().describe(
    "Play only the records whose stream matches one of these globs (`*`, `?`; default: all).",
  ),
  time: z.enum(["original", "now"]).default("original").describe(
    'The records\' time: `"original"` as recorded, or `"now"`: shifted so that the first record played is now. ' +
      "The dictionaries are left as recorded (a `time` key in them keeps its value).",
  ),
  stream: z.string().min(1).optional().describe(
    "`.mpack`: stream name of the records that name none (default: the input's name).",
  ),
  stream_key: z.string().min(1).optional().describe(
    '`.mpack`: take the stream name from this key of each record when it holds a string (`mpack_file`\'s `stream_key`, e.g. `"stream"`).',
  ),
  time_key: z.string().min(1).default("time").describe(
    "`.mpack`: the key holding the record's time in seconds since the epoch. A record without one plays with the " +
      "record before it.",
  ),
});

/** The parsed `replay` config. */
export type ReplayConfig = z.output<typeof replaySchema>;
