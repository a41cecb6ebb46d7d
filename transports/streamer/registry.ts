/**
 * Which {@linkcode StreamerApi} serves a store: one per store name and HTTP server, created on first use
 * (on a memory or Redis store) and shared by the `streamer` input and output that name it, with its routes
 * and its place in the GraphQL hub; closed by the last release.
 *
 * @module
 */
import type { HttpRoutes } from "../../core/http.ts";
import type { Logger } from "../../core/log.ts";
import { type GraphqlMember, type GraphqlMembership, joinGraphql } from "../../net/graphql/hub.ts";
import { MemoryStreamStore, type StreamStore } from "./store.ts";
import { RedisStreamStore } from "./redis_store.ts";
import { STORE_KEY_NAMES, type StoreConfig } from "./schema.ts";
import { errorText, StreamerApi } from "./api.ts";

interface Shared {
  api: StreamerApi;
  config: StoreConfig;
  refs: number;
  /** The store's place in the GraphQL hub at its path, when a table asked for it. */
  graphql?: { membership: GraphqlMembership; path: string; stop: AbortController };
}

/** Stores by HTTP server and store name; routes (data API and GraphQL) by HTTP server and path. */
const stores = new WeakMap<HttpRoutes, Map<string, Shared>>();
const routes = new WeakMap<HttpRoutes, Map<string, string>>();

/** Where the streamer's schema was served before it joined telebus's at `/graphql`: kept as an alias. */
const OLD_GRAPHQL_PATH = "/streamer/graphql";

/**
 * Loads the GraphQL modules and makes the store's part of the schema. They are imported only when a store serves
 * GraphQL, so the streamer transport alone does not load the graphql package (nor need the permissions it asks for).
 */
async function loadGraphql(api: StreamerApi, config: StoreConfig, signal: AbortSignal): Promise<GraphqlMember> {
  const schema = await import("./graphql.ts");
  return {
    sdl: schema.streamerSdl(api.config.device_prefixing),
    roots: schema.streamerRoots(api.store, { devicePrefixing: api.config.device_prefixing, signal }),
    limits: {
      maxQueryBytes: config.graphql_max_query_bytes,
      maxDepth: config.graphql_max_depth,
      maxAliases: config.graphql_max_aliases,
      maxFields: config.graphql_max_fields,
      maxCost: config.graphql_max_cost,
      maxSubscriptionsPerConnection: config.graphql_max_subscriptions_per_connection,
      maxSubscriptions: config.graphql_max_subscriptions,
    },
    graphiql: true,
    stats: { count: (name, n) => api.count(name, n) },
    log: api.log.child("graphql"),
  };
}

/**
 * Serves the store's GraphQL schema at `config.graphql_path` (once per store), merged with whatever else is served
 * there (telebus's own schema at `/graphql`); the old default path answers too, as an alias.
 */
function attachGraphql(http: HttpRoutes, shared: Shared, config: StoreConfig): void {
  if (!config.graphql) return;
  const path = config.graphql_path;
  if (shared.graphql) {
    if (shared.graphql.path !== path) {
      throw new Error(
        `streamer store ${JSON.stringify(config.store)} serves GraphQL at ${shared.graphql.path} already, not ${path}`,
      );
    }
    return;
  }
  const api = shared.api, stop = new AbortController();
  const member = loadGraphql(api, config, stop.signal);
  member.catch((e) => api.log.error("streamer GraphQL failed to load", { path, error: errorText(e) }));
  const owner = `streamer store ${JSON.stringify(config.store)}`;
  // Throws when another store has the path, or another part holds the route: the daemon then reports it.
  const membership = joinGraphql(http, path, "streamer", owner, member, [OLD_GRAPHQL_PATH]);
  api.graphql = membership;
  shared.graphql = { membership, path, stop };
  api.log.info("streamer GraphQL", { path, store: config.store });
}

/**
 * The API of store `config.store` on `http`, created (on a
 * {@linkcode MemoryStreamStore}, or a {@linkcode RedisStreamStore} with
 * `redis_url`) and routed on first use, with its GraphQL endpoint when a
 * table sets `graphql`. An input and an
 * output naming the same store share it; their store keys must agree.
 * Call {@linkcode releaseStreamerApi} once per acquire.
 *
 * @throws Error when the store's keys disagree, or another store (or part) uses the path
 */
export function acquireStreamerApi(http: HttpRoutes, config: StoreConfig, log: Logger): StreamerApi {
  let byName = stores.get(http);
  if (!byName) stores.set(http, byName = new Map());
  const shared = byName.get(config.store);
  if (shared) {
    const differ = STORE_KEY_NAMES.filter((k) => shared.config[k] !== config[k]);
    if (differ.length > 0) {
      throw new Error(
        `streamer store ${JSON.stringify(config.store)} is configured twice with different ${differ.join(", ")}; ` +
          "give the tables that share a store the same values",
      );
    }
    attachGraphql(http, shared, config);
    shared.refs++;
    return shared.api;
  }
  let paths = routes.get(http);
  if (!paths) routes.set(http, paths = new Map());
  const owner = paths.get(config.path);
  if (owner !== undefined && owner !== config.store) {
    throw new Error(`streamer path ${config.path} is served by store ${JSON.stringify(owner)} already`);
  }
  const store: StreamStore = config.redis_url
    ? new RedisStreamStore(config.redis_url, log, { maxlen: config.maxlen, tlsCa: config.tls_ca })
    : new MemoryStreamStore({
      maxlen: config.maxlen,
      maxStreamBytes: config.max_stream_bytes,
      maxStreams: config.max_streams,
    });
  const api = new StreamerApi(store, config, log);
  if (owner === undefined) {
    const storeName = config.store;
    http.route(`${config.path}/*`, (req, info) => {
      const s = stores.get(http)?.get(storeName);
      return s ? s.api.handle(req, info) : new Response("streamer store stopped\n", { status: 503 });
    });
    paths.set(config.path, storeName);
  }
  const created: Shared = { api, config, refs: 1 };
  try {
    attachGraphql(http, created, config);
  } catch (e) {
    api.close().catch(() => {});
    throw e;
  }
  byName.set(config.store, created);
  return api;
}

/** Releases one use of a store; the last release closes its sockets and the store. */
export async function releaseStreamerApi(http: HttpRoutes, storeName: string): Promise<void> {
  const byName = stores.get(http);
  const shared = byName?.get(storeName);
  if (!shared || --shared.refs > 0) return;
  byName!.delete(storeName);
  if (shared.graphql) {
    shared.graphql.stop.abort();
    shared.graphql.membership.leave();
  }
  await shared.api.close();
}
