/**
 * Configuration of the `redis_streams` input and output.
 *
 * @module
 */
import * as v from "npm:valibot@^1.1.0";
import {
  described,
  duration,
  inputCommon,
  numeric,
  outputCommon,
  table,
  type TableOutput,
} from "../../config/schema.ts";

/**
 * How a record's dictionary is laid out in a stream entry:
 * - `msgpack` / `json`: one field `d` holding the dictionary encoded;
 * - `bytes`: one field `d` of raw bytes (redis-streamer's layout): the record's data is `{d: bytes}`;
 * - `fields`: one field per top-level key, values as text (numbers parsed back on input).
 */
export const CODECS = ["msgpack", "json", "bytes", "fields"] as const;

const url = described(
  v.optional(v.pipe(v.string(), v.regex(/^rediss?:\/\//, "a redis:// or rediss:// URL")), "redis://127.0.0.1:6379"),
  "The Redis server; `rediss://` for TLS.",
);
const tls_ca = described(
  v.optional(v.string(), ""),
  "With a `rediss://` URL: a PEM file of CAs trusted besides the system's.",
);
const codec = described(
  v.optional(v.picklist(CODECS), "msgpack"),
  "Entry layout: `msgpack` / `json` (one field `d` holding the dictionary encoded), `bytes` (one field `d` of raw " +
    "bytes, redis-streamer's layout: the record's data is `{d: bytes}`), or `fields` (one field per top-level key, " +
    "values as text, numbers parsed back on input).",
);
const tlsCaNeedsRediss = (c: { url: string; tls_ca: string }) => c.tls_ca === "" || c.url.startsWith("rediss://");
const tlsCaProblem = "tls_ca is for a rediss:// url";

/** One `[[inputs.redis_streams]]` table. */
export const redisInputSchema = table(v.pipe(
  v.strictObject({
    ...inputCommon,
    url,
    tls_ca,
    streams: described(
      v.pipe(v.array(v.pipe(v.string(), v.minLength(1))), v.minLength(1)),
      "Stream keys to read; `*`, `?` and `[…]` make patterns, and new matching keys are picked up.",
    ),
    from: described(
      v.optional(v.picklist(["$", "0", "checkpoint"]), "checkpoint"),
      "Where to start a key with no checkpoint: `$` (new entries only) or `0` (everything). Keys appearing later are " +
        "read from their start.",
    ),
    group: described(
      v.optional(v.pipe(v.string(), v.minLength(1))),
      "Consumer group: read with XREADGROUP and XACK once the outputs accepted; created (MKSTREAM) if missing.",
    ),
    consumer: described(
      v.optional(v.pipe(v.string(), v.minLength(1))),
      "This reader's name in the group (default: host and process id).",
    ),
    claim_idle: described(
      v.optional(duration(), "30s"),
      "Claim entries another consumer left pending this long (XAUTOCLAIM); `0` disables.",
    ),
    codec,
    strip_prefix: described(
      v.optional(v.string(), ""),
      "Strip this prefix from keys to form stream names (e.g. `default:` of the streamer's layout).",
    ),
    count: described(v.optional(v.pipe(numeric(), v.integer(), v.minValue(1)), 500), "Most entries per read."),
    block: described(v.optional(duration(), "1s"), "How long one blocking read waits."),
    scan_interval: described(v.optional(duration(), "2s"), "How often patterns are re-scanned for new keys."),
  }),
  v.forward(v.check((c) => tlsCaNeedsRediss(c), tlsCaProblem), ["tls_ca"]),
));

/** The parsed input table. */
export type RedisInputConfig = TableOutput<typeof redisInputSchema>;

/** One `[[outputs.redis_streams]]` table. */
export const redisOutputSchema = table(v.pipe(
  v.strictObject({
    ...outputCommon,
    url,
    tls_ca,
    key: described(
      v.optional(v.pipe(v.string(), v.minLength(1)), "{stream}"),
      "Key of each entry: `{stream}`, `{device}`, `{source}` are replaced (`{device}:{stream}` is redis-streamer's " +
        "layout).",
    ),
    device: described(v.optional(v.string(), "default"), "`{device}` in the key template."),
    maxlen: described(
      v.optional(v.pipe(numeric(), v.integer(), v.minValue(0)), 10_000),
      "Trim each stream to about this many entries (`MAXLEN ~`); `0` keeps everything.",
    ),
    codec,
    retry_for: described(
      v.optional(duration(), "1m"),
      "How long to keep retrying a batch while Redis is away before the write fails (the bus queue holds the rest).",
    ),
  }),
  v.forward(v.check((c) => tlsCaNeedsRediss(c), tlsCaProblem), ["tls_ca"]),
));

/** The parsed output table. */
export type RedisOutputConfig = TableOutput<typeof redisOutputSchema>;
