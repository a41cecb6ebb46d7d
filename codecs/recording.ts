/**
 * Recordings, whatever their format: {@linkcode openRecording} picks the
 * reader by the file's extension and yields every record with its stream,
 * time and dictionary, in file order. The `replay` input plays them; `.mpack`
 * (mpacklog's format) is read here.
 *
 * @module
 */
import { extname } from "node:path";
import { readMpackRecording } from "./mpack_recording.ts";
import { readMcapRecording } from "./mcap_recording.ts";
import type { RecordingOptions, RecordingRecord } from "./recording_record.ts";

export type { RecordingOptions, RecordingProblem, RecordingRecord } from "./recording_record.ts";

/** A recording format's reader: the records of the file at `path`. */
export type RecordingReader = (path: string, options: RecordingOptions) => AsyncIterable<RecordingRecord>;

/** The reader of each known extension (lower case, with its dot). */
const READERS: Record<string, RecordingReader> = {
  ".mpack": readMpackRecording,
  ".mcap": readMcapRecording,
};

/** The extensions {@linkcode openRecording} reads (with their dot). */
export const RECORDING_EXTENSIONS: readonly string[] = Object.keys(READERS);

/** Why `path` cannot be read as a recording, or undefined when its extension is known. */
export function recordingFormatProblem(path: string): string | undefined {
  const ext = extname(path).toLowerCase();
  if (Object.hasOwn(READERS, ext)) return undefined;
  return `${path}: ${ext ? `"${ext}" is no recording format` : "no extension"} (known: ${
    RECORDING_EXTENSIONS.join(", ")
  })`;
}

/**
 * The records of the recording at `path`, read by the reader of its extension
 * (`.mpack`, `.mcap`). Throws at once for an unknown extension; the iteration throws
 * when the file cannot be opened (naming it), and reports bytes that hold no
 * record to `options.onProblem` (with file and offset) and goes on.
 */
export function openRecording(path: string, options: RecordingOptions = {}): AsyncIterable<RecordingRecord> {
  const problem = recordingFormatProblem(path);
  if (problem) throw new Error(`cannot read recording ${problem}`);
  return READERS[extname(path).toLowerCase()](path, options);
}
