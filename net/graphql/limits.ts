/**
 * What one GraphQL client may ask of the daemon: the size and nesting of a
 * query's text, its depth, aliases, fields and estimated cost (checked before
 * graphql-js's own validation, so that an absurd document costs the server one
 * cheap pass and no execution), and how many subscriptions a connection and the
 * endpoint hold. Every refusal is a `GraphQLError` with a message and an
 * `extensions.code`; {@linkcode RefusalLog} logs them once per client and reason.
 *
 * graphql-armor's rules were considered: they throw out of `validate()` with
 * "Syntax Error:" messages, count one limit per pass, and estimate cost without
 * the schema's list types; one memoised pass here measures all four.
 *
 * @module
 */
import {
  type ASTVisitor,
  type DocumentNode,
  type FragmentDefinitionNode,
  getNamedType,
  GraphQLError,
  type GraphQLNamedType,
  type GraphQLOutputType,
  type GraphQLSchema,
  isInterfaceType,
  isListType,
  isNonNullType,
  isObjectType,
  Kind,
  Lexer,
  type SelectionSetNode,
  Source,
  TokenKind,
  type ValidationContext,
} from "npm:graphql@^16.11.0";
import type { Logger } from "../../core/log.ts";

// The limits' options and defaults are part of the config schema (the streamer's store has them too).
import type { GraphqlLimits } from "../../config/graphql_limits.ts";
export { DEFAULT_LIMITS, type GraphqlLimits } from "../../config/graphql_limits.ts";

/**
 * Deepest nesting of `{`, `[` and `(` in a query's text. graphql-js parses
 * recursively: a few thousand levels overflow its stack, so deeper texts are
 * refused before parsing. Far above any selection `maxDepth` allows.
 */
export const MAX_NESTING = 128;

/** How much a list field multiplies the cost of what is selected below it. */
export const LIST_COST_FACTOR = 10;

/** `extensions.code` of each kind of refusal. */
export const ErrorCode = {
  /** No query, a body that is not JSON, variables that are not JSON. */
  badRequest: "BAD_REQUEST",
  /** The text is longer than `maxQueryBytes`, or nests deeper than {@linkcode MAX_NESTING}. */
  queryTooLarge: "QUERY_TOO_LARGE",
  /** A syntax error. */
  parseFailed: "GRAPHQL_PARSE_FAILED",
  /** graphql-js's own validation failed (unknown field, bad argument…). */
  validationFailed: "GRAPHQL_VALIDATION_FAILED",
  /** Deeper than `maxDepth`. */
  tooDeep: "TOO_DEEP",
  /** More aliases than `maxAliases`. */
  tooManyAliases: "TOO_MANY_ALIASES",
  /** More fields than `maxFields`. */
  tooManyFields: "TOO_MANY_FIELDS",
  /** Costlier than `maxCost`. */
  tooCostly: "TOO_COSTLY",
  /** A subscription beyond `maxSubscriptionsPerConnection` or `maxSubscriptions`. */
  tooManySubscriptions: "TOO_MANY_SUBSCRIPTIONS",
  /** A subscription over HTTP. */
  subscriptionNeedsWebSocket: "SUBSCRIPTION_NEEDS_WEBSOCKET",
  /** A resolver failed. */
  executionFailed: "EXECUTION_FAILED",
  /** telebus itself failed (a bug): the message says what. */
  internal: "INTERNAL_SERVER_ERROR",
} as const;

/** One of {@linkcode ErrorCode}'s values. */
export type ErrorCodeValue = typeof ErrorCode[keyof typeof ErrorCode];

/** Codes of refusals made by a limit (they are counted as `refused_<code>` besides `bad_requests`). */
export const LIMIT_CODES: ReadonlySet<string> = new Set([
  ErrorCode.queryTooLarge,
  ErrorCode.tooDeep,
  ErrorCode.tooManyAliases,
  ErrorCode.tooManyFields,
  ErrorCode.tooCostly,
  ErrorCode.tooManySubscriptions,
]);

