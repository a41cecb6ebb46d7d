/**
 * `dump` and `list` on an `.mcap` recording: its messages in file order,
 * handed on as the `.mpack` reader hands records (only `value` matters to
 * them), so both commands print an MCAP file as they print a log.
 *
 * @module
 */
import type { MpackRecordItem } from "../codecs/mpack_stream.ts";
import { readMcapRecords } from "../codecs/mcap_read.ts";

/** What {@linkcode readMcapLog} needs of the command (dump.ts's writer and warnings, without importing it). */
export interface McapLogSink {
  /** Handles a batch of records. */
  onRecords(items: MpackRecordItem[]): Promise<void> | void;
  /** Flushes stdout (before a warning). */
  flush(): Promise<void>;
  /** True once stdout is gone. */
  readonly closed: boolean;
  /** Prints a line on stderr. */
  warn(line: string): void;
}

/** Reads every message of `path` into `sink`; returns the exit code (1 when the file cannot be read). */
export async function readMcapLog(path: string, prog: string, sink: McapLogSink): Promise<number> {
  let torn: string | undefined;
  let batch: MpackRecordItem[] = [];
  try {
    for await (
      const r of readMcapRecords(path, (e) => {
        if (!e.complete) torn = e.error ?? "no summary";
      })
    ) {
      batch.push({ kind: "record", value: r.data, start: 0, end: 0, raw: r.raw });
      if (batch.length >= 256) {
        await sink.onRecords(batch);
        batch = [];
        if (sink.closed) return 0;
      }
    }
    if (batch.length > 0) await sink.onRecords(batch);
  } catch (err) {
    await sink.flush();
    sink.warn(`${prog}: cannot read '${path}': ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
  await sink.flush();
  if (torn !== undefined) sink.warn(`${prog}: '${path}' ends without its footer (${torn}): read its whole chunks`);
  return 0;
}
