/**
 * One GraphQL endpoint on the daemon's HTTP server, shared by the `graphql`
 * output (telebus's schema) and the `streamer` transport (redis-streamer's
 * schema): queries and mutations over HTTP (POST JSON, or GET `?query=`),
 * subscriptions over WebSocket with `graphql-transport-ws` (graphql-ws's
 * server wired to Deno's WebSocket), the depth limit, and GraphiQL.
 *
 * @module
 */
import {
  type DocumentNode,
  execute,
  type ExecutionResult,
  getOperationAST,
  GraphQLError,
  type GraphQLSchema,
  parse,
  specifiedRules,
  validate,
  type ValidationRule,
} from "graphql";
import { makeServer } from "graphql-ws";
import type { HttpRoutes } from "../../core/http.ts";
import type { PartStats } from "../../core/stats.ts";
import { sleep } from "../../core/async.ts";
import { depthLimit } from "./depth.ts";
import { graphiqlAssets, graphiqlPage } from "./graphiql.ts";

/** Root values by operation type (a schema may use one field name in Query and Subscription). */
export interface GraphqlRoots {
  /** Resolvers of `Query`. */
  readonly query?: unknown;
  /** Resolvers of `Mutation`. */
  readonly mutation?: unknown;
  /** Resolvers of `Subscription`. */
  readonly subscription?: unknown;
}

/** What resolvers get as their context. */
export interface GraphqlContext {
  /**
   * Resolves once the subscriber's socket has room again (at once over HTTP);
   * false when `signal` aborted first. Subscriptions that pull from a store
   * call it before each read, so a slow client holds back the reads instead
   * of piling up unsent frames.
   */
  writable(signal?: AbortSignal): Promise<boolean>;
}

/** Options of {@linkcode GraphqlEndpoint}. */
export interface GraphqlEndpointOptions {
  /** Where it is served (GraphiQL's assets below `path/assets/`). */
  readonly path: string;
  /** The executable schema. */
  readonly schema: GraphQLSchema;
  /** The resolvers. */
  readonly roots: GraphqlRoots;
  /** Deepest selection accepted. */
  readonly maxDepth: number;
  /** Serve GraphiQL to browsers. */
  readonly graphiql: boolean;
  /** Where `bad_requests` are counted. */
  readonly stats?: Pick<PartStats, "count">;
  /** A subscription waits while its socket holds more unsent bytes than this (default 1 MiB). */
  readonly maxBuffered?: number;
}

/** How often a full socket is checked for having drained. */
const DRAIN_POLL_MS = 10;

/** Request body of a GraphQL-over-HTTP request. */
interface Body {
  query?: unknown;
  variables?: unknown;
  operationName?: unknown;
}

function isDocument(d: DocumentNode | readonly GraphQLError[]): d is DocumentNode {
  return !Array.isArray(d);
}

const httpContext: GraphqlContext = { writable: () => Promise.resolve(true) };

/**
 * A GraphQL endpoint: {@linkcode handle} answers requests to its path,
 * {@linkcode asset} serves GraphiQL's files. Route it with
 * {@linkcode routeGraphql}.
 */
export class GraphqlEndpoint {
  readonly #options: GraphqlEndpointOptions;
  readonly #rules: ValidationRule[];
  readonly #sockets = new Set<WebSocket>();
  readonly #ws;