/** A `GraphQLError` with a message and `extensions.code`. */
export function graphqlError(code: ErrorCodeValue, message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code } });
}

/** The code of an error made here, else `fallback`. */
export function codeOf(error: GraphQLError, fallback: ErrorCodeValue): string {
  const code = error.extensions?.code;
  return typeof code === "string" ? code : fallback;
}

/**
 * Anything thrown while parsing, validating or executing, as GraphQL errors
 * that carry a message (a `RangeError` serialises to `{}` otherwise) and a code.
 */
export function asGraphqlErrors(e: unknown, code: ErrorCodeValue): GraphQLError[] {
  if (e instanceof GraphQLError) {
    return [
      e.extensions?.code ? e : new GraphQLError(e.message, {
        nodes: e.nodes,
        source: e.source,
        positions: e.positions,
        path: e.path,
        originalError: e.originalError,
        extensions: { ...e.extensions, code },
      }),
    ];
  }
  return [graphqlError(code, e instanceof Error ? `${e.name}: ${e.message}` : String(e))];
}

/** Copies validation errors, giving those without a code `code`. */
export function withCode(errors: readonly GraphQLError[], code: ErrorCodeValue): GraphQLError[] {
  return errors.map((e) => asGraphqlErrors(e, code)[0]);
}

/**
 * Checks a query's text before it is parsed: its UTF-8 length and how deep
 * its brackets nest. A lexing error is left for the parser to report.
 */
export function checkQueryText(query: string, limits: Pick<GraphqlLimits, "maxQueryBytes">): GraphQLError | undefined {
  const max = limits.maxQueryBytes;
  // A UTF-16 unit is at most 3 bytes of UTF-8: only encode when the bound is in doubt.
  if (query.length * 3 > max) {
    const bytes = new TextEncoder().encode(query).length;
    if (bytes > max) return graphqlError(ErrorCode.queryTooLarge, `query has ${bytes} bytes; the limit is ${max}`);
  }
  const lexer = new Lexer(new Source(query));
  let nesting = 0;
  try {
    for (let t = lexer.advance(); t.kind !== TokenKind.EOF; t = lexer.advance()) {
      if (t.kind === TokenKind.BRACE_L || t.kind === TokenKind.BRACKET_L || t.kind === TokenKind.PAREN_L) {
        if (++nesting > MAX_NESTING) {
          return graphqlError(
            ErrorCode.queryTooLarge,
            `query nests more than ${MAX_NESTING} brackets deep (line ${t.line}, column ${t.column})`,
          );
        }
      } else if (t.kind === TokenKind.BRACE_R || t.kind === TokenKind.BRACKET_R || t.kind === TokenKind.PAREN_R) {
        nesting--;
      }
    }
  } catch {
    // A syntax error: the parser reports it with its location.
  }
  return undefined;
}

/** What an operation (or a fragment) asks for. */
export interface QueryMeasure {
  /** Deepest selection, introspection fields not counted. */
  depth: number;
  /** Aliases, fragments expanded. */
  aliases: number;
  /** Field selections, fragments expanded. */
  fields: number;
  /** Estimated cost: see {@linkcode measureOperation}. */
  cost: number;
}

const ZERO: QueryMeasure = { depth: 0, aliases: 0, fields: 0, cost: 0 };

/** How many values a field of this type gives per parent: {@linkcode LIST_COST_FACTOR} per list level. */
function listFactor(type: GraphQLOutputType | undefined): number {
  let factor = 1;
  for (let t = type; t;) {
    if (isNonNullType(t)) t = t.ofType;
    else if (isListType(t)) {
      factor *= LIST_COST_FACTOR;
      t = t.ofType;
    } else break;
  }
  return factor;
}

/**
 * Measures the operations of a document, each fragment once (a fragment
 * spread twice counts twice, but is walked once), so a document built to
 * multiply through fragments costs a linear pass.
 *
 * The cost of a field is 1 plus the cost of its selection, times
 * {@linkcode LIST_COST_FACTOR} per list level of its type; `__schema` and
 * `__type` cost nothing (the schema bounds them) and `__typename` 1.
 */
