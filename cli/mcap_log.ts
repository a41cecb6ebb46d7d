/**
 * `dump` and `list` on an `.mcap` recording: its messages in file order,
 * handed on as the `.mpack` reader hands records (only `value` matters to
 * them), so both commands print an MCAP file as they print a log.
 *
 * @module
 */
import type { MpackRecordItem } from "../codecs/mpack_stream.ts";
import { readMcapRecords } from "../codecs/mcap_read.ts";

const EMPTY = new Uint8Array(0);

/** What {@linkcode readMcapLog} needs of the command (dump.ts's writer and warnings, without importing it). */
export interface McapLogSink {
  /** Handles one record, synchronously (the item is only valid during the call). */
  onRecord(item: MpackRecordItem): void;
  /** Flushes stdout (after each message batch and before a warning). */
  flush(): void;
  /** True once stdout is gone. */
  readonly closed: boolean;
  /** Prints a line on stderr. */
  warn(line: string): void;
}

/** Reads every message of `path` into `sink`; returns the exit code (1 when the file cannot be read). */
export async function readMcapLog(path: string, prog: string, sink: McapLogSink): Promise<number> {
  let torn: string | undefined;
  let n = 0;
  try {
    for await (
      const r of readMcapRecords(path, (e) => {
        if (!e.complete) torn = e.error ?? "no summary";
      })
    ) {
      // MessagePack messages are the record's map as mpack_file writes it, so dump and list may walk the bytes;
      // JSON messages hand on only the decoded map (an empty span makes the byte walks give up and decode).
      const raw = r.encoding === "msgpack" ? r.raw : EMPTY;
      sink.onRecord({ kind: "record", value: r.data, start: 0, end: raw.length, raw });
      if (++n % 256 === 0) {
        sink.flush();
        if (sink.closed) return 0;
      }
    }
  } catch (err) {
    sink.flush();
    sink.warn(`${prog}: cannot read '${path}': ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
  sink.flush();
  if (torn !== undefined) sink.warn(`${prog}: '${path}' ends without its footer (${torn}): read its whole chunks`);
  return 0;
}