  /** Creates the endpoint; nothing is routed yet. */
  constructor(options: GraphqlEndpointOptions) {
    this.#options = options;
    this.#rules = [...specifiedRules, depthLimit(options.maxDepth)];
    const maxBuffered = options.maxBuffered ?? 1024 * 1024;
    this.#ws = makeServer<undefined, { socket: WebSocket }>({
      schema: options.schema,
      onSubscribe: (ctx, _id, payload) => {
        const checked = this.#check(payload.query);
        if (!isDocument(checked)) return checked;
        const socket = ctx.extra.socket;
        const context: GraphqlContext = {
          writable: async (signal) => {
            while (socket.readyState === WebSocket.OPEN && socket.bufferedAmount > maxBuffered) {
              if (!await sleep(DRAIN_POLL_MS, signal)) return false;
            }
            return !signal?.aborted;
          },
        };
        return {
          schema: options.schema,
          document: checked,
          rootValue: this.#root(checked, payload.operationName ?? undefined),
          contextValue: context,
          variableValues: payload.variables ?? undefined,
          operationName: payload.operationName ?? undefined,
        };
      },
    });
  }

  /** Open subscription sockets. */
  get sockets(): number {
    return this.#sockets.size;
  }

  /** The parsed, validated document, or the errors (counted as bad requests). */
  #check(query: unknown): DocumentNode | readonly GraphQLError[] {
    if (typeof query !== "string") return [new GraphQLError("no query")];
    let document: DocumentNode;
    try {
      document = parse(query);
    } catch (e) {
      this.#options.stats?.count("bad_requests");
      return [e as GraphQLError];
    }
    const errors = validate(this.#options.schema, document, this.#rules);
    if (errors.length > 0) {
      this.#options.stats?.count("bad_requests");
      return errors;
    }
    return document;
  }

  #root(document: DocumentNode, operationName: string | undefined): unknown {
    const op = getOperationAST(document, operationName)?.operation ?? "query";
    return this.#options.roots[op];
  }

  /** Answers a request to the endpoint's path: a WebSocket upgrade, GraphiQL, or a query over HTTP. */
  async handle(req: Request): Promise<Response> {
    if (req.headers.get("upgrade")?.toLowerCase() === "websocket") return this.#upgrade(req);
    const accept = req.headers.get("accept") ?? "";
    const url = new URL(req.url);
    const { path, graphiql } = this.#options;
    if (req.method === "GET" && !url.searchParams.has("query") && accept.includes("text/html") && graphiql) {
      return new Response(graphiqlPage(path), { headers: { "content-type": "text/html; charset=utf-8" } });
    }
    let body: Body;
    if (req.method === "POST") {
      // Only JSON: a page of any origin can POST text/plain or a form without a preflight, never JSON.
      const type = (req.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
      if (type !== "application/json") {
        this.#options.stats?.count("bad_requests");
        return Response.json({
          errors: [{ message: `POST needs content-type application/json, not ${JSON.stringify(type || "(none)")}` }],
        }, { status: 415, headers: { "accept-post": "application/json" } });
      }
      try {
        body = await req.json();
      } catch {
        return Response.json({ errors: [{ message: "the body is not JSON" }] }, { status: 400 });
      }
    } else if (req.method === "GET") {
      const v = url.searchParams.get("variables");
      try {
        body = {
          query: url.searchParams.get("query") ?? undefined,
          variables: v ? JSON.parse(v) : undefined,
          operationName: url.searchParams.get("operationName") ?? undefined,
        };
      } catch {
        return Response.json({ errors: [{ message: "variables is not JSON" }] }, { status: 400 });
      }
    } else return new Response("use GET or POST\n", { status: 405 });
    const result = await this.#execute(body, req.method === "GET");
    if (result === "mutation over GET") {
      this.#options.stats?.count("bad_requests");
      return Response.json(
        { errors: [{ message: "mutations need a POST (application/json); GET runs queries only" }] },
        {
          status: 405,
          headers: { allow: "POST" },
        },
      );
    }
    return Response.json(result, { status: result.data === undefined ? 400 : 200 });
  }

  /** Serves GraphiQL's embedded files (`path/assets/…`). */
  asset(req: Request): Response {
    const name = new URL(req.url).pathname.slice(this.#options.path.length + "/assets/".length);
    const a = graphiqlAssets[name];
    return a
      ? new Response(a.body, { headers: { "content-type": a.type, "cache-control": "max-age=3600" } })
      : new Response("not found\n", { status: 404 });
  }

  #upgrade(req: Request): Response {
    const offered = (req.headers.get("sec-websocket-protocol") ?? "").split(",").map((s) => s.trim());
    if (!offered.includes("graphql-transport-ws")) {
      return new Response("use the graphql-transport-ws subprotocol\n", { status: 400 });
    }
    const { socket, response } = Deno.upgradeWebSocket(req, { protocol: "graphql-transport-ws" });
    this.#sockets.add(socket);
    socket.onopen = () => {
      const closed = this.#ws.opened({
        protocol: "graphql-transport-ws", // the subprotocol negotiated above
        send: (data) => {
          if (socket.readyState === WebSocket.OPEN) socket.send(data);
        },
        close: (code, reason) => socket.close(code, reason),
        onMessage: (cb) => {
          socket.onmessage = async (ev) => {
            try {
              await cb(String(ev.data));
            } catch (e) {
              this.#options.stats?.count("bad_requests");
              socket.close(4400, (e as Error).message.slice(0, 100));
            }
          };
        },
      }, { socket });
      socket.onclose = (ev) => {
        this.#sockets.delete(socket);
        closed(ev.code, ev.reason);
      };
    };
    return response;
  }

  async #execute(body: Body, overGet: boolean): Promise<ExecutionResult | "mutation over GET"> {
    const document = this.#check(body.query);
    if (!isDocument(document)) return { errors: document };
    const operationName = typeof body.operationName === "string" ? body.operationName : undefined;
    const operation = getOperationAST(document, operationName)?.operation;
    if (overGet && operation === "mutation") return "mutation over GET";
    if (operation === "subscription") {
      return { errors: [new GraphQLError("subscriptions need a WebSocket (graphql-transport-ws)")] };
    }
    return await execute({
      schema: this.#options.schema,
      document,
      rootValue: this.#root(document, operationName),
      contextValue: httpContext,
      variableValues: body.variables as Record<string, unknown> | undefined,
      operationName,
    });
  }

  /** Closes every subscription socket (1001); graphql-ws then ends their subscriptions. */
  close(): void {
    for (const socket of this.#sockets) {
      try {
        socket.close(1001, "telebus is stopping");
      } catch {
        // closed already
      }
    }
  }
}

/**
 * Routes `path` and `path/assets/*` on `http` to the endpoint `current()`
 * returns at request time (503 when there is none, e.g. after its part stopped:
 * routes cannot be removed from the HTTP server).
 */
export function routeGraphql(http: HttpRoutes, path: string, current: () => GraphqlEndpoint | undefined): void {
  const gone = () => new Response("GraphQL endpoint stopped\n", { status: 503 });
  http.route(path, (req) => current()?.handle(req) ?? gone());
  http.route(`${path}/assets/*`, (req) => current()?.asset(req) ?? gone());
}
