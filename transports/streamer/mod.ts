/**
 * The `streamer` transport: the redis-streamer data API (`ws <path>/{sid}/push`,
 * `ws <path>/{sid}/pull`, `GET`/`POST <path>/{sid}`) and, with `graphql`, its
 * GraphQL schema, on an embedded stream store or (with `redis_url`) on Redis
 * in the original's key layout. As an input, pushed entries enter the bus; as
 * an output, bus records become readable through pull and GET. Tables naming
 * the same `store` share one store and one API. The GraphQL schema and its
 * resolvers are in `graphql.ts` (loaded only when a store serves GraphQL).
 *
 * @module
 */
import { defineTransport, type TransportDefinition } from "../../core/transport.ts";
import { type PermissionContext, type PermissionNeeds, redisNeeds } from "../../core/permissions.ts";
import { type StoreConfig, streamerInputSchema, streamerOutputSchema } from "./schema.ts";
import { StreamerInput } from "./input.ts";
import { StreamerOutput } from "./output.ts";

export { StreamerInput } from "./input.ts";
export { StreamerOutput } from "./output.ts";
export { type AddedEntry, StreamerApi, type StreamerSink } from "./api.ts";
export { acquireStreamerApi, releaseStreamerApi } from "./registry.ts";
export {
  type AddOptions,
  MemoryStreamStore,
  type MemoryStreamStoreOptions,
  type ReadOptions,
  type StreamEntry,
  type StreamInfo,
  type StreamStore,
} from "./store.ts";
export type { StoreConfig, StreamerInputConfig, StreamerOutputConfig } from "./schema.ts";
export { RedisStreamStore, type RedisStreamStoreOptions } from "./redis_store.ts";

/** Served by the daemon's HTTP server; Redis when the store lives there; graphql reads NODE_ENV (loaded only then). */
function storeNeeds(c: StoreConfig, needs: PermissionNeeds, ctx: PermissionContext): void {
  if (c.graphql) needs.env.add("NODE_ENV");
  if (c.redis_url !== undefined) redisNeeds(c.redis_url, c.tls_ca, needs, ctx);
}

/** The transport as the registry loads it. */
export const transport: TransportDefinition = defineTransport({
  type: "streamer",
  description: "redis-streamer's data API and GraphQL, on an embedded stream store or on Redis",
  input: {
    schema: streamerInputSchema,
    create: (config) => new StreamerInput(config),
    permissions: storeNeeds,
  },
  output: {
    schema: streamerOutputSchema,
    create: (config, ctx) => new StreamerOutput(config, ctx),
    permissions: storeNeeds,
  },
});
