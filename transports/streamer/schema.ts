/**
 * Configuration of the `streamer` transport: `[[inputs.streamer]]` (pushed
 * entries onto the bus) and `[[outputs.streamer]]` (bus records into the
 * store). Both name a `store`; tables naming the same store share one store
 * and one API, so their store keys must agree.
 *
 * @module
 */
import { z } from "npm:zod@^4.1.12";
import { byteSize, flag, inputCommon, numeric, outputCommon } from "../../config/schema.ts";
import { graphqlLimitOptions, prefixed } from "../../config/graphql_limits.ts";

const apiPath = z.string().regex(/^\/[^?#*]*[^/?#*]$/, "a path starting with / and not ending with /");

/** Keys of the store and its API, the same in both tables. */
export const storeKeys = {
  store: z.string().regex(/^[A-Za-z0-9_.-]+$/, "store names use letters, digits, _ - . only").default("default")
    .describe("Name of the shared store: an input and an output naming the same store serve one API."),
  path: apiPath.default("/data").describe(
    "Route prefix of the API: `<path>/{sid}`, `<path>/{sid}/push`, `<path>/{sid}/pull`.",
  ),
  maxlen: numeric().pipe(z.number().int().min(1)).default(1000).describe(
    "Entries kept per stream, trimmed approximately like `XADD MAXLEN ~` (the original's `REDIS_STREAM_MAXLEN`).",
  ),
  max_stream_bytes: byteSize().pipe(z.number().int().min(1024)).default(64 * 1024 * 1024).describe(
    "Bytes kept per stream; the oldest entries are trimmed beyond it (the newest always stays).",
  ),
  max_streams: numeric().pipe(z.number().int().min(1)).default(10_000).describe(
    "Most streams in the store; an entry for a new stream beyond it is refused (a clear error to the client).",
  ),
  max_message_bytes: byteSize().pipe(z.number().int().min(16)).default(16 * 1024 * 1024).describe(
    "Largest pushed WebSocket message, and largest posted entry.",
  ),
  max_clients: numeric().pipe(z.number().int().min(1)).default(1000).describe(
    "Most push and pull sockets at once; more get 503.",
  ),
  max_buffered: byteSize().pipe(z.number().int().min(1024)).default(4 * 1024 * 1024).describe(
    "A pull waits while its socket holds more unsent bytes than this (no unbounded buffering).",
  ),
  device_prefixing: flag().default(true).describe(
    "Keys are `{device_id}:{prefix}{sid}`; `false` gives `{prefix}{sid}` (the original's " +
      "`DISABLE_MULTI_DEVICE_PREFIXING=1`).",
  ),
  redis_url: z.string().regex(/^rediss?:\/\//, "a redis:// or rediss:// URL").optional().describe(
    "Run the store on this Redis (`redis://host:port[/db]`, `rediss://` for TLS) in redis-streamer's key layout " +
      "instead of in memory, so that telebus and the original server can share it. `max_stream_bytes` and " +
      "`max_streams` do not apply there.",
  ),
  tls_ca: z.string().default("").describe(
    "With a `rediss://` `redis_url`: a PEM file of CAs trusted besides the system's.",
  ),
  graphql: flag().default(false).describe(
    "Serve redis-streamer's GraphQL schema on this store (one table of a store is enough).",
  ),
  graphql_path: apiPath.default("/graphql").describe(
    "Where the store's GraphQL lives; merged there with `[[outputs.graphql]]`'s schema when that uses the same path.",
  ),
  // The limits of the graphql output's endpoint: same meaning, same errors and codes.
  ...prefixed("graphql_", graphqlLimitOptions),
};

/** The store keys as parsed. */
export type StoreConfig = z.output<z.ZodObject<typeof storeKeys>>;

/** Keys that only one of the tables sharing a store needs to set (GraphQL is served when any asks for it). */
export const GRAPHQL_KEY_NAMES: readonly (keyof StoreConfig)[] = [
  "graphql",
  "graphql_path",
  "graphql_max_depth",
  "graphql_max_query_bytes",
  "graphql_max_aliases",
  "graphql_max_fields",
  "graphql_max_cost",
  "graphql_max_subscriptions_per_connection",
  "graphql_max_subscriptions",
];

/** Names of the keys that tables sharing a store must agree on. */
export const STORE_KEY_NAMES = Object.keys(storeKeys).filter((k) =>
  k !== "store" && !(GRAPHQL_KEY_NAMES as readonly string[]).includes(k)
) as (keyof StoreConfig)[];

/** Schema of one `[[inputs.streamer]]` table. */
export const streamerInputSchema = z.strictObject({
  ...inputCommon,
  ...storeKeys,
  decode: z.enum(["none", "msgpack", "json"]).default("none").describe(
    "Record data: `{d: <bytes>}` (`none`), or the entry decoded (a non-dictionary value becomes `{value: …}`; " +
      "undecodable bytes stay `{d: …}` and count as `decode_errors`).",
  ),
});

/** The parsed `[[inputs.streamer]]` table. */
export type StreamerInputConfig = z.output<typeof streamerInputSchema>;

/** Schema of one `[[outputs.streamer]]` table. */
export const streamerOutputSchema = z.strictObject({
  ...outputCommon,
  ...storeKeys,
  format: z.enum(["msgpack", "json"]).default("msgpack").describe(
    "Encoding of a record's data in the entry (encoded once per record).",
  ),
  device_id: z.string().regex(/^[^*:]+$/, "a device id without * or :").default("default").describe(
    "Device of the keys bus records are stored under: `{device_id}:{stream}`.",
  ),
});

/** The parsed `[[outputs.streamer]]` table. */
export type StreamerOutputConfig = z.output<typeof streamerOutputSchema>;
