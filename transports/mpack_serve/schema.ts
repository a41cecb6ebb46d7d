/**
 * Configuration of the `mpack_serve` output: one `[[outputs.mpack_serve]]` table.
 *
 * @module
 */
import { z } from "npm:zod@^4.1.12";
import { flag, numeric, outputCommon } from "../../config/schema.ts";

/** Schema of one `[[outputs.mpack_serve]]` table. */
export const mpackServeSchema = z.strictObject({
  ...outputCommon,
  /** Where mpackview connects: `host:port` (mpacklog's port is 4747; it binds every interface, telebus loopback). */
  listen: z.string().regex(/^(\[[^\]]*\]|[^:]*):\d+$/, "expected host:port").default("127.0.0.1:4747"),
  /** Most clients connected at once; more are refused (closed at once). */
  max_clients: numeric().pipe(z.number().int().min(1)).default(64),
  /**
   * Serve on a non-loopback address although `[daemon] token` is set: mpacklog's clients cannot send a token,
   * so anyone who reaches the port reads the records.
   */
  public: flag().default(false),
});

/** The parsed `[[outputs.mpack_serve]]` table. */
export interface MpackServeConfig {
  /** Unique among outputs. */
  name?: string;
  /** Input names that feed this output (default: all). */
  inputs?: string[];
  /** Stream globs that feed this output (default: all). */
  streams?: string[];
  /** Queue policy. */
  when_full: "block" | "drop_oldest" | "drop_newest" | "latest";
  /** Queue bound in records. */
  queue_records: number;
  /** Queue bound in bytes. */
  queue_bytes: number;
  /** Most records per write. */
  batch_records: number;
  /** `host:port` to listen on. */
  listen: string;
  /** Most clients at once. */
  max_clients: number;
  /** Serve a non-loopback address although the daemon has a token. */
  public: boolean;
}

// The interface is written out for the docs; this fails to compile when it drifts from the schema.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Assert<T extends true> = T;
type _MpackServeConfigMatchesSchema = Assert<Same<z.output<typeof mpackServeSchema>, MpackServeConfig>>;
