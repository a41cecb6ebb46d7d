/**
 * Configuration of the `mpack_tail` input: one `[[inputs.mpack_tail]]` table.
 *
 * @module
 */
import { z } from "npm:zod@^4.1.12";
import { byteSize, duration, flag, inputCommon } from "../../config/schema.ts";

/** Schema of one `[[inputs.mpack_tail]]` table. */
export const mpackTailSchema = z.strictObject({
  ...inputCommon,
  path: z.string().min(1, "path must not be empty").describe(
    "A `.mpack` file, or a directory whose newest `*.mpack` file is followed.",
  ),
  from: z.enum(["start", "end", "checkpoint"]).default("checkpoint").describe(
    "Where to begin: the file's start, its current end, or the saved checkpoint (the start when there is none; " +
      "the checkpoint's key is the input's name).",
  ),
  stream: z.string().min(1).optional().describe("Stream name of the records (default: the input's name)."),
  stream_key: z.string().min(1).optional().describe(
    "Take the stream name from this key of each record when it holds a string (else `stream`).",
  ),
  time_key: z.string().min(1).default("time").describe(
    "A number there is the record's time in seconds since the epoch; otherwise the time of reading is used.",
  ),
  flatten: flag().default(false).describe(
    "Flatten nested maps into `a/b/c` keys. Flattened records carry no raw bytes, so outputs re-encode them.",
  ),
  poll_interval: duration().pipe(z.number().min(1, "poll_interval must be at least 1ms")).default(50).describe(
    "How often an idle file is checked for appended data, truncation, rotation and newer files.",
  ),
  max_record_bytes: byteSize().pipe(z.number().int().min(16, "max_record_bytes must be at least 16 B")).default(
    64 * 1024 * 1024,
  ).describe("Largest record accepted; a larger one (or a header that claims more) counts as garbage."),
  torn_after: duration().pipe(z.number().min(1, "torn_after must be at least 1ms")).default(1000).describe(
    "How long an incomplete record may stay at the end of the file before it is declared torn (README: _Recognising a torn record_).",
  ),
});

/** A parsed `[[inputs.mpack_tail]]` table. */
export type MpackTailConfig = z.output<typeof mpackTailSchema>;
