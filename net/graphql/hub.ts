/**
 * One GraphQL schema per path on the daemon's HTTP server. The `graphql`
 * output (telebus's schema) and a `streamer` store with `graphql = true`
 * (redis-streamer's schema) that name the same path join one hub: it serves a
 * single {@linkcode GraphqlEndpoint} whose schema holds both members' types and
 * root fields, with the strictest of their limits. Queries, mutations and the
 * subscriptions of both go over the same URL. The graphql package is loaded
 * on the first request.
 *
 * @module
 */
import type { HttpRoutes } from "../../core/http.ts";
import type { Logger } from "../../core/log.ts";
import type { PartStats } from "../../core/stats.ts";
import type { GraphqlLimits } from "./limits.ts";
import type { GraphqlEndpoint, GraphqlRoots } from "./server.ts";

/** What one part contributes to the schema at a path. */
export interface GraphqlMember {
  /** Its types and root fields, in SDL. */
  readonly sdl: string;
  /** Its resolvers. */
  readonly roots: GraphqlRoots;
  /** Its limits; the endpoint applies the strictest of its members'. */
  readonly limits: GraphqlLimits;
  /** Whether it lets GraphiQL be served (all members must). */
  readonly graphiql: boolean;
  /** Where refused requests are counted (the `telebus` member's when there is one, else the first's). */
  readonly stats?: Pick<PartStats, "count">;
  /** Where errors answered to clients are logged (as `stats`). */
  readonly log?: Logger;
}

/** Which schema a member brings: telebus's own (the `graphql` output) or redis-streamer's (a `streamer` store). */
export type GraphqlKind = "telebus" | "streamer";

/** A part's place in a hub; {@linkcode leave} once when the part stops. */
export interface GraphqlMembership {
  /** Leaves the hub: its sockets close and the schema is rebuilt without the member (503 when none is left). */
  leave(): void;
  /** Subscriptions (and queries over sockets) running at the hub's path. */
  readonly subscriptions: number;
  /** Unsent bytes held by the hub's sockets. */
  readonly bufferedBytes: number;
}

/** The kind whose counters and log get the endpoint's refusals when it is a member. */
const PRIMARY_KIND: GraphqlKind = "telebus";

const ROOT_TYPES = ["query", "mutation", "subscription"] as const;

/** Puts the members' root values together, operation type by operation type. */
function mergeRoots(members: readonly GraphqlMember[]): GraphqlRoots {
  const out: Record<keyof GraphqlRoots, Record<string, unknown>> = { query: {}, mutation: {}, subscription: {} };
  for (const m of members) {
    for (const t of ROOT_TYPES) Object.assign(out[t], m.roots[t] ?? {});
  }
  return out;
}

/** The strictest of the members' limits. */
function strictest(members: readonly GraphqlMember[]): GraphqlLimits {
  const min = (k: keyof GraphqlLimits) => Math.min(...members.map((m) => m.limits[k]));
  return {
    maxQueryBytes: min("maxQueryBytes"),
    maxDepth: min("maxDepth"),
    maxAliases: min("maxAliases"),
    maxFields: min("maxFields"),
    maxCost: min("maxCost"),
    maxSubscriptionsPerConnection: min("maxSubscriptionsPerConnection"),
    maxSubscriptions: min("maxSubscriptions"),
  };
}

interface Joined {
  /** Kind of part: one of each kind per path. */
  readonly kind: GraphqlKind;
  /** Who it is, for messages. */
  readonly owner: string;
  readonly member: Promise<GraphqlMember>;
}

/** The members at one path and the endpoint built from them. */
class Hub {
  readonly members: Joined[] = [];
  #endpoint?: Promise<GraphqlEndpoint>;
  #built?: GraphqlEndpoint;
  /** Counts resets: a build that finishes after one is stale. */
  #generation = 0;

  constructor(readonly path: string) {}

  /** The endpoint of the current members, built on first use after they changed. */
  endpoint(): Promise<GraphqlEndpoint> | undefined {
    if (this.members.length === 0) return undefined;
    return this.#endpoint ??= this.#build();
  }