export class QueryMeter {
  readonly #fragments = new Map<string, FragmentDefinitionNode>();
  readonly #measured = new Map<string, QueryMeasure>();
  readonly #measuring = new Set<string>();

  /** Prepares to measure `document` against `schema`. */
  constructor(readonly schema: GraphQLSchema, document: DocumentNode) {
    for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) this.#fragments.set(d.name.value, d);
  }

  /** Measures one selection set below a value of type `parent` (undefined when unknown: validation reports it). */
  measure(set: SelectionSetNode, parent: GraphQLNamedType | undefined): QueryMeasure {
    const m: QueryMeasure = { depth: 0, aliases: 0, fields: 0, cost: 0 };
    const add = (child: QueryMeasure, depth: number, cost: number) => {
      m.aliases += child.aliases;
      m.fields += child.fields;
      m.cost += cost;
      m.depth = Math.max(m.depth, depth);
    };
    for (const s of set.selections) {
      if (s.kind === Kind.FIELD) {
        const name = s.name.value;
        m.fields++;
        if (s.alias) m.aliases++;
        const introspection = name.startsWith("__");
        const def = parent && (isObjectType(parent) || isInterfaceType(parent)) ? parent.getFields()[name] : undefined;
        const child = s.selectionSet ? this.measure(s.selectionSet, def && getNamedType(def.type)) : ZERO;
        if (introspection) {
          // Bounded by the schema; GraphiQL's own introspection query is deep and wide.
          add(child, 0, name === "__typename" ? 1 : 0);
        } else add(child, 1 + child.depth, 1 + listFactor(def?.type) * child.cost);
      } else if (s.kind === Kind.INLINE_FRAGMENT) {
        const type = s.typeCondition ? this.schema.getType(s.typeCondition.name.value) : parent;
        const child = this.measure(s.selectionSet, type);
        add(child, child.depth, child.cost);
      } else {
        const child = this.#fragment(s.name.value);
        add(child, child.depth, child.cost);
      }
    }
    return m;
  }

  #fragment(name: string): QueryMeasure {
    const done = this.#measured.get(name);
    if (done) return done;
    const f = this.#fragments.get(name);
    // Unknown fragments and cycles are reported by graphql-js's own rules.
    if (!f || this.#measuring.has(name)) return ZERO;
    this.#measuring.add(name);
    const m = this.measure(f.selectionSet, this.schema.getType(f.typeCondition.name.value));
    this.#measuring.delete(name);
    this.#measured.set(name, m);
    return m;
  }
}

/** Measures one operation of `document` (see {@linkcode QueryMeter}). */
export function measureOperation(schema: GraphQLSchema, document: DocumentNode, index = 0): QueryMeasure {
  const ops = document.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
  const op = ops[index];
  if (!op) return { ...ZERO };
  const root = schema.getRootType(op.operation) ?? undefined;
  return new QueryMeter(schema, document).measure(op.selectionSet, root);
}

/**
 * A validation rule that refuses operations beyond `limits` (depth, aliases,
 * fields, cost) and documents with more fields in all than `maxFields`. Run it
 * alone before graphql-js's rules: they are not linear in every case.
 */
