/**
 * The `graphql` output: GraphQL at `/graphql` — queries and mutations over
 * HTTP (POST JSON, or GET `?query=`), subscriptions over WebSocket with the
 * `graphql-transport-ws` protocol (graphql-ws's server, wired to Deno's
 * WebSocket), GraphiQL for browsers. Each subscriber has a bounded buffer:
 * a slow one loses its oldest records, counted, and never slows the bus.
 *
 * @module
 */
import {
  type DocumentNode,
  execute,
  type ExecutionResult,
  GraphQLError,
  parse,
  specifiedRules,
  validate,
} from "graphql";
import { makeServer } from "graphql-ws";
import type { Output, OutputContext } from "../../core/transport.ts";
import type { BusRecord } from "../../core/record.ts";
import { globMatcher } from "../../core/glob.ts";
import { type RecordView, recordView, telebusSchema } from "./api.ts";
import { BoundedChannel } from "./channel.ts";
import { depthLimit } from "./depth.ts";
import { graphiqlAssets, graphiqlPage } from "./graphiql.ts";
import type { GraphqlConfig } from "./schema.ts";

interface Subscriber {
  select: (stream: string) => boolean;
  channel: BoundedChannel<{ records: RecordView }>;
}

/** The output. */
export class GraphqlOutput implements Output {
  readonly #config: GraphqlConfig;
  readonly #ctx: OutputContext;
  readonly #subscribers = new Set<Subscriber>();
  readonly #latest = new Map<string, BusRecord>();
  readonly #counts = new Map<string, { count: number; lastTime: bigint }>();
  readonly #sockets = new Set<WebSocket>();
  readonly #rules;
  readonly #root: Record<string, unknown>;
  #dropped = 0;

  /**
   * Registers `path` (and its assets) on the daemon's HTTP server.
   *
   * @param config the validated table
   * @param ctx the output's context
   */
  constructor(config: GraphqlConfig, ctx: OutputContext) {
    this.#config = config;
    this.#ctx = ctx;
    this.#rules = [...specifiedRules, depthLimit(config.max_depth)];
    ctx.stats.gauges.set("subscribers", () => this.#subscribers.size);
    ctx.stats.gauges.set(
      "subscriber_drops",
      () => this.#dropped + [...this.#subscribers].reduce((n, s) => n + s.channel.dropped, 0),
    );
    const parts = (kind: string) => (ctx.parts?.() ?? []).filter((p) => p.kind === kind).map((p) => p.toJSON());
    this.#root = {
      inputs: () => parts("input"),
      outputs: () => parts("output"),
      streams: ({ match }: { match?: string }) =>
        [...this.#counts].filter(([s]) => !match || s.includes(match)).sort(([a], [b]) => a < b ? -1 : 1)
          .map(([stream, c]) => ({ stream, count: c.count, lastTime: Number(c.lastTime / 1000n) / 1e6 })),
      latest: ({ stream }: { stream: string }) => {
        const r = this.#latest.get(stream);
        return r ? recordView(r) : null;
      },
      records: ({ streams }: { streams?: string[] }) => this.#subscribe(streams),
    };
    const wsServer = makeServer({
      schema: telebusSchema,
      onSubscribe: (_ctx, _id, payload) => {
        let document: DocumentNode;
        try {
          document = parse(payload.query);
        } catch (e) {
          return [e as GraphQLError];
        }
        const errors = validate(telebusSchema, document, this.#rules);
        if (errors.length > 0) {
          ctx.stats.count("bad_requests");
          return errors;
        }
        return {
          schema: telebusSchema,
          document,
          rootValue: this.#root,
          variableValues: payload.variables ?? undefined,
          operationName: payload.operationName ?? undefined,
        };
      },
    });
    const path = config.path;
    ctx.http.route(path, async (req) => {
      if (req.headers.get("upgrade")?.toLowerCase() === "websocket") {
        const offered = (req.headers.get("sec-websocket-protocol") ?? "").split(",").map((s) => s.trim());
        if (!offered.includes("graphql-transport-ws")) {
          return new Response("use the graphql-transport-ws subprotocol\n", { status: 400 });
        }
        const { socket, response } = Deno.upgradeWebSocket(req, { protocol: "graphql-transport-ws" });
        this.#sockets.add(socket);
        socket.onopen = () => {
          const closed = wsServer.opened({
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
                  ctx.stats.count("bad_requests");
                  socket.close(4400, (e as Error).message.slice(0, 100));
                }
              };
            },
          }, {});
          socket.onclose = (ev) => {
            this.#sockets.delete(socket);
            closed(ev.code, ev.reason);
          };
        };
        return response;
      }
      const accept = req.headers.get("accept") ?? "";
      const url = new URL(req.url);
      if (req.method === "GET" && !url.searchParams.has("query") && accept.includes("text/html") && config.graphiql) {
        return new Response(graphiqlPage(path), { headers: { "content-type": "text/html; charset=utf-8" } });
      }
      let body: { query?: unknown; variables?: unknown; operationName?: unknown };
      if (req.method === "POST") {
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
      const result = this.#execute(body);
      return Response.json(result, { status: result.data === undefined ? 400 : 200 });
    });
    ctx.http.route(`${path}/assets/*`, (req) => {
      const name = new URL(req.url).pathname.slice(path.length + "/assets/".length);
      const a = graphiqlAssets[name];
      return a
        ? new Response(a.body, { headers: { "content-type": a.type, "cache-control": "max-age=3600" } })
        : new Response("not found\n", { status: 404 });
    });
    ctx.log.info("GraphQL", { path, graphiql: config.graphiql });
  }