  async #build(): Promise<GraphqlEndpoint> {
    const generation = this.#generation;
    const joined = [...this.members];
    // graphql is imported only here, so that parts which join (the streamer) load it only when GraphQL is served.
    const [{ GraphqlEndpoint }, { mergeSdl }] = await Promise.all([import("./server.ts"), import("./merge.ts")]);
    const members = await Promise.all(joined.map((j) => j.member));
    // Refusals are counted and logged once, on the `graphql` output when it is a member (whatever joined first).
    const primary = members[joined.findIndex((j) => j.kind === PRIMARY_KIND)] ?? members[0];
    const schema = mergeSdl(members.map((m, i) => ({ name: joined[i].owner, sdl: m.sdl })));
    const endpoint = new GraphqlEndpoint({
      path: this.path,
      schema,
      roots: mergeRoots(members),
      limits: strictest(members),
      graphiql: members.every((m) => m.graphiql),
      stats: primary.stats,
      log: primary.log,
    });
    if (generation === this.#generation) this.#built = endpoint;
    return endpoint;
  }

  get built(): GraphqlEndpoint | undefined {
    return this.#built;
  }

  /** Drops the endpoint (closing its sockets): the next request builds one of the members left. */
  reset(): void {
    this.#generation++;
    this.#built?.close();
    this.#built = undefined;
    this.#endpoint = undefined;
  }
}

const hubs = new WeakMap<HttpRoutes, Map<string, Hub>>();

/**
 * Joins the hub at `path` on `http` (routing `path`, `path/assets/*` and each
 * alias on first use). One member of each `kind` per path: telebus's schema
 * and the streamer's merge; two of one kind would define the same fields.
 *
 * @param http the daemon's HTTP server
 * @param path where the schema is served
 * @param kind `telebus` or `streamer`
 * @param owner the part, for messages (e.g. `output graphql "graphql"`)
 * @param member what it contributes (a promise while its modules load)
 * @param aliases more paths answering with the same endpoint
 * @throws Error when a member of the same kind has the path, or a route is taken by another part
 */
export function joinGraphql(
  http: HttpRoutes,
  path: string,
  kind: GraphqlKind,
  owner: string,
  member: GraphqlMember | Promise<GraphqlMember>,
  aliases: readonly string[] = [],
): GraphqlMembership {
  let byPath = hubs.get(http);
  if (!byPath) hubs.set(http, byPath = new Map());
  let hub = byPath.get(path);
  if (hub) {
    const same = hub.members.find((j) => j.kind === kind);
    if (same) throw new Error(`GraphQL path ${path} is served by ${same.owner} already`);
  } else {
    const h = hub = new Hub(path);
    const gone = () => new Response("GraphQL endpoint stopped\n", { status: 503 });
    const serve = async (req: Request, info: Deno.ServeHandlerInfo | undefined, asset: boolean) => {
      const p = h.endpoint();
      if (!p) return gone();
      let e: GraphqlEndpoint;
      try {
        e = await p;
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        return Response.json({ errors: [{ message: `GraphQL at ${path}: ${message}` }] }, { status: 500 });
      }
      return asset ? e.asset(req) : await e.handle(req, info);
    };
    http.route(path, (req, info) => serve(req, info, false));
    http.route(`${path}/assets/*`, (req, info) => serve(req, info, true));
    byPath.set(path, hub);
  }
  for (const alias of aliases) {
    if (alias === path || byPath.has(alias)) continue;
    const h = hub;
    http.route(alias, async (req, info) => {
      const p = h.endpoint();
      return p ? (await p).handle(req, info) : new Response("GraphQL endpoint stopped\n", { status: 503 });
    });
    // The alias is routed now: a later join with it as its path would find it taken.
    byPath.set(alias, hub);
  }
  const joined: Joined = { kind, owner, member: Promise.resolve(member) };
  // A member that fails to load is reported by its part; the endpoint answers 500 with the reason.
  joined.member.catch(() => {});
  hub.members.push(joined);
  hub.reset();
  const h = hub;
  let left = false;
  return {
    leave() {
      if (left) return;
      left = true;
      h.members.splice(h.members.indexOf(joined), 1);
      h.reset();
    },
    get subscriptions() {
      return h.built?.subscriptions ?? 0;
    },
    get bufferedBytes() {
      return h.built?.bufferedBytes ?? 0;
    },
  };
}
