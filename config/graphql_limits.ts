/**
 * The options of a GraphQL endpoint's limits, shared by `[[outputs.graphql]]`
 * (`max_depth`, …) and the streamer's store (`graphql_max_depth`, …), and
 * the limits they come to. The runtime that enforces them is the `graphql`
 * transport's (`limits.ts`); this is only their schema and defaults.
 *
 * @module
 */
import * as v from "npm:valibot@^1.1.0";
import { byteSize, described, numeric } from "./options.ts";

/** The limit keys of a GraphQL endpoint's table. */
export const graphqlLimitOptions = {
  max_depth: described(
    v.optional(v.pipe(numeric(), v.integer(), v.minValue(1), v.maxValue(100)), 10),
    "Deepest selection accepted; deeper documents are refused before execution.",
  ),
  max_query_bytes: described(
    v.optional(v.pipe(byteSize(), v.integer(), v.minValue(1024)), "64KiB"),
    "Longest query text accepted.",
  ),
  max_aliases: described(
    v.optional(v.pipe(numeric(), v.integer(), v.minValue(0)), 100),
    "Most aliases in an operation (fragments expanded).",
  ),
  max_fields: described(
    v.optional(v.pipe(numeric(), v.integer(), v.minValue(1)), 1000),
    "Most field selections in an operation (fragments expanded) and in a document.",
  ),
  max_cost: described(
    v.optional(v.pipe(numeric(), v.integer(), v.minValue(1)), 10_000),
    "Highest estimated cost of an operation: 1 per field, ×10 per list level of the field's type.",
  ),
  max_subscriptions_per_connection: described(
    v.optional(v.pipe(numeric(), v.integer(), v.minValue(1)), 100),
    "Most subscriptions one WebSocket connection holds.",
  ),
  max_subscriptions: described(
    v.optional(v.pipe(numeric(), v.integer(), v.minValue(1)), 1000),
    "Most subscriptions the endpoint holds over all connections.",
  ),
};

/** The limit keys of a table, as parsed. */
export type GraphqlLimitOptions = v.InferOutput<v.ObjectSchema<typeof graphqlLimitOptions, undefined>>;

/** `shape` with every key prefixed (`max_depth` → `graphql_max_depth`), for a table that holds several things. */
export function prefixed<P extends string, T extends Record<string, v.GenericSchema>>(
  prefix: P,
  shape: T,
): { [K in keyof T & string as `${P}${K}`]: T[K] } {
  return Object.fromEntries(Object.entries(shape).map(([k, v]) => [prefix + k, v])) as {
    [K in keyof T & string as `${P}${K}`]: T[K];
  };
}

/** The limits of one endpoint. */
export interface GraphqlLimits {
  /** Longest query text, in UTF-8 bytes. */
  readonly maxQueryBytes: number;
  /** Deepest selection (introspection fields are not counted). */
  readonly maxDepth: number;
  /** Most aliases in an operation, fragments expanded. */
  readonly maxAliases: number;
  /** Most field selections in an operation (fragments expanded) and in the whole document. */
  readonly maxFields: number;
  /** Highest estimated cost of an operation (see `measureOperation` in the graphql transport). */
  readonly maxCost: number;
  /** Most subscriptions one WebSocket connection holds at once. */
  readonly maxSubscriptionsPerConnection: number;
  /** Most subscriptions the endpoint holds at once over all connections. */
  readonly maxSubscriptions: number;
}

/** The limits a table's limit keys give. */
export function limitsOf(c: GraphqlLimitOptions): GraphqlLimits {
  return {
    maxQueryBytes: c.max_query_bytes,
    maxDepth: c.max_depth,
    maxAliases: c.max_aliases,
    maxFields: c.max_fields,
    maxCost: c.max_cost,
    maxSubscriptionsPerConnection: c.max_subscriptions_per_connection,
    maxSubscriptions: c.max_subscriptions,
  };
}

/** The defaults of the `graphql` output's table and the streamer's `graphql_*` keys. */
export const DEFAULT_LIMITS: GraphqlLimits = limitsOf(v.parse(v.object(graphqlLimitOptions), {}));
