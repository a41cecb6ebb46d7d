/**
 * The `redis_streams` transport: Redis Streams in (XREAD, consumer groups) and out (XADD).
 *
 * @module
 */
import { defineTransport, type TransportDefinition } from "../../core/transport.ts";
import { redisNeeds } from "../../core/permissions.ts";
import { redisInputSchema, redisOutputSchema } from "./schema.ts";
import { RedisStreamsInput } from "./input.ts";
import { RedisStreamsOutput } from "./output.ts";

export { RedisStreamsInput } from "./input.ts";
export { RedisStreamsOutput } from "./output.ts";
export type { RedisInputConfig, RedisOutputConfig } from "./schema.ts";

/** The transport as the registry loads it. */
export const transport: TransportDefinition = defineTransport({
  type: "redis_streams",
  description: "Redis Streams: XREAD or consumer groups in (XACK after acceptance, XAUTOCLAIM); XADD with " +
    "`MAXLEN ~` out",
  input: {
    schema: redisInputSchema,
    create: (config) => new RedisStreamsInput(config),
    permissions: (c, needs, ctx) => {
      redisNeeds(c.url, c.tls_ca, needs, ctx);
      if (c.consumer === undefined) needs.sys.add("hostname"); // the default consumer name
    },
  },
  output: {
    schema: redisOutputSchema,
    create: (config, ctx) => RedisStreamsOutput.create(config, ctx),
    permissions: (c, needs, ctx) => redisNeeds(c.url, c.tls_ca, needs, ctx),
  },
});