export function queryLimits(
  limits: Pick<GraphqlLimits, "maxDepth" | "maxAliases" | "maxFields" | "maxCost">,
): (context: ValidationContext) => ASTVisitor {
  return (context) => {
    let written = 0;
    return {
      Field() {
        written++;
      },
      Document: {
        leave(document) {
          const schema = context.getSchema();
          const meter = new QueryMeter(schema, document);
          let worst: QueryMeasure = { depth: 0, aliases: 0, fields: written, cost: 0 };
          for (const d of document.definitions) {
            if (d.kind !== Kind.OPERATION_DEFINITION) continue;
            const m = meter.measure(d.selectionSet, schema.getRootType(d.operation) ?? undefined);
            worst = {
              depth: Math.max(worst.depth, m.depth),
              aliases: Math.max(worst.aliases, m.aliases),
              fields: Math.max(worst.fields, m.fields),
              cost: Math.max(worst.cost, m.cost),
            };
          }
          const report = (over: boolean, code: ErrorCodeValue, text: string) => {
            if (over) context.reportError(graphqlError(code, text));
          };
          const n = (x: number) => Number.isFinite(x) && x < 1e15 ? String(x) : x.toExponential(2);
          report(
            worst.aliases > limits.maxAliases,
            ErrorCode.tooManyAliases,
            `query has ${n(worst.aliases)} aliases; the limit is ${limits.maxAliases}`,
          );
          report(
            worst.fields > limits.maxFields,
            ErrorCode.tooManyFields,
            `query has ${n(worst.fields)} fields; the limit is ${limits.maxFields}`,
          );
          report(
            worst.cost > limits.maxCost,
            ErrorCode.tooCostly,
            `query has an estimated cost of ${n(worst.cost)}; the limit is ${limits.maxCost}`,
          );
          report(
            worst.depth > limits.maxDepth,
            ErrorCode.tooDeep,
            `query depth ${worst.depth} exceeds the limit of ${limits.maxDepth}`,
          );
        },
      },
    };
  };
}

/**
 * The refusal of a new subscription, or undefined when the connection and the
 * endpoint have room; the counts include the new one.
 */
export function checkSubscriptions(
  onConnection: number,
  onEndpoint: number,
  limits: Pick<GraphqlLimits, "maxSubscriptionsPerConnection" | "maxSubscriptions">,
): GraphQLError | undefined {
  if (onConnection > limits.maxSubscriptionsPerConnection) {
    return graphqlError(
      ErrorCode.tooManySubscriptions,
      `this connection holds ${onConnection - 1} subscriptions already; the limit is ` +
        `${limits.maxSubscriptionsPerConnection} per connection`,
    );
  }
  if (onEndpoint > limits.maxSubscriptions) {
    return graphqlError(
      ErrorCode.tooManySubscriptions,
      `the endpoint holds ${onEndpoint - 1} subscriptions already; the limit is ${limits.maxSubscriptions}`,
    );
  }
  return undefined;
}

/** How often one client's refusals of one reason are logged. */
export const REFUSAL_LOG_INTERVAL_MS = 60_000;
/** Clients × reasons remembered for {@linkcode RefusalLog}; the oldest is forgotten beyond. */
const REFUSAL_LOG_KEYS = 1024;

/**
 * Logs errors answered to clients once per client and reason per
 * {@linkcode REFUSAL_LOG_INTERVAL_MS}; a flood of bad requests writes one line
 * a minute, with the number left out.
 */
export class RefusalLog {
  readonly #seen = new Map<string, { since: number; suppressed: number }>();

  /**
   * Creates the log.
   *
   * @param log where lines go
   * @param path the endpoint's path, named in each line
   * @param now the clock (for tests)
   */
  constructor(
    readonly log: Pick<Logger, "warn"> | undefined,
    readonly path: string,
    readonly now: () => number = Date.now,
  ) {}

  /** Logs (or counts silently) one error answered to `peer`. */
  report(peer: string, code: string, message: string): void {
    if (!this.log) return;
    const key = `${peer} ${code}`;
    const t = this.now();
    const seen = this.#seen.get(key);
    if (seen && t - seen.since < REFUSAL_LOG_INTERVAL_MS) {
      seen.suppressed++;
      return;
    }
    const suppressed = seen?.suppressed ?? 0;
    this.#seen.delete(key);
    this.#seen.set(key, { since: t, suppressed: 0 });
    if (this.#seen.size > REFUSAL_LOG_KEYS) this.#seen.delete(this.#seen.keys().next().value!);
    const fields: Record<string, unknown> = { path: this.path, peer, code, error: message.slice(0, 300) };
    if (suppressed > 0) fields.same_since_last_line = suppressed;
    this.log.warn("GraphQL request refused", fields);
  }
}
