/**
 * The `graphql` transport: GraphQL queries and subscriptions, and GraphiQL.
 *
 * @module
 */
import type { OutputContext, TransportDefinition } from "../../core/transport.ts";
import { type GraphqlConfig, graphqlSchema } from "./schema.ts";
import { GraphqlOutput } from "./output.ts";

export { GraphqlOutput } from "./output.ts";
export { TELEBUS_SDL, telebusSchema } from "./api.ts";
export type { GraphqlConfig } from "./schema.ts";

/** The transport as the registry loads it. */
export const transport: TransportDefinition = {
  type: "graphql",
  description: "GraphQL queries, subscriptions (graphql-transport-ws) and GraphiQL at /graphql",
  output: {
    schema: graphqlSchema,
    create: (config: GraphqlConfig, ctx: OutputContext) => new GraphqlOutput(config, ctx),
  },
};
