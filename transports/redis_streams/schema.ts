/**
 * Configuration of the `redis_streams` input and output.
 *
 * @module
 */
import { z } from "npm:zod@^4.1.12";
import { duration, inputCommon, numeric, outputCommon } from "../../config/schema.ts";

/**
 * How a record's dictionary is laid out in a stream entry:
 * - `msgpack` / `json`: one field `d` holding the dictionary encoded;
 * - `bytes`: one field `d` of raw bytes (redis-streamer's layout): the record's data is `{d: bytes}`;
 * - `fields`: one field per top-level key, values as text (numbers parsed back on input).
 */
export const CODECS = ["msgpack", "json", "bytes", "fields"] as const;

const url = z.string().regex(/^rediss?:\/\//, "a redis:// or rediss:// URL").default("redis://127.0.0.1:6379").describe(
  "The Redis server; `rediss://` for TLS.",
);
const tls_ca = z.string().default("").describe(
  "With a `rediss://` URL: a PEM file of CAs trusted besides the system's.",
);
const codec = z.enum(CODECS).default("msgpack").describe(
  "Entry layout: `msgpack` / `json` (one field `d` holding the dictionary encoded), `bytes` (one field `d` of raw " +
    "bytes, redis-streamer's layout: the record's data is `{d: bytes}`), or `fields` (one field per top-level key, " +
    "values as text, numbers parsed back on input).",
);
const tlsCaNeedsRediss = (c: { url: string; tls_ca: string }) => c.tls_ca === "" || c.url.startsWith("rediss://");
const tlsCaProblem = { message: "tls_ca is for a rediss:// url", path: ["tls_ca"] };

/** One `[[inputs.redis_streams]]` table. */
export const redisInputSchema = z.strictObject({
  ...inputCommon,
  url,
  tls_ca,
  streams: z.array(z.string().min(1)).min(1).describe(
    "Stream keys to read; `*`, `?` and `[…]` make patterns, and new matching keys are picked up.",
  ),
  from: z.enum(["$", "0", "checkpoint"]).default("checkpoint").describe(
    "Where to start a key with no checkpoint: `$` (new entries only) or `0` (everything). Keys appearing later are " +
      "read from their start.",
  ),
  group: z.string().min(1).optional().describe(
    "Consumer group: read with XREADGROUP and XACK once the outputs accepted; created (MKSTREAM) if missing.",
  ),
  consumer: z.string().min(1).optional().describe("This reader's name in the group (default: host and process id)."),
  claim_idle: duration().default(30_000).describe(
    "Claim entries another consumer left pending this long (XAUTOCLAIM); `0` disables.",
  ),
  codec,
  strip_prefix: z.string().default("").describe(
    "Strip this prefix from keys to form stream names (e.g. `default:` of the streamer's layout).",
  ),
  count: numeric().pipe(z.number().int().min(1)).default(500).describe("Most entries per read."),
  block: duration().default(1000).describe("How long one blocking read waits."),
  scan_interval: duration().default(2000).describe("How often patterns are re-scanned for new keys."),
}).refine(tlsCaNeedsRediss, tlsCaProblem);

/** The parsed input table. */
export type RedisInputConfig = z.output<typeof redisInputSchema>;

/** One `[[outputs.redis_streams]]` table. */
export const redisOutputSchema = z.strictObject({
  ...outputCommon,
  url,
  tls_ca,
  key: z.string().min(1).default("{stream}").describe(
    "Key of each entry: `{stream}`, `{device}`, `{source}` are replaced (`{device}:{stream}` is redis-streamer's " +
      "layout).",
  ),
  device: z.string().default("default").describe("`{device}` in the key template."),
  maxlen: numeric().pipe(z.number().int().min(0)).default(10_000).describe(
    "Trim each stream to about this many entries (`MAXLEN ~`); `0` keeps everything.",
  ),
  codec,
  retry_for: duration().default(60_000).describe(
    "How long to keep retrying a batch while Redis is away before the write fails (the bus queue holds the rest).",
  ),
}).refine(tlsCaNeedsRediss, tlsCaProblem);

/** The parsed output table. */
export type RedisOutputConfig = z.output<typeof redisOutputSchema>;
