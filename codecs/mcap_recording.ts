/**
 * The `.mcap` reader of {@linkcode openRecording}: an MCAP file's messages in
 * file order, one record each (topic → stream, log time → time). MessagePack
 * messages keep their bytes (`msgpack`), so a replay passes them on unchanged.
 *
 * @module
 */
import { readMcapRecords } from "./mcap_read.ts";
import type { RecordingOptions, RecordingRecord } from "./recording_record.ts";

/**
 * Reads the MCAP recording at `path`. A torn end (a writer that died before the footer) is reported through
 * `options.onProblem` with the offset 0 and length 0 (MCAP's stream reader does not say where the damage begins), after
 * every whole chunk before it was read.
 */
export async function* readMcapRecording(
  path: string,
  options: RecordingOptions = {},
): AsyncGenerator<RecordingRecord> {
  let torn: string | undefined;
  for await (
    const r of readMcapRecords(path, (e) => {
      if (!e.complete) torn = e.error ?? "the file ends without its footer";
    })
  ) {
    yield {
      stream: r.stream,
      time: r.time,
      data: r.data,
      msgpack: r.encoding === "msgpack" ? r.raw : undefined,
      offset: 0,
    };
  }
  if (torn !== undefined) options.onProblem?.({ path, offset: 0, length: 0, reason: torn });
}
