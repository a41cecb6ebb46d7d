/**
 * The `graphql` output: GraphQL at `/graphql` — queries and mutations over
 * HTTP (POST JSON, or GET `?query=`), subscriptions over WebSocket with the
 * `graphql-transport-ws` protocol (graphql-ws's server, wired to Deno's
 * WebSocket), GraphiQL for browsers. Each subscriber has a bounded buffer:
 * a slow one loses its oldest records, counted, and never slows the bus.
 *
 * @module
 */
import type { Output, OutputContext } from "../../core/transport.ts";
import type { BusRecord } from "../../core/record.ts";
import { globMatcher } from "../../core/glob.ts";
import { RecordRejects } from "../../core/reject.ts";
import { type RecordView, recordView, TELEBUS_SDL } from "./api.ts";
import { BoundedChannel } from "../../net/graphql/channel.ts";
import { type GraphqlMembership, joinGraphql } from "../../net/graphql/hub.ts";
import type { GraphqlContext } from "../../net/graphql/server.ts";
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
  readonly #endpoint: GraphqlMembership;
  #dropped = 0;
  readonly #rejects: RecordRejects;

  /**
   * Registers `path` (and its assets) on the daemon's HTTP server.
   *
   * @param config the validated table
   * @param ctx the output's context
   */
  constructor(config: GraphqlConfig, ctx: OutputContext) {
    this.#config = config;
    this.#ctx = ctx;
    this.#rejects = new RecordRejects(ctx.stats, ctx.log);
    ctx.stats.gauges.set("subscribers", () => this.#subscribers.size);
    ctx.stats.gauges.set(
      "subscriber_drops",
      () => this.#dropped + [...this.#subscribers].reduce((n, s) => n + s.channel.dropped, 0),
    );
    const parts = (kind: string) => (ctx.parts?.() ?? []).filter((p) => p.kind === kind).map((p) => p.toJSON());
    const root = {
      inputs: () => parts("input"),
      outputs: () => parts("output"),
      telebusStreams: ({ match }: { match?: string }) =>
        [...this.#counts].filter(([s]) => !match || s.includes(match)).sort(([a], [b]) => a < b ? -1 : 1)
          .map(([stream, c]) => ({ stream, count: c.count, lastTime: Number(c.lastTime / 1000n) / 1e6 })),
      latest: ({ stream }: { stream: string }) => {
        const r = this.#latest.get(stream);
        return r ? recordView(r) : null;
      },
      records: ({ streams }: { streams?: string[] }, context: GraphqlContext) => this.#subscribe(streams, context),
    };
    // A streamer store serving GraphQL at the same path joins this schema (see net/graphql/hub.ts). The hub's routes are the
    // daemon's, not this part's: they stay when it restarts (a reload) and answer 503 while no part serves there.
    this.#endpoint = joinGraphql(
      ctx.http.shared ?? ctx.http,
      config.path,
      "telebus",
      `output graphql ${JSON.stringify(ctx.name)}`,
      {
        sdl: TELEBUS_SDL,
        roots: { query: root, subscription: root },
        limits: {
          maxQueryBytes: config.max_query_bytes,
          maxDepth: config.max_depth,
          maxAliases: config.max_aliases,
          maxFields: config.max_fields,
          maxCost: config.max_cost,
          maxSubscriptionsPerConnection: config.max_subscriptions_per_connection,
          maxSubscriptions: config.max_subscriptions,
        },
        graphiql: config.graphiql,
        stats: ctx.stats,
        log: ctx.log,
      },
    );
    ctx.stats.gauges.set("subscriptions", () => this.#endpoint.subscriptions);
    ctx.stats.gauges.set("socket_buffered_bytes", () => this.#endpoint.bufferedBytes);
    const path = config.path;
    ctx.log.info("GraphQL", { path, graphiql: config.graphiql });
  }

  #subscribe(streams: string[] | undefined, context: GraphqlContext): AsyncIterableIterator<{ records: RecordView }> {
    const sub: Subscriber = {
      select: globMatcher(streams),
      channel: new BoundedChannel(this.#config.subscriber_buffer, () => {
        this.#dropped += sub.channel.dropped;
        this.#subscribers.delete(sub);
      }, (signal) => context.writable(signal)),
    };
    this.#subscribers.add(sub);
    return sub.channel;
  }

  /** Keeps the newest record per stream and feeds the subscribers. */
  write(records: BusRecord[]): void {
    records = this.#rejects.admit(records); // one record beyond the codecs' limits costs only itself
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
    this.#endpoint.leave();
    return Promise.resolve();
  }
}
