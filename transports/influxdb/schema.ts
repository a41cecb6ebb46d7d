/**
 * Configuration of the `influxdb` output: one `[[outputs.influxdb]]` table.
 *
 * @module
 */
import * as v from "npm:valibot@^1.1.0";
import {
  byteSize,
  described,
  duration,
  flag,
  numeric,
  outputCommon,
  table,
  type TableOutput,
} from "../../config/schema.ts";

/** The InfluxDB write APIs. */
export const INFLUX_APIS = ["v1", "v2", "v3"] as const;

/** Schema of one `[[outputs.influxdb]]` table. */
export const influxdbSchema = table(v.pipe(
  v.strictObject({
    ...outputCommon,
    url: described(
      v.pipe(v.string(), v.regex(/^https?:\/\/[^/?#]+\/?[^?#]*$/, "an http:// or https:// URL without query")),
      "InfluxDB's base URL, e.g. `http://127.0.0.1:8086` (a path prefix is kept).",
    ),
    api: described(
      v.optional(v.picklist(INFLUX_APIS), "v1"),
      "Which write API: `v1` (`POST /write?db=&rp=&precision=n`), `v2` (`POST /api/v2/write?org=&bucket=&precision=ns`) " +
        "or `v3` (`POST /api/v3/write_lp?db=&precision=nanosecond`).",
    ),
    database: described(v.optional(v.pipe(v.string(), v.minLength(1))), "Database (required with `v1` and `v3`)."),
    retention_policy: described(v.optional(v.pipe(v.string(), v.minLength(1))), "Retention policy (`rp=`, v1)."),
    org: described(v.optional(v.pipe(v.string(), v.minLength(1))), "Organization (required with `v2`)."),
    bucket: described(v.optional(v.pipe(v.string(), v.minLength(1))), "Bucket (required with `v2`)."),
    username: described(v.optional(v.string()), "v1 user name (with `password`)."),
    password: described(v.optional(v.string()), "v1 password (with `username`)."),
    auth: described(
      v.optional(v.picklist(["basic", "query"]), "basic"),
      "How v1 credentials travel: `Authorization: Basic …`, or `u=`/`p=` query parameters.",
    ),
    token: described(
      v.optional(v.string()),
      "API token: v2 `Authorization: Token <token>`, v3 `Authorization: Bearer …`.",
    ),
    measurement: described(
      v.optional(v.pipe(v.string(), v.minLength(1))),
      "Measurement of records that are not point dictionaries (default: the record's stream).",
    ),
    tag_keys: described(
      v.optional(v.array(v.pipe(v.string(), v.minLength(1))), []),
      "Top-level keys whose values become tags (records that are not point dictionaries).",
    ),
    tags: described(v.optional(v.record(v.string(), v.string()), {}), "Tags added to every point."),
    separator: described(
      v.optional(v.pipe(v.string(), v.minLength(1)), "/"),
      "Joins the keys of nested maps into field keys.",
    ),
    numbers: described(
      v.optional(v.picklist(["float", "auto"]), "float"),
      "How numbers are typed: `float`, or `auto` (whole numbers as integers, `2i`).",
    ),
    time_precision: described(
      v.optional(v.picklist(["ns", "us", "ms", "s", "m", "h"]), "ns"),
      "Unit of an integer `time` in a point dictionary. Lines are always sent in ns.",
    ),
    batch_size: described(
      v.optional(v.pipe(numeric(), v.integer(), v.minValue(1), v.maxValue(1_000_000)), 5000),
      "Most points per request; a full buffer is sent at once.",
    ),
    batch_bytes: described(
      v.optional(v.pipe(byteSize(), v.integer(), v.minValue(1024)), "4MiB"),
      "Most bytes of line protocol per request (before gzip).",
    ),
    flush_interval: described(
      v.optional(v.pipe(duration(), v.minValue(1)), "1s"),
      "Longest a point waits in the buffer.",
    ),
    gzip: described(
      v.optional(flag(), false),
      "Gzip request bodies (`Content-Encoding: gzip`); worth it over a network.",
    ),
    send_thread: described(
      v.optional(flag(), true),
      "Send requests (and gzip them) from a worker thread, so the next batch is encoded while one is on its way; " +
        "`false` saves the thread's memory (~14 MiB RSS).",
    ),
    timeout: described(v.optional(v.pipe(duration(), v.minValue(1)), "10s"), "Timeout of one request."),
    retries: described(
      v.optional(v.pipe(numeric(), v.integer(), v.minValue(1)), 3),
      "Attempts of a request before its batch goes to the spool.",
    ),
    retry_initial: described(
      v.optional(v.pipe(duration(), v.minValue(1)), "250ms"),
      "First retry delay; it doubles with each attempt, with jitter (a random 50–100 % of it).",
    ),
    retry_max: described(
      v.optional(v.pipe(duration(), v.minValue(1)), "30s"),
      "Longest retry delay; also caps `Retry-After`.",
    ),
    spool_max: described(
      v.optional(v.pipe(byteSize(), v.integer(), v.minValue(0)), "512MiB"),
      "Bound of the disk spool in `data_dir`; `0` disables spooling (points that cannot be delivered are dropped, " +
        "counted).",
    ),
  }),
  v.forward(
    v.check(
      (c) => c.api === "v2" || c.database !== undefined,
      (i) => `database is required with api = "${i.input.api}"`,
    ),
    ["database"],
  ),
  v.forward(v.check((c) => c.api !== "v2" || c.org !== undefined, 'org is required with api = "v2"'), ["org"]),
  v.forward(v.check((c) => c.api !== "v2" || c.bucket !== undefined, 'bucket is required with api = "v2"'), ["bucket"]),
  v.forward(
    v.check((c) => (c.username === undefined) === (c.password === undefined), "username and password go together"),
    ["password"],
  ),
));

/** The parsed `[[outputs.influxdb]]` table (durations in ms, sizes in bytes). See README.md. */
export type InfluxdbConfig = TableOutput<typeof influxdbSchema>;

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
