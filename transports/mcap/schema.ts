/**
 * Configuration of the `mcap` output: one `[[outputs.mcap]]` table.
 *
 * @module
 */
import * as v from "npm:valibot@^1.1.0";
import { byteSize, described, duration, flag, outputCommon, table, type TableOutput } from "../../config/schema.ts";
import { placeholderProblem } from "../../core/path_template.ts";
import { MCAP_COMPRESSIONS } from "../../codecs/mcap.ts";

/** How each record's map is stored in a message. */
export const MCAP_ENCODINGS = ["json", "msgpack"] as const;
/** One of {@linkcode MCAP_ENCODINGS}. */
export type McapEncoding = typeof MCAP_ENCODINGS[number];

/** Schema of one `[[outputs.mcap]]` table. */
export const mcapSchema = table(v.strictObject({
  ...outputCommon,
  path: described(
    v.pipe(
      v.string(),
      v.minLength(1),
      v.check((p) => !p.endsWith("/"), "path must name a file, not a folder"),
      v.check((p) => placeholderProblem(p) === undefined, (i) => placeholderProblem(i.input) ?? ""),
    ),
    "File-name template, e.g. `data/robot-{datetime}.mcap`, with the placeholders of `mpack_file` " +
      "(its README, _Path template_). Parent folders are created. An existing file is never appended to: " +
      "a taken name gets `.1`, `.2`… before the extension.",
  ),
  rotate_size: described(
    v.optional(v.pipe(byteSize(), v.integer(), v.minValue(1))),
    "Start a new file before a record would push a file with records over about this size (written bytes plus " +
      "the open chunk uncompressed; the summary comes on top).",
  ),
  rotate_interval: described(
    v.optional(v.pipe(duration(), v.minValue(1))),
    "Start a new file at every wall-clock multiple of this duration since the Unix epoch, as `mpack_file` does.",
  ),
  compression: described(v.optional(v.picklist(MCAP_COMPRESSIONS), "zstd"), "Compression of each chunk."),
  encoding: described(
    v.optional(v.picklist(MCAP_ENCODINGS), "json"),
    "Message encoding: `json` (with a JSON Schema per channel, inferred from the stream's first record in the " +
      "file; what Foxglove and PlotJuggler decode) or `msgpack` (the record's map as `mpack_file` writes it, " +
      "every value exact; no schema).",
  ),
  chunk_size: described(
    v.optional(v.pipe(byteSize(), v.integer(), v.minValue(1024)), "1MiB"),
    "Close a chunk once it holds this many bytes (uncompressed).",
  ),
  flush_interval: described(
    v.optional(v.pipe(duration(), v.minValue(1)), "1s"),
    "Write the open chunk at the latest this long after its first record: the most a `kill -9` loses.",
  ),
  worker: described(
    v.optional(flag(), true),
    "Make the messages (JSON from each record's MessagePack bytes or map), build and compress the chunks and write " +
      "the files in a worker thread, while the daemon's thread goes on with the next records (see README, " +
      "_Throughput_); `false` does it all in the daemon's thread and saves the worker's memory (~16 MiB RSS).",
  ),
}));

/** The parsed `[[outputs.mcap]]` table (durations in ms, sizes in bytes). See README.md. */
export type McapConfig = TableOutput<typeof mcapSchema>;
