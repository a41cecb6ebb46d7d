/**
 * Config schema of the `replay` input: one `[[inputs.replay]]` table.
 *
 * @module
 */
import * as v from "npm:valibot@^1.1.0";
import { described, flag, inputCommon, numeric, table, type TableOutput } from "../../config/schema.ts";
import { parseDuration } from "../../config/units.ts";
import { recordingFormatProblem } from "../../codecs/recording.ts";

/** Where a replay begins: an offset after the recording's first record, or an absolute time (ms since the epoch). */
export type ReplayStart = { after_ms: number } | { at_ms: number };

/** An ISO 8601 date with a time: `2026-12-05T08:00:00Z`, `2026-12-05 08:00:00.250+01:00`. */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/i;

/** `start`: seconds or a duration after the first record, or an ISO 8601 time. */
const start = v.pipe(
  v.union([v.number(), v.string()]),
  v.rawTransform(({ dataset, addIssue, NEVER }): ReplayStart => {
    const value = dataset.value;
    if (typeof value === "string" && ISO_TIME.test(value.trim())) {
      const ms = Date.parse(value.trim().replace(" ", "T"));
      if (Number.isFinite(ms)) return { at_ms: ms };
      addIssue({ message: `bad time ${JSON.stringify(value)}` });
      return NEVER;
    }
    try {
      return { after_ms: parseDuration(value) };
    } catch (e) {
      addIssue({ message: `${(e as Error).message}, or an ISO 8601 time such as "2026-12-05T08:00:00Z"` });
      return NEVER;
    }
  }),
);

/** One `[[inputs.replay]]` table. */
export const replaySchema = table(v.strictObject({
  ...inputCommon,
  path: described(
    v.pipe(
      v.string(),
      v.minLength(1),
      v.check((p) => !recordingFormatProblem(p), (i) => recordingFormatProblem(i.input) ?? ""),
    ),
    "The recording to play, by its extension: `.mpack` (mpacklog's format, as `mpack_file` writes it) or `.mcap` (one channel per stream, as the `mcap` output writes it: topic = stream, log time = time).",
  ),
  speed: described(
    v.optional(v.pipe(numeric(), v.minValue(0)), 1),
    "Pace: `1` = as recorded, `2` = twice as fast, `0.5` = half as fast; `0` = as fast as the outputs take them.",
  ),
  start: described(
    v.optional(start),
    'Where to begin: seconds (or a duration, `"1m30s"`) after the first record, or an absolute time in ISO 8601 ' +
      '(`"2026-12-05T08:00:00Z"`); records before it are skipped. Default: the first record.',
  ),
  loop: described(
    v.optional(flag(), false),
    "After the last record start again at `start`, until stopped; each round's times are shifted by the span " +
      "played (plus one mean record interval), so times keep increasing.",
  ),
  streams: described(
    v.optional(v.array(v.pipe(v.string(), v.minLength(1)))),
    "Play only the records whose stream matches one of these globs (`*`, `?`; default: all).",
  ),
  time: described(
    v.optional(v.picklist(["original", "now"]), "original"),
    'The records\' time: `"original"` as recorded, or `"now"`: shifted so that the first record played is now. ' +
      "The dictionaries are left as recorded (a `time` key in them keeps its value).",
  ),
  stream: described(
    v.optional(v.pipe(v.string(), v.minLength(1))),
    "`.mpack`: stream name of the records that name none (default: the input's name).",
  ),
  stream_key: described(
    v.optional(v.pipe(v.string(), v.minLength(1))),
    '`.mpack`: take the stream name from this key of each record when it holds a string (`mpack_file`\'s `stream_key`, e.g. `"stream"`).',
  ),
  time_key: described(
    v.optional(v.pipe(v.string(), v.minLength(1)), "time"),
    "`.mpack`: the key holding the record's time in seconds since the epoch. A record without one plays with the " +
      "record before it.",
  ),
}));

/** The parsed `replay` config. */
export type ReplayConfig = TableOutput<typeof replaySchema>;
