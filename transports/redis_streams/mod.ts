/**
 * The `redis_streams` transport: Redis Streams in (XREAD, consumer groups) and out (XADD).
 *
 * @module
 */
import type { OutputContext, TransportDefinition } from "../../core/transport.ts";
import { type RedisInputConfig, redisInputSchema, type RedisOutputConfig, redisOutputSchema } from "./schema.ts";
import { RedisStreamsInput } from "./input.ts";
import { RedisStreamsOutput } from "./output.ts";

export { RedisStreamsInput } from "./input.ts";
export { RedisStreamsOutput } from "./output.ts";
export type { RedisInputConfig, RedisOutputConfig } from "./schema.ts";

/** The transport as the registry loads it. */
export const transport: TransportDefinition = {
  type: "redis_streams",
  description: "Redis Streams: XREAD / consumer groups in, XADD out",
  input: { schema: redisInputSchema, create: (config: RedisInputConfig) => new RedisStreamsInput(config) },
  output: {
    schema: redisOutputSchema,
    create: (config: RedisOutputConfig, ctx: OutputContext) => RedisStreamsOutput.create(config, ctx),
  },
};
