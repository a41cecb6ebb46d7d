/**
 * Configuration of the `mpack_tail` input: one `[[inputs.mpack_tail]]` table.
 *
 * @module
 */
import * as v from "npm:valibot@^1.1.0";
import { byteSize, described, duration, flag, inputCommon, table, type TableOutput } from "../../config/schema.ts";

/** Schema of one `[[inputs.mpack_tail]]` table. */
export const mpackTailSchema = table(v.strictObject({
  ...inputCommon,
  path: described(
    v.pipe(v.string(), v.minLength(1, "path must not be empty")),
    "A `.mpack` file, or a directory whose newest `*.mpack` file is followed.",
  ),
  from: described(
    v.optional(v.picklist(["start", "end", "checkpoint"]), "checkpoint"),
    "Where to begin: the file's start, its current end, or the saved checkpoint (the start when there is none; " +
      "the checkpoint's key is the input's name).",
  ),
  stream: described(
    v.optional(v.pipe(v.string(), v.minLength(1))),
    "Stream name of the records (default: the input's name).",
  ),
  stream_key: described(
    v.optional(v.pipe(v.string(), v.minLength(1))),
    "Take the stream name from this key of each record when it holds a string (else `stream`).",
  ),
  time_key: described(
    v.optional(v.pipe(v.string(), v.minLength(1)), "time"),
    "A number there is the record's time in seconds since the epoch; otherwise the time of reading is used.",
  ),
  flatten: described(
    v.optional(flag(), false),
    "Flatten nested maps into `a/b/c` keys. Flattened records carry no raw bytes, so outputs re-encode them.",
  ),
  poll_interval: described(
    v.optional(v.pipe(duration(), v.minValue(1, "poll_interval must be at least 1ms")), "50ms"),
    "How often an idle file is checked for appended data, truncation, rotation and newer files.",
  ),
  max_record_bytes: described(
    v.optional(v.pipe(byteSize(), v.integer(), v.minValue(16, "max_record_bytes must be at least 16 B")), "64MiB"),
    "Largest record accepted; a larger one (or a header that claims more) counts as garbage.",
  ),
  torn_after: described(
    v.optional(v.pipe(duration(), v.minValue(1, "torn_after must be at least 1ms")), "1s"),
    "How long an incomplete record may stay at the end of the file before it is declared torn (README: _Recognising a torn record_).",
  ),
}));

/** A parsed `[[inputs.mpack_tail]]` table. */
export type MpackTailConfig = TableOutput<typeof mpackTailSchema>;
