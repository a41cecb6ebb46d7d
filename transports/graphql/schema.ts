/**
 * Configuration of the `graphql` output: one `[[outputs.graphql]]` table.
 *
 * @module
 */
import * as v from "npm:valibot@^1.1.0";
import { described, flag, FULL_POLICIES, numeric, outputCommon, table, type TableOutput } from "../../config/schema.ts";
import { graphqlLimitOptions } from "../../config/graphql_limits.ts";

/** Schema of one `[[outputs.graphql]]` table. */
export const graphqlSchema = table(v.strictObject({
  ...outputCommon,
  when_full: described(
    v.optional(v.picklist(FULL_POLICIES), "latest"),
    "As for every output; `latest` here: subscribers only want what is new, so they never slow the bus.",
  ),
  path: described(
    v.optional(v.pipe(v.string(), v.regex(/^\/[^?#]*$/, "a path starting with /")), "/graphql"),
    "Where queries (POST/GET), subscriptions (WebSocket, `graphql-transport-ws`) and GraphiQL live " +
      "(assets below `<path>/assets/`).",
  ),
  graphiql: described(v.optional(flag(), true), "Serve GraphiQL (embedded, offline) to browsers at `path`."),
  ...graphqlLimitOptions,
  subscriber_buffer: described(
    v.optional(v.pipe(numeric(), v.integer(), v.minValue(1)), 1000),
    "Records held per subscriber while it is slow; the oldest are dropped beyond (counted).",
  ),
  max_streams: described(
    v.optional(v.pipe(numeric(), v.integer(), v.minValue(1)), 10000),
    "Streams whose newest record is kept for the `latest` and `streams` queries.",
  ),
}));

/** The parsed `[[outputs.graphql]]` table. */
export type GraphqlConfig = TableOutput<typeof graphqlSchema>;
