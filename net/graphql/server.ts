/**
 * One GraphQL endpoint on the daemon's HTTP server, shared by the `graphql`
 * output (telebus's schema) and the `streamer` transport (redis-streamer's
 * schema): queries and mutations over HTTP (POST JSON, or GET `?query=`),
 * subscriptions over WebSocket with `graphql-transport-ws` (graphql-ws's
 * server wired to Deno's WebSocket), the limits of `limits.ts`, back-pressure
 * per socket (`drain.ts`), and GraphiQL.
 *
 * @module
 */
import {
  type DocumentNode,
  execute,
  type ExecutionResult,
  getOperationAST,
  type GraphQLError,
  type GraphQLSchema,
  parse,
  specifiedRules,
  validate,
} from "npm:graphql@^16.11.0";
import { makeServer } from "npm:graphql-ws@^6.0.6";
import type { Logger } from "../../core/log.ts";
import type { PartStats } from "../../core/stats.ts";
import { SocketDrain } from "./drain.ts";
import { graphiqlAssets, graphiqlPage } from "./graphiql.ts";
import {
  asGraphqlErrors,
  checkQueryText,
  checkSubscriptions,
  codeOf,
  ErrorCode,
  graphqlError,
  type GraphqlLimits,
  LIMIT_CODES,
  queryLimits,
  RefusalLog,
  withCode,
} from "./limits.ts";

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
   * Resolves true once the subscriber's socket has room again (at once over
   * HTTP); false when the socket closed or `signal` aborted first.
   * Subscriptions call it before each event, so a slow client holds back the
   * reads (or loses the oldest events) instead of piling up unsent frames.
   */
  writable(signal?: AbortSignal): boolean | Promise<boolean>;
}

/** Options of {@linkcode GraphqlEndpoint}. */
export interface GraphqlEndpointOptions {
  /** Where it is served (GraphiQL's assets below `path/assets/`). */
  readonly path: string;
  /** The executable schema. */
  readonly schema: GraphQLSchema;
  /** The resolvers. */
  readonly roots: GraphqlRoots;
  /** What one request and one connection may ask. */
  readonly limits: GraphqlLimits;
  /** Serve GraphiQL to browsers. */
  readonly graphiql: boolean;
  /** Where `bad_requests` and `refused_<code>` are counted. */
  readonly stats?: Pick<PartStats, "count">;
  /** Where errors answered to clients are logged (once per client and reason a minute). */
  readonly log?: Logger;
  /** A subscription waits while its socket holds more unsent bytes than this (default 1 MiB). */
  readonly maxBuffered?: number;
}

/** Request body of a GraphQL-over-HTTP request. */
interface Body {
  query?: unknown;
  variables?: unknown;
  operationName?: unknown;
}

function isDocument(d: DocumentNode | readonly GraphQLError[]): d is DocumentNode {
  return !Array.isArray(d);
}

/** `address:port` of a request's peer. */
function peerOf(info: Deno.ServeHandlerInfo | undefined): string {
  const a = info?.remoteAddr as Deno.NetAddr | undefined;
  if (!a?.hostname) return "unknown";
  return a.hostname.includes(":") ? `[${a.hostname}]:${a.port}` : `${a.hostname}:${a.port}`;
}

/** A peer without its port: refusals are logged once per client, not per connection. */
function clientOf(peer: string): string {
  return peer.replace(/:\d+$/, "");
}

/** What graphql-ws keeps of one connection: its subscriptions by id. */
interface ConnectionState {
  readonly subscriptions: Record<string, unknown>;
}

/** What the endpoint keeps of one WebSocket. */
interface SocketExtra {
  readonly socket: WebSocket;
  readonly peer: string;
  readonly drain: SocketDrain;
}

const httpContext: GraphqlContext = { writable: () => true };

/**
 * A GraphQL endpoint: {@linkcode handle} answers requests to its path,
 * {@linkcode asset} serves GraphiQL's files. `hub.ts` builds one per path
 * (from every part's schema served there) and routes it.
 */
