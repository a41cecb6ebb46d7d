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
import type { OutputContext, TransportDefinition } from "../../core/transport.ts";
import type { Logger } from "../../core/log.ts";
import {
  type StreamerInputConfig,
  streamerInputSchema,
  type StreamerOutputConfig,
  streamerOutputSchema,
} from "./schema.ts";
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

/** The transport as the registry loads it. */
export const transport: TransportDefinition = {
  type: "streamer",
  description:
    "redis-streamer compatible data API (push/pull WebSockets, GET/POST) and GraphQL, on an embedded stream store or Redis",
  input: {
    schema: streamerInputSchema,
    create: (config: StreamerInputConfig, _ctx: { log: Logger; dataDir: string }) => new StreamerInput(config),
  },
  output: {
    schema: streamerOutputSchema,
    create: (config: StreamerOutputConfig, ctx: OutputContext) => new StreamerOutput(config, ctx),
  },
};
