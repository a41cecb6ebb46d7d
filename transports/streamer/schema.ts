/**
 * Configuration of the `streamer` transport: `[[inputs.streamer]]` (pushed
 * entries onto the bus) and `[[outputs.streamer]]` (bus records into the
 * store). Both name a `store`; tables naming the same store share one store
 * and one API, so their store keys must agree.
 *
 * @module
 */
import * as v from "npm:valibot@^1.1.0";
import {
  byteSize,
  described,
  flag,
  inputCommon,
  numeric,
  outputCommon,
  table,
  type TableOutput,
} from "../../config/schema.ts";
import { graphqlLimitOptions, prefixed } from "../../config/graphql_limits.ts";

const apiPath = v.pipe(v.string(), v.regex(/^\/[^?#*]*[^/?#*]$/, "a path starting with / and not ending with /"));

/** Keys of the store and its API, the same in both tables. */
export const storeKeys = {
  store: described(
    v.optional(
      v.pipe(v.string(), v.regex(/^[A-Za-z0-9_.-]+$/, "store names use letters, digits, _ - . only")),
      "default",
    ),
    "Name of the shared store: an input and an output naming the same store serve one API.",
  ),
  path: described(
    v.optional(apiPath, "/data"),
    "Route prefix of the API: `<path>/{sid}`, `<path>/{sid}/push`, `<path>/{sid}/pull`.",
  ),
  maxlen: described(
    v.optional(v.pipe(numeric(), v.integer(), v.minValue(1)), 1000),
    "Entries kept per stream, trimmed approximately like `XADD MAXLEN ~` (the original's `REDIS_STREAM_MAXLEN`).",
  ),
  max_stream_bytes: described(
    v.optional(v.pipe(byteSize(), v.integer(), v.minValue(1024)), "64MiB"),
    "Bytes kept per stream; the oldest entries are trimmed beyond it (the newest always stays).",
  ),
  max_streams: described(
    v.optional(v.pipe(numeric(), v.integer(), v.minValue(1)), 10_000),
    "Most streams in the store; an entry for a new stream beyond it is refused (a clear error to the client).",
  ),
  max_message_bytes: described(
    v.optional(v.pipe(byteSize(), v.integer(), v.minValue(16)), "16MiB"),
    "Largest pushed WebSocket message, and largest posted entry.",
  ),
  max_clients: described(
    v.optional(v.pipe(numeric(), v.integer(), v.minValue(1)), 1000),
    "Most push and pull sockets at once; more get 503.",
  ),
  max_buffered: described(
    v.optional(v.pipe(byteSize(), v.integer(), v.minValue(1024)), "4MiB"),
    "A pull waits while its socket holds more unsent bytes than this (no unbounded buffering).",
  ),
  device_prefixing: described(
    v.optional(flag(), true),
    "Keys are `{device_id}:{prefix}{sid}`; `false` gives `{prefix}{sid}` (the original's " +
      "`DISABLE_MULTI_DEVICE_PREFIXING=1`).",
  ),
  redis_url: described(
    v.optional(v.pipe(v.string(), v.regex(/^rediss?:\/\//, "a redis:// or rediss:// URL"))),
    "Run the store on this Redis (`redis://host:port[/db]`, `rediss://` for TLS) in redis-streamer's key layout " +
      "instead of in memory, so that telebus and the original server can share it. `max_stream_bytes` and " +
      "`max_streams` do not apply there.",
  ),
  tls_ca: described(
    v.optional(v.string(), ""),
    "With a `rediss://` `redis_url`: a PEM file of CAs trusted besides the system's.",
  ),
  graphql: described(
    v.optional(flag(), false),
    "Serve redis-streamer's GraphQL schema on this store (one table of a store is enough).",
  ),
  graphql_path: described(
    v.optional(apiPath, "/graphql"),
    "Where the store's GraphQL lives; merged there with `[[outputs.graphql]]`'s schema when that uses the same path.",
  ),
  // The limits of the graphql output's endpoint: same meaning, same errors and codes.
  ...prefixed("graphql_", graphqlLimitOptions),
};

/** The store keys as parsed. */
export type StoreConfig = v.InferOutput<v.ObjectSchema<typeof storeKeys, undefined>>;

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
export const streamerInputSchema = table(v.strictObject({
  ...inputCommon,
  ...storeKeys,
  decode: described(
    v.optional(v.picklist(["none", "msgpack", "json"]), "none"),
    "Record data: `{d: <bytes>}` (`none`), or the entry decoded (a non-dictionary value becomes `{value: …}`; " +
      "undecodable bytes stay `{d: …}` and count as `decode_errors`).",
  ),
}));

/** The parsed `[[inputs.streamer]]` table. */
export type StreamerInputConfig = TableOutput<typeof streamerInputSchema>;

/** Schema of one `[[outputs.streamer]]` table. */
export const streamerOutputSchema = table(v.strictObject({
  ...outputCommon,
  ...storeKeys,
  format: described(
    v.optional(v.picklist(["msgpack", "json"]), "msgpack"),
    "Encoding of a record's data in the entry (encoded once per record).",
  ),
  device_id: described(
    v.optional(v.pipe(v.string(), v.regex(/^[^*:]+$/, "a device id without * or :")), "default"),
    "Device of the keys bus records are stored under: `{device_id}:{stream}`.",
  ),
}));

/** The parsed `[[outputs.streamer]]` table. */
export type StreamerOutputConfig = TableOutput<typeof streamerOutputSchema>;