export class GraphqlEndpoint {
  readonly #options: GraphqlEndpointOptions;
  readonly #sockets = new Set<WebSocket>();
  /** graphql-ws's state of each open connection, to count subscriptions over all of them. */
  readonly #connections = new Set<ConnectionState>();
  readonly #refusals: RefusalLog;
  readonly #ws;

  /** Creates the endpoint; nothing is routed yet. */
  constructor(options: GraphqlEndpointOptions) {
    this.#options = options;
    this.#refusals = new RefusalLog(options.log, options.path);
    this.#ws = makeServer<undefined, SocketExtra>({
      schema: options.schema,
      onConnect: (ctx) => {
        this.#connections.add(ctx);
      },
      onClose: (ctx) => {
        this.#connections.delete(ctx);
      },
      onSubscribe: (ctx, _id, payload) => {
        const { peer, drain } = ctx.extra;
        const checked = this.#check(payload.query, peer);
        if (!isDocument(checked)) return checked;
        // graphql-ws has recorded this operation already: the counts include it.
        const refused = checkSubscriptions(Object.keys(ctx.subscriptions).length, this.subscriptions, options.limits);
        if (refused) return this.#refuse(peer, [refused]);
        const context: GraphqlContext = { writable: (signal) => drain.writable(signal) };
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

  /** Operations (subscriptions, and queries sent over a socket) running on all sockets. */
  get subscriptions(): number {
    let n = 0;
    for (const c of this.#connections) n += Object.keys(c.subscriptions).length;
    return n;
  }

  /** Unsent bytes held by all sockets. */
  get bufferedBytes(): number {
    let n = 0;
    for (const s of this.#sockets) n += s.bufferedAmount;
    return n;
  }

  /** Counts, logs (once per client and reason a minute) and returns errors answered to `peer`. */
  #refuse(peer: string, errors: GraphQLError[]): GraphQLError[] {
    const stats = this.#options.stats;
    stats?.count("bad_requests");
    const code = codeOf(errors[0], ErrorCode.validationFailed);
    if (LIMIT_CODES.has(code)) stats?.count(`refused_${code.toLowerCase()}`);
    this.#refusals.report(clientOf(peer), code, errors.map((e) => e.message).join("; "));
    return errors;
  }

  /**
   * The parsed, validated document, or the errors. The text's size and the
   * document's depth, aliases, fields and cost are checked first, so that a
   * document built to exhaust the server is refused after one cheap pass.
   */
  #check(query: unknown, peer: string): DocumentNode | GraphQLError[] {
    if (typeof query !== "string" || query === "") {
      return this.#refuse(peer, [graphqlError(ErrorCode.badRequest, 'no query: send {"query": "…"}')]);
    }
    const { schema, limits } = this.#options;
    const tooLarge = checkQueryText(query, limits);
    if (tooLarge) return this.#refuse(peer, [tooLarge]);
    let document: DocumentNode;
    try {
      document = parse(query);
    } catch (e) {
      return this.#refuse(peer, asGraphqlErrors(e, ErrorCode.parseFailed));
    }
    try {
      const over = validate(schema, document, [queryLimits(limits)]);
      if (over.length > 0) return this.#refuse(peer, [...over]);
      const invalid = validate(schema, document, specifiedRules);
      if (invalid.length > 0) return this.#refuse(peer, withCode(invalid, ErrorCode.validationFailed));
    } catch (e) {
      return this.#refuse(peer, asGraphqlErrors(e, ErrorCode.internal));
    }
    return document;
  }

  #root(document: DocumentNode, operationName: string | undefined): unknown {
    const op = getOperationAST(document, operationName)?.operation ?? "query";
    return this.#options.roots[op];
  }

  /** Answers a request to the endpoint's path: a WebSocket upgrade, GraphiQL, or a query over HTTP. */
  async handle(req: Request, info?: Deno.ServeHandlerInfo): Promise<Response> {
    const peer = peerOf(info);
    if (req.headers.get("upgrade")?.toLowerCase() === "websocket") return this.#upgrade(req, peer);
    const accept = req.headers.get("accept") ?? "";
    const url = new URL(req.url);
    const { path, graphiql } = this.#options;
    if (req.method === "GET" && !url.searchParams.has("query") && accept.includes("text/html") && graphiql) {
      return new Response(graphiqlPage(path), { headers: { "content-type": "text/html; charset=utf-8" } });
    }
    // Counted, logged once per client and reason, answered with a message and a code.
    const refuse = (message: string, status: number, headers?: HeadersInit) =>
      Response.json({ errors: this.#refuse(peer, [graphqlError(ErrorCode.badRequest, message)]) }, { status, headers });
    let body: Body;
    if (req.method === "POST") {
      // Only JSON: a page of any origin can POST text/plain or a form without a preflight, never JSON.
      const type = (req.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
      if (type !== "application/json") {
        return refuse(`POST needs content-type application/json, not ${JSON.stringify(type || "(none)")}`, 415, {
          "accept-post": "application/json",
        });
      }
      try {
        body = await req.json();
      } catch {
        return refuse("the body is not JSON", 400);
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
        return refuse("variables is not JSON", 400);
      }
    } else return new Response("use GET or POST\n", { status: 405 });
    const result = await this.#execute(body, peer, req.method === "GET");
    if (result === "mutation over GET") {
      return refuse("mutations need a POST (application/json); GET runs queries only", 405, { allow: "POST" });
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

  #upgrade(req: Request, peer: string): Response {
    const offered = (req.headers.get("sec-websocket-protocol") ?? "").split(",").map((s) => s.trim());
    if (!offered.includes("graphql-transport-ws")) {
      return new Response("use the graphql-transport-ws subprotocol\n", { status: 400 });
    }
    const { socket, response } = Deno.upgradeWebSocket(req, { protocol: "graphql-transport-ws" });
    this.#sockets.add(socket);
    const drain = new SocketDrain(socket, this.#options.maxBuffered ?? 1024 * 1024);
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
              const message = e instanceof Error ? e.message : String(e);
              this.#refuse(peer, [graphqlError(ErrorCode.badRequest, message)]);
              socket.close(4400, message.slice(0, 100));
            }
          };
        },
      }, { socket, peer, drain });
      socket.onclose = (ev) => {
        this.#sockets.delete(socket);
        drain.close();
        closed(ev.code, ev.reason);
      };
    };
    return response;
  }

