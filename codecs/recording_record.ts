/**
 * What a recording reader yields, whatever the file's format: one record with
 * its stream, its time and its dictionary. Kept apart from `recording.ts`, so
 * that each format's reader can name these types without an import circle.
 *
 * @module
 */
import type { Dict } from "../core/record.ts";

/** One record of a recording, in the order the file holds them. */
export interface RecordingRecord {
  /** Stream name. */
  readonly stream: string;
  /** When it happened, in nanoseconds since the Unix epoch (as recorded). */
  readonly time: bigint;
  /** The dictionary (decoded on first access where the format allows). */
  readonly data: Dict;
  /** The dictionary as one MessagePack map, exactly as recorded, when the file holds it so (`.mpack`). */
  readonly msgpack?: Uint8Array;
  /** Byte offset in the file where the record starts. */
  readonly offset: number;
}

/** Bytes of a recording that hold no record: reported, skipped, and reading goes on after them. */
export interface RecordingProblem {
  /** The recording's path. */
  path: string;
  /** Byte offset of the first bad byte. */
  offset: number;
  /** How many bytes were skipped. */
  length: number;
  /** Why they hold no record. */
  reason: string;
}

/** How to read a recording. */
export interface RecordingOptions {
  /** Stream of the records that name none (`.mpack` without `streamKey`, or no string there); default `recording`. */
  stream?: string;
  /** `.mpack`: take the stream name from this key of each record when it holds a string. */
  streamKey?: string;
  /**
   * `.mpack`: the key whose number is the record's time in seconds since the epoch (default `time`). A record
   * without one gets the time of the record before it (the first timed record's, at the start; the epoch when no
   * record has a time).
   */
  timeKey?: string;
  /** Largest record accepted (default 64 MiB); a larger one is reported as a problem. */
  maxRecordBytes?: number;
  /** Called for every run of bytes that holds no record (default: ignored). */
  onProblem?: (problem: RecordingProblem) => void;
}
