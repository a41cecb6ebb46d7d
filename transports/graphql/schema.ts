/**
 * Configuration of the `graphql` output: one `[[outputs.graphql]]` table.
 *
 * @module
 */
import { z } from "zod";
import { flag, numeric, outputCommon } from "../../config/schema.ts";

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
  max_depth: numeric().pipe(z.number().int().min(1).max(100)).default(10),
  /** Records held per subscriber while it is slow; the oldest are dropped beyond (counted). */
  subscriber_buffer: numeric().pipe(z.number().int().min(1)).default(1000),
  /** Streams whose newest record is kept for the `latest` query. */
  max_streams: numeric().pipe(z.number().int().min(1)).default(10000),
});

/** The parsed `[[outputs.graphql]]` table. */
export type GraphqlConfig = z.output<typeof graphqlSchema>;