  async #execute(body: Body, peer: string, overGet: boolean): Promise<ExecutionResult | "mutation over GET"> {
    // graphql-js throws (a plain Error) on variables that are not a map; a request like that is the client's fault.
    if (body === null || typeof body !== "object" || Array.isArray(body)) {
      const message = "the request must be a JSON object with a query";
      return { errors: this.#refuse(peer, [graphqlError(ErrorCode.badRequest, message)]) };
    }
    const v = body.variables;
    if (v !== undefined && v !== null && (typeof v !== "object" || Array.isArray(v))) {
      return { errors: this.#refuse(peer, [graphqlError(ErrorCode.badRequest, "variables must be a JSON object")]) };
    }
    const document = this.#check(body.query, peer);
    if (!isDocument(document)) return { errors: document };
    const operationName = typeof body.operationName === "string" ? body.operationName : undefined;
    const operation = getOperationAST(document, operationName)?.operation;
    if (overGet && operation === "mutation") return "mutation over GET";
    if (operation === "subscription") {
      const e = graphqlError(
        ErrorCode.subscriptionNeedsWebSocket,
        "subscriptions need a WebSocket (graphql-transport-ws)",
      );
      return { errors: this.#refuse(peer, [e]) };
    }
    let result: ExecutionResult;
    try {
      result = await execute({
        schema: this.#options.schema,
        document,
        rootValue: this.#root(document, operationName),
        contextValue: httpContext,
        variableValues: body.variables as Record<string, unknown> | undefined,
        operationName,
      });
    } catch (e) {
      result = { errors: asGraphqlErrors(e, ErrorCode.internal) };
    }
    if (result.errors?.length) {
      const e = result.errors[0];
      this.#refusals.report(clientOf(peer), codeOf(e, ErrorCode.executionFailed), e.message);
    }
    return result;
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
