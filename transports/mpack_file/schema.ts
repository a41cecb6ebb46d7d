/**
 * Configuration of the `mpack_file` output: one `[[outputs.mpack_file]]` table.
 *
 * @module
 */
import { z } from "npm:zod@^4.1.12";
import { byteSize, duration, flag, type OutputCommon, outputCommon } from "../../config/schema.ts";

/** When written bytes are forced to disk. */
export const FSYNC_POLICIES = ["never", "interval", "every_batch"] as const;
/** One of {@linkcode FSYNC_POLICIES}. */
export type FsyncPolicy = typeof FSYNC_POLICIES[number];

/** The placeholders a `path` template may hold. */
export const PATH_PLACEHOLDERS = ["name", "date", "time", "datetime", "started", "seq", "host"] as const;

/** Names every `{...}` of a template that is not a known placeholder. */
function unknownPlaceholders(template: string): string[] {
  const known: readonly string[] = PATH_PLACEHOLDERS;
  return [...template.matchAll(/\{([^{}]*)\}/g)].map((m) => m[1]).filter((p) => !known.includes(p));
}

/** The parsed `[[outputs.mpack_file]]` table (durations in ms, sizes in bytes). See README.md. */
export interface MpackFileConfig extends OutputCommon {
  /** File-name template with `{name}`, `{date}`, `{time}`, `{datetime}`, `{started}`, `{seq}`, `{host}`. */
  path: string;
  /** Start a new file before one would grow beyond this many bytes. */
  rotate_size?: number;
  /** Start a new file at every wall-clock multiple of this many ms. */
  rotate_interval?: number;
  /** When bytes are forced to disk. */
  fsync: FsyncPolicy;
  /** Period of `fsync = "interval"`, in ms. */
  fsync_interval: number;
  /** Append to an existing file after repairing its tail, instead of picking a new name. */
  append: boolean;
  /** Key holding the record's stream name, first in every map. */
  stream_key?: string;
  /** Key holding the record's time in seconds (float64), in every map. */
  time_key?: string;
}

/** Schema of one `[[outputs.mpack_file]]` table. The explicit type keeps the public API free of zod internals. */
export const mpackFileSchema: z.ZodType<MpackFileConfig, unknown> = z.strictObject({
  ...outputCommon,
  /** File-name template, e.g. `data/telemetry-{datetime}-{seq}.mpack`; parent folders are created. */
  path: z.string().min(1).refine((p) => !p.endsWith("/"), "path must name a file, not a folder")
    .superRefine((p, ctx) => {
      const bad = unknownPlaceholders(p);
      if (bad.length > 0) {
        ctx.addIssue({
          code: "custom",
          message: `unknown placeholder ${bad.map((b) => `{${b}}`).join(", ")}; known: ${
            PATH_PLACEHOLDERS.map((k) => `{${k}}`).join(" ")
          }`,
        });
      }
    }),
  /** Start a new file before one would grow beyond this many bytes. */
  rotate_size: byteSize().pipe(z.number().int().min(1)).optional(),
  /** Start a new file at every wall-clock multiple of this duration (ms). */
  rotate_interval: duration().pipe(z.number().min(1)).optional(),
  /** When bytes are forced to disk (default `interval`). */
  fsync: z.enum(FSYNC_POLICIES).default("interval"),
  /** Period of `fsync = "interval"` in ms (default 1 s). */
  fsync_interval: duration().pipe(z.number().min(1)).default(1000),
  /** Append to an existing file (after repairing a torn tail) instead of picking a new name (default true). */
  append: flag().default(true),
  /** When set, each written map starts with this key holding the record's stream name. */
  stream_key: z.string().min(1).optional(),
  /** When set, each written map starts with this key holding the record's time in seconds (float64). */
  time_key: z.string().min(1).optional(),
}).refine((c) => c.stream_key === undefined || c.stream_key !== c.time_key, {
  message: "stream_key and time_key must differ",
  path: ["time_key"],
});
