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
  /** A `.mpack` file, or a directory whose newest `*.mpack` file is followed. */
  path: z.string().min(1, "path must not be empty"),
  /** Where to begin: the file's start, its end, or the saved checkpoint (else the start). */
  from: z.enum(["start", "end", "checkpoint"]).default("checkpoint"),
  /** Stream name of the records (default: the input's name). */
  stream: z.string().min(1).optional(),
  /** Take the stream name from this key of each record when it holds a string. */
  stream_key: z.string().min(1).optional(),
  /** Key holding the record's time in seconds since the epoch; without it the time of reading is used. */
  time_key: z.string().min(1).default("time"),
  /** Flatten nested maps into `a/b/c` keys (the records then carry no raw MessagePack bytes). */
  flatten: flag().default(false),
  /** How often an idle file is checked for new data, truncation and rotation (default 50 ms). */
  poll_interval: duration().pipe(z.number().min(1, "poll_interval must be at least 1ms")).default(50),
  /** Largest record accepted; a longer one counts as garbage (default 64 MiB). */
  max_record_bytes: byteSize().pipe(z.number().int().min(16, "max_record_bytes must be at least 16 B")).default(
    64 * 1024 * 1024,
  ),
  /** How long an incomplete record may stay at the end of the file before it is declared torn (default 1 s). */
  torn_after: duration().pipe(z.number().min(1, "torn_after must be at least 1ms")).default(1000),
});

/** A parsed `[[inputs.mpack_tail]]` table (see {@linkcode mpackTailSchema} for the meaning of each key). */
export interface MpackTailConfig {
  /** Unique among inputs; also the records' `source`. */
  name?: string;
  /** A `.mpack` file or a directory. */
  path: string;
  /** Where to begin. */
  from: "start" | "end" | "checkpoint";
  /** Stream name of the records (default: the input's name). */
  stream?: string;
  /** Key of each record that names its stream. */
  stream_key?: string;
  /** Key of each record that holds its time in seconds since the epoch. */
  time_key: string;
  /** Flatten nested maps into `a/b/c` keys. */
  flatten: boolean;
  /** Milliseconds between checks of an idle file. */
  poll_interval: number;
  /** Largest record in bytes. */
  max_record_bytes: number;
  /** Milliseconds an incomplete record may stay at the end of the file before it is declared torn. */
  torn_after: number;
}

// The interface is written out for the docs; this fails to compile when it drifts from the schema.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Assert<T extends true> = T;
type _MpackTailConfigMatchesSchema = Assert<Same<z.output<typeof mpackTailSchema>, MpackTailConfig>>;
