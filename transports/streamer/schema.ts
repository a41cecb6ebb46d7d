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
import { DEFAULT_LIMITS } from "../../net/graphql/limits.ts";

/** Keys of the store and its API, the same in both tables. */
export const storeKeys = {
  /** Name of the shared store: an input and an output naming the same store serve one API. */
  store: z.string().regex(/^[A-Za-z0-9_.-]+$/, "store names use letters, digits, _ - . only").default("default"),
  /** Route prefix of the API: `<path>/{sid}`, `<path>/{sid}/push`, `<path>/{sid}/pull`. */
  path: z.string().regex(/^\/[^?#*]*[^/?#*]$/, "a path starting with / and not ending with /").default("/data"),
  /** Entries kept per stream (approximate trim, as Redis `MAXLEN ~`; REDIS_STREAM_MAXLEN of the original). */
  maxlen: numeric().pipe(z.number().int().min(1)).default(1000),
  /** Bytes kept per stream: the oldest entries are trimmed beyond this. */
  max_stream_bytes: byteSize().pipe(z.number().int().min(1024)).default(64 * 1024 * 1024),
  /** Most streams in the store; pushes to a new stream beyond this are refused. */
  max_streams: numeric().pipe(z.number().int().min(1)).default(10_000),
  /** Largest WebSocket message accepted from a client (a push frame). */
  max_message_bytes: byteSize().pipe(z.number().int().min(16)).default(16 * 1024 * 1024),
  /** Most push and pull sockets at once. */
  max_clients: numeric().pipe(z.number().int().min(1)).default(1000),
  /** A pull waits while its socket holds more unsent bytes than this. */
  max_buffered: byteSize().pipe(z.number().int().min(1024)).default(4 * 1024 * 1024),
  /** Keys are `{device_id}:{prefix}{sid}`; false gives `{prefix}{sid}` (DISABLE_MULTI_DEVICE_PREFIXING=1). */
  device_prefixing: flag().default(true),
  /**
   * Run the store on this Redis (`redis://…`) with redis-streamer's key layout instead of in memory, so that
   * telebus and the original server can share it. `max_stream_bytes` and `max_streams` do not apply there.
   */
  redis_url: z.string().regex(/^rediss?:\/\//, "a redis:// or rediss:// URL").optional(),
  /** With a `rediss://` redis_url: a PEM file of CAs trusted besides the system's. */
  tls_ca: z.string().default(""),
  /** Serve redis-streamer's GraphQL schema on this store (at `graphql_path`). */
  graphql: flag().default(false),
  /** Where the store's GraphQL lives: `/graphql`, the original's path, merged with `[[outputs.graphql]]` there. */
  graphql_path: z.string().regex(/^\/[^?#*]*[^/?#*]$/, "a path starting with / and not ending with /")
    .default("/graphql"),
  /** Deepest GraphQL selection accepted. */
  graphql_max_depth: numeric().pipe(z.number().int().min(1).max(100)).default(DEFAULT_LIMITS.maxDepth),
  /** Longest GraphQL query text accepted. */
  graphql_max_query_bytes: byteSize().pipe(z.number().int().min(1024)).default(DEFAULT_LIMITS.maxQueryBytes),
  /** Most aliases in a GraphQL operation (fragments expanded). */
  graphql_max_aliases: numeric().pipe(z.number().int().min(0)).default(DEFAULT_LIMITS.maxAliases),
  /** Most field selections in a GraphQL operation (fragments expanded). */
  graphql_max_fields: numeric().pipe(z.number().int().min(1)).default(DEFAULT_LIMITS.maxFields),
  /** Highest estimated cost of a GraphQL operation: 1 per field, ×10 below a list. */
  graphql_max_cost: numeric().pipe(z.number().int().min(1)).default(DEFAULT_LIMITS.maxCost),
  /** Most GraphQL subscriptions one WebSocket connection holds. */
  graphql_max_subscriptions_per_connection: numeric().pipe(z.number().int().min(1))
    .default(DEFAULT_LIMITS.maxSubscriptionsPerConnection),
  /** Most GraphQL subscriptions the store's endpoint holds over all connections. */
  graphql_max_subscriptions: numeric().pipe(z.number().int().min(1)).default(DEFAULT_LIMITS.maxSubscriptions),
};

/** The store keys as parsed. */
export interface StoreConfig {
  /** See {@linkcode storeKeys}. */
  store: string;
  /** See {@linkcode storeKeys}. */
  path: string;
  /** See {@linkcode storeKeys}. */
  maxlen: number;
  /** See {@linkcode storeKeys}. */
  max_stream_bytes: number;
  /** See {@linkcode storeKeys}. */
  max_streams: number;
  /** See {@linkcode storeKeys}. */
  max_message_bytes: number;
  /** See {@linkcode storeKeys}. */
  max_clients: number;
  /** See {@linkcode storeKeys}. */
  max_buffered: number;
  /** See {@linkcode storeKeys}. */
  device_prefixing: boolean;
  /** See {@linkcode storeKeys}. */
  redis_url?: string;
  /** See {@linkcode storeKeys}. */
  tls_ca: string;
  /** See {@linkcode storeKeys}. */
  graphql: boolean;
  /** See {@linkcode storeKeys}. */
  graphql_path: string;
  /** See {@linkcode storeKeys}. */
  graphql_max_depth: number;
  /** See {@linkcode storeKeys}. */
  graphql_max_query_bytes: number;
  /** See {@linkcode storeKeys}. */
  graphql_max_aliases: number;
  /** See {@linkcode storeKeys}. */
  graphql_max_fields: number;
  /** See {@linkcode storeKeys}. */
  graphql_max_cost: number;
  /** See {@linkcode storeKeys}. */
  graphql_max_subscriptions_per_connection: number;
  /** See {@linkcode storeKeys}. */
  graphql_max_subscriptions: number;
}

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
  /** How an entry's bytes become the record's data: `{d: bytes}` (`none`), or decoded MessagePack/JSON. */
  decode: z.enum(["none", "msgpack", "json"]).default("none"),
});

/** The parsed `[[inputs.streamer]]` table. */
export type StreamerInputConfig = z.output<typeof streamerInputSchema>;

/** Schema of one `[[outputs.streamer]]` table. */
export const streamerOutputSchema = z.strictObject({
  ...outputCommon,
  ...storeKeys,
  /** Encoding of a record's data in the entry's bytes. */
  format: z.enum(["msgpack", "json"]).default("msgpack"),
  /** Device of the keys bus records are stored under: `{device_id}:{stream}`. */
  device_id: z.string().regex(/^[^*:]+$/, "a device id without * or :").default("default"),
});

/** The parsed `[[outputs.streamer]]` table. */
export type StreamerOutputConfig = z.output<typeof streamerOutputSchema>;