  #execute(body: { query?: unknown; variables?: unknown; operationName?: unknown }): ExecutionResult {
    if (typeof body.query !== "string") return { errors: [new GraphQLError("no query")] };
    let document: DocumentNode;
    try {
      document = parse(body.query);
    } catch (e) {
      this.#ctx.stats.count("bad_requests");
      return { errors: [e as GraphQLError] };
    }
    const errors = validate(telebusSchema, document, this.#rules);
    if (errors.length > 0) {
      this.#ctx.stats.count("bad_requests");
      return { errors };
    }
    for (const d of document.definitions) {
      if (d.kind === "OperationDefinition" && d.operation === "subscription") {
        return { errors: [new GraphQLError("subscriptions need a WebSocket (graphql-transport-ws)")] };
      }
    }
    return execute({
      schema: telebusSchema,
      document,
      rootValue: this.#root,
      variableValues: body.variables as Record<string, unknown> | undefined,
      operationName: typeof body.operationName === "string" ? body.operationName : undefined,
    }) as ExecutionResult; // synchronous: no resolver here is async
  }

  #subscribe(streams: string[] | undefined): AsyncIterableIterator<{ records: RecordView }> {
    const sub: Subscriber = {
      select: globMatcher(streams),
      channel: new BoundedChannel(this.#config.subscriber_buffer, () => {
        this.#dropped += sub.channel.dropped;
        this.#subscribers.delete(sub);
      }),
    };
    this.#subscribers.add(sub);
    return sub.channel;
  }

  /** Keeps the newest record per stream and feeds the subscribers. */
  write(records: BusRecord[]): void {
    for (const r of records) {
      let c = this.#counts.get(r.stream);
      if (!c) {
        if (this.#counts.size >= this.#config.max_streams) continue;
        this.#counts.set(r.stream, c = { count: 0, lastTime: 0n });
      }
      c.count++;
      c.lastTime = r.time;
      this.#latest.set(r.stream, r);
    }
    if (this.#subscribers.size === 0) return;
    // One view per record, shared by every subscriber that selects it.
    const views = new Map<BusRecord, { records: RecordView }>();
    for (const s of this.#subscribers) {
      for (const r of records) {
        if (!s.select(r.stream)) continue;
        let v = views.get(r);
        if (!v) views.set(r, v = { records: recordView(r) });
        s.channel.push(v);
      }
    }
  }

  /** Ends every subscription and closes the sockets. */
  close(): Promise<void> {
    for (const s of [...this.#subscribers]) s.channel.return();
    for (const socket of this.#sockets) {
      try {
        socket.close(1001, "telebus is stopping");
      } catch {
        // closed already
      }
    }
    return Promise.resolve();
  }
}
