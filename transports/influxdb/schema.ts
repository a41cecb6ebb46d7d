/**
 * Configuration of the `influxdb` output: one `[[outputs.influxdb]]` table.
 *
 * @module
 */
import { z } from "npm:zod@^4.1.12";
import { byteSize, duration, flag, numeric, type OutputCommon, outputCommon } from "../../config/schema.ts";

/** The InfluxDB write APIs. */
export const INFLUX_APIS = ["v1", "v2", "v3"] as const;

/** The parsed `[[outputs.influxdb]]` table (durations in ms, sizes in bytes). See README.md. */
export interface InfluxdbConfig extends OutputCommon {
  /** Base URL of InfluxDB, e.g. `http://127.0.0.1:8086`. */
  url: string;
  /** Which write API: `v1` (`/write`), `v2` (`/api/v2/write`), `v3` (`/api/v3/write_lp`). */
  api: "v1" | "v2" | "v3";
  /** Database (v1, v3). */
  database?: string;
  /** Retention policy (v1). */
  retention_policy?: string;
  /** Organization (v2). */
  org?: string;
  /** Bucket (v2). */
  bucket?: string;
  /** User name (v1). */
  username?: string;
  /** Password (v1). */
  password?: string;
  /** How v1 credentials travel: a basic `Authorization` header, or `u`/`p` query parameters. */
  auth: "basic" | "query";
  /** API token (v2: `Authorization: Token`, v3: `Authorization: Bearer`). */
  token?: string;
  /** Measurement of records that are not point dictionaries (default: the record's stream). */
  measurement?: string;
  /** Keys whose values become tags. */
  tag_keys: string[];
  /** Tags added to every point. */
  tags: Record<string, string>;
  /** Separator of flattened nested keys. */
  separator: string;
  /** How JavaScript numbers are typed: `float`, or `auto` (whole numbers as integers). */
  numbers: "float" | "auto";
  /** Unit of integer times in point dictionaries. */
  time_precision: "ns" | "us" | "ms" | "s" | "m" | "h";
  /** Most points per request. */
  batch_size: number;
  /** Most bytes of line protocol per request. */
  batch_bytes: number;
  /** Longest a point waits in the batch buffer. */
  flush_interval: number;
  /** Gzip request bodies. */
  gzip: boolean;
  /** Send requests from a worker thread, so that the next batch is encoded while one is on its way. */
  send_thread: boolean;
  /** Timeout of one request. */
  timeout: number;
  /** Attempts of a request before the batch goes to the spool. */
  retries: number;
  /** First retry delay (doubles each time, with jitter). */
  retry_initial: number;
  /** Longest retry delay (also the cap of `Retry-After`). */
  retry_max: number;
  /** Bound of the disk spool in bytes. */
  spool_max: number;
}

/** Schema of one `[[outputs.influxdb]]` table. */
export const influxdbSchema: z.ZodType<InfluxdbConfig, unknown> = z.strictObject({
  ...outputCommon,
  url: z.string().regex(/^https?:\/\/[^/?#]+\/?[^?#]*$/, "an http:// or https:// URL without query"),
  api: z.enum(INFLUX_APIS).default("v1"),
  database: z.string().min(1).optional(),
  retention_policy: z.string().min(1).optional(),
  org: z.string().min(1).optional(),
  bucket: z.string().min(1).optional(),
  username: z.string().optional(),
  password: z.string().optional(),
  auth: z.enum(["basic", "query"]).default("basic"),
  token: z.string().optional(),
  measurement: z.string().min(1).optional(),
  tag_keys: z.array(z.string().min(1)).default([]),
  tags: z.record(z.string(), z.string()).default({}),
  separator: z.string().min(1).default("/"),
  numbers: z.enum(["float", "auto"]).default("float"),
  time_precision: z.enum(["ns", "us", "ms", "s", "m", "h"]).default("ns"),
  batch_size: numeric().pipe(z.number().int().min(1).max(1_000_000)).default(5000),
  batch_bytes: byteSize().pipe(z.number().int().min(1024)).default(4 * 1024 * 1024),
  flush_interval: duration().pipe(z.number().min(1)).default(1000),
  gzip: flag().default(false),
  send_thread: flag().default(true),
  timeout: duration().pipe(z.number().min(1)).default(10_000),
  retries: numeric().pipe(z.number().int().min(1)).default(3),
  retry_initial: duration().pipe(z.number().min(1)).default(250),
  retry_max: duration().pipe(z.number().min(1)).default(30_000),
  spool_max: byteSize().pipe(z.number().int().min(0)).default(512 * 1024 * 1024),
}).superRefine((c, ctx) => {
  const need = (key: keyof typeof c, why: string) => {
    if (c[key] === undefined) ctx.addIssue({ code: "custom", message: `${key} is required ${why}`, path: [key] });
  };
  if (c.api === "v1" || c.api === "v3") need("database", `with api = "${c.api}"`);
  if (c.api === "v2") need("org", 'with api = "v2"'), need("bucket", 'with api = "v2"');
  if ((c.username === undefined) !== (c.password === undefined)) {
    ctx.addIssue({ code: "custom", message: "username and password go together", path: ["password"] });
  }
});
