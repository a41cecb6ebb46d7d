/**
 * The `graphql` transport: GraphQL queries and subscriptions, and GraphiQL.
 *
 * @module
 */
import { defineTransport, type TransportDefinition } from "../../core/transport.ts";
import { graphqlSchema } from "./schema.ts";
import { GraphqlOutput } from "./output.ts";

export { GraphqlOutput } from "./output.ts";
export { TELEBUS_SDL, telebusSchema } from "./api.ts";
export type { GraphqlConfig } from "./schema.ts";

/** The transport as the registry loads it. */
export const transport: TransportDefinition = defineTransport({
  type: "graphql",
  description:
    "GraphQL at `/graphql`: parts, counters, streams, newest records, `records` subscription, GraphiQL offline",
  output: {
    schema: graphqlSchema,
    create: (config, ctx) => new GraphqlOutput(config, ctx),
    // Served by the daemon's HTTP server; the graphql package reads NODE_ENV when it loads.
    permissions: (_c, needs) => {
      needs.env.add("NODE_ENV");
    },
  },
});
