/**
 * Configuration of the `influxdb` output: one `[[outputs.influxdb]]` table.
 *
 * @module
 */
import { z } from "npm:zod@^4.1.12";
import { byteSize, duration, flag, numeric, outputCommon } from "../../config/schema.ts";

/** The InfluxDB write APIs. */
export const INFLUX_APIS = ["v1", "v2", "v3"] as const;

/** Schema of one `[[outputs.influxdb]]` table. */
export const influxdbSchema = z.strictObject({
  ...outputCommon,
  url: z.string().regex(/^https?:\/\/[^/?#]+\/?[^?#]*$/, "an http:// or https:// URL without query").describe(
    "InfluxDB's base URL, e.g. `http://127.0.0.1:8086` (a path prefix is kept).",
  ),
  api: z.enum(INFLUX_APIS).default("v1").describe(
    "Which write API: `v1` (`POST /write?db=&rp=&precision=n`), `v2` (`POST /api/v2/write?org=&bucket=&precision=ns`) " +
      "or `v3` (`POST /api/v3/write_lp?db=&precision=nanosecond`).",
  ),
  database: z.string().min(1).optional().describe("Database (required with `v1` and `v3`)."),
  retention_policy: z.string().min(1).optional().describe("Retention policy (`rp=`, v1)."),
  org: z.string().min(1).optional().describe("Organization (required with `v2`)."),
  bucket: z.string().min(1).optional().describe("Bucket (required with `v2`)."),
  username: z.string().optional().describe("v1 user name (with `password`)."),
  password: z.string().optional().describe("v1 password (with `username`)."),
  auth: z.enum(["basic", "query"]).default("basic").describe(
    "How v1 credentials travel: `Authorization: Basic …`, or `u=`/`p=` query parameters.",
  ),
  token: z.string().optional().describe("API token: v2 `Authorization: Token <token>`, v3 `Authorization: Bearer …`."),
  measurement: z.string().min(1).optional().describe(
    "Measurement of records that are not point dictionaries (default: the record's stream).",
  ),
  tag_keys: z.array(z.string().min(1)).default([]).describe(
    "Top-level keys whose values become tags (records that are not point dictionaries).",
  ),
  tags: z.record(z.string(), z.string()).default({}).describe("Tags added to every point."),
  separator: z.string().min(1).default("/").describe("Joins the keys of nested maps into field keys."),
  numbers: z.enum(["float", "auto"]).default("float").describe(
    "How numbers are typed: `float`, or `auto` (whole numbers as integers, `2i`).",
  ),
  time_precision: z.enum(["ns", "us", "ms", "s", "m", "h"]).default("ns").describe(
    "Unit of an integer `time` in a point dictionary. Lines are always sent in ns.",
  ),
  batch_size: numeric().pipe(z.number().int().min(1).max(1_000_000)).default(5000).describe(
    "Most points per request; a full buffer is sent at once.",
  ),
  batch_bytes: byteSize().pipe(z.number().int().min(1024)).default(4 * 1024 * 1024).describe(
    "Most bytes of line protocol per request (before gzip).",
  ),
  flush_interval: duration().pipe(z.number().min(1)).default(1000).describe("Longest a point waits in the buffer."),
  gzip: flag().default(false).describe(
    "Gzip request bodies (`Content-Encoding: gzip`); worth it over a network.",
  ),
  send_thread: flag().default(true).describe(
    "Send requests (and gzip them) from a worker thread, so the next batch is encoded while one is on its way; " +
      "`false` saves the thread's memory (~14 MiB RSS).",
  ),
  timeout: duration().pipe(z.number().min(1)).default(10_000).describe("Timeout of one request."),
  retries: numeric().pipe(z.number().int().min(1)).default(3).describe(
    "Attempts of a request before its batch goes to the spool.",
  ),
  retry_initial: duration().pipe(z.number().min(1)).default(250).describe(
    "First retry delay; it doubles with each attempt, with jitter (a random 50–100 % of it).",
  ),
  retry_max: duration().pipe(z.number().min(1)).default(30_000).describe(
    "Longest retry delay; also caps `Retry-After`.",
  ),
  spool_max: byteSize().pipe(z.number().int().min(0)).default(512 * 1024 * 1024).describe(
    "Bound of the disk spool in `data_dir`; `0` disables spooling (points that cannot be delivered are dropped, " +
      "counted).",
  ),
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

/** The parsed `[[outputs.influxdb]]` table (durations in ms, sizes in bytes). See README.md. */
export type InfluxdbConfig = z.output<typeof influxdbSchema>;

/** Where and how one writer writes: the keys of an `[[outputs.influxdb]]` table it uses (the rest at their defaults). */
export type InfluxTarget =
  & Pick<InfluxdbConfig, "url" | "api">
  & Partial<
    Pick<
      InfluxdbConfig,
      | "database"
      | "retention_policy"
      | "org"
      | "bucket"
      | "username"
      | "password"
      | "auth"
      | "token"
      | "gzip"
      | "timeout"
    >
  >;
