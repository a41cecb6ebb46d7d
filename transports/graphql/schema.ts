/**
 * Configuration of the `graphql` output: one `[[outputs.graphql]]` table.
 *
 * @module
 */
import { z } from "npm:zod@^4.1.12";
import { byteSize, flag, numeric, outputCommon } from "../../config/schema.ts";
import { DEFAULT_LIMITS } from "../../net/graphql/limits.ts";

/** Schema of one `[[outputs.graphql]]` table. */
export const graphqlSchema = z.strictObject({
  ...outputCommon,
  /** Subscribers only want what is new: never slow the bus for them. */
  when_full: outputCommon.when_full.default("latest"),
  /** Where queries (POST/GET), subscriptions (WebSocket, `graphql-transport-ws`) and GraphiQL live. */
  path: z.string().regex(/^\/[^?#]*$/, "a path starting with /").default("/graphql"),
  /** Serve GraphiQL (embedded, offline) to browsers at `path`. */
  graphiql: flag().default(true),
  /** Deepest selection accepted; deeper documents are refused before execution. */
  max_depth: numeric().pipe(z.number().int().min(1).max(100)).default(DEFAULT_LIMITS.maxDepth),
  /** Longest query text accepted. */
  max_query_bytes: byteSize().pipe(z.number().int().min(1024)).default(DEFAULT_LIMITS.maxQueryBytes),
  /** Most aliases in an operation (fragments expanded). */
  max_aliases: numeric().pipe(z.number().int().min(0)).default(DEFAULT_LIMITS.maxAliases),
  /** Most field selections in an operation (fragments expanded). */
  max_fields: numeric().pipe(z.number().int().min(1)).default(DEFAULT_LIMITS.maxFields),
  /** Highest estimated cost of an operation: 1 per field, ×10 below a list. */
  max_cost: numeric().pipe(z.number().int().min(1)).default(DEFAULT_LIMITS.maxCost),
  /** Most subscriptions one WebSocket connection holds. */
  max_subscriptions_per_connection: numeric().pipe(z.number().int().min(1))
    .default(DEFAULT_LIMITS.maxSubscriptionsPerConnection),
  /** Most subscriptions the endpoint holds over all connections. */
  max_subscriptions: numeric().pipe(z.number().int().min(1)).default(DEFAULT_LIMITS.maxSubscriptions),
  /** Records held per subscriber while it is slow; the oldest are dropped beyond (counted). */
  subscriber_buffer: numeric().pipe(z.number().int().min(1)).default(1000),
  /** Streams whose newest record is kept for the `latest` query. */
  max_streams: numeric().pipe(z.number().int().min(1)).default(10000),
});

/** The parsed `[[outputs.graphql]]` table. */
export type GraphqlConfig = z.output<typeof graphqlSchema>;
