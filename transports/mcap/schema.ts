/**
 * Configuration of the `mcap` output: one `[[outputs.mcap]]` table.
 *
 * @module
 */
import { z } from "npm:zod@^4.1.12";
import { byteSize, duration, flag, outputCommon } from "../../config/schema.ts";
import { placeholderProblem } from "../../core/path_template.ts";
import { MCAP_COMPRESSIONS } from "../../codecs/mcap.ts";

/** How each record's map is stored in a message. */
export const MCAP_ENCODINGS = ["json", "msgpack"] as const;
/** One of {@linkcode MCAP_ENCODINGS}. */
export type McapEncoding = typeof MCAP_ENCODINGS[number];

/** Schema of one `[[outputs.mcap]]` table. */
export const mcapSchema = z.strictObject({
  ...outputCommon,
  path: z.string().min(1).refine((p) => !p.endsWith("/"), "path must name a file, not a folder")
    .superRefine((p, ctx) => {
      const problem = placeholderProblem(p);
      if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
    }).describe(
      "File-name template, e.g. `data/robot-{datetime}.mcap`, with the placeholders of `mpack_file` " +
        "(its README, _Path template_). Parent folders are created. An existing file is never appended to: " +
        "a taken name gets `.1`, `.2`… before the extension.",
    ),
  rotate_size: byteSize().pipe(z.number().int().min(1)).optional().describe(
    "Start a new file before a record would push a file with records over about this size (written bytes plus " +
      "the open chunk uncompressed; the summary comes on top).",
  ),
  rotate_interval: duration().pipe(z.number().min(1)).optional().describe(
    "Start a new file at every wall-clock multiple of this duration since the Unix epoch, as `mpack_file` does.",
  ),
  compression: z.enum(MCAP_COMPRESSIONS).default("zstd").describe("Compression of each chunk."),
  encoding: z.enum(MCAP_ENCODINGS).default("json").describe(
    "Message encoding: `json` (with a JSON Schema per channel, inferred from the stream's first record in the " +
      "file; what Foxglove and PlotJuggler decode) or `msgpack` (the record's map as `mpack_file` writes it, " +
      "every value exact; no schema).",
  ),
  chunk_size: byteSize().pipe(z.number().int().min(1024)).default(1024 * 1024).describe(
    "Close a chunk once it holds this many bytes (uncompressed).",
  ),
  flush_interval: duration().pipe(z.number().min(1)).default(1000).describe(
    "Write the open chunk at the latest this long after its first record: the most a `kill -9` loses.",
  ),
  worker: flag().default(true).describe(
    "Make the messages (JSON from each record's MessagePack bytes or map), build and compress the chunks and write " +
      "the files in a worker thread, while the daemon's thread goes on with the next records (see README, " +
      "_Throughput_); `false` does it all in the daemon's thread and saves the worker's memory (~16 MiB RSS).",
  ),
});

/** The parsed `[[outputs.mcap]]` table (durations in ms, sizes in bytes). See README.md. */
export type McapConfig = z.output<typeof mcapSchema>;
