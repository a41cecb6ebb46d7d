/**
 * Configuration of the `graphql` output: one `[[outputs.graphql]]` table.
 *
 * @module
 */
import { z } from "npm:zod@^4.1.12";
import { flag, numeric, outputCommon } from "../../config/schema.ts";
import { graphqlLimitOptions } from "../../config/graphql_limits.ts";

/** Schema of one `[[outputs.graphql]]` table. */
export const graphqlSchema = z.strictObject({
  ...outputCommon,
  when_full: outputCommon.when_full.default("latest").describe(
    "As for every output; `latest` here: subscribers only want what is new, so they never slow the bus.",
  ),
  path: z.string().regex(/^\/[^?#]*$/, "a path starting with /").default("/graphql").describe(
    "Where queries (POST/GET), subscriptions (WebSocket, `graphql-transport-ws`) and GraphiQL live " +
      "(assets below `<path>/assets/`).",
  ),
  graphiql: flag().default(true).describe("Serve GraphiQL (embedded, offline) to browsers at `path`."),
  ...graphqlLimitOptions,
  subscriber_buffer: numeric().pipe(z.number().int().min(1)).default(1000).describe(
    "Records held per subscriber while it is slow; the oldest are dropped beyond (counted).",
  ),
  max_streams: numeric().pipe(z.number().int().min(1)).default(10000).describe(
    "Streams whose newest record is kept for the `latest` and `streams` queries.",
  ),
});

/** The parsed `[[outputs.graphql]]` table. */
export type GraphqlConfig = z.output<typeof graphqlSchema>;
