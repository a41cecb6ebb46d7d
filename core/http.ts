/**
 * The daemon's one HTTP server. Parts register routes on it; `/health` and
 * `/metrics` are the daemon's own.
 *
 * @module
 */
import type { Logger } from "./log.ts";

/** Handles one HTTP request (WebSocket upgrades included). */
export type RouteHandler = (req: Request, info: Deno.ServeHandlerInfo) => Response | Promise<Response>;

/** Where parts register their HTTP endpoints. */
export interface HttpRoutes {
  /**
   * Registers `handler` for `path`. A path ending in `/*` matches every path
   * below it. Registering a path twice is an error.
   */
  route(path: string, handler: RouteHandler): void;
}

/** Parses `host:port` (IPv6 as `[::1]:8080`). */
export function parseHostPort(addr: string): { hostname: string; port: number } {
  const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(addr);
  if (!m) throw new Error(`bad address ${JSON.stringify(addr)}: expected host:port`);
  const port = Number(m[2]);
  if (port > 65535) throw new Error(`bad port in ${JSON.stringify(addr)}`);
  return { hostname: m[1] || "127.0.0.1", port };
}

/** Who may use the HTTP server: applied to every route but `/health`. */
export interface HttpAccess {
  /** A bearer token every request must carry (`Authorization: Bearer …` or `?token=…`); empty = none. */
  token?: string;
  /** Origins allowed by CORS (and for WebSocket upgrades from browsers); `["*"]` allows all; empty = no CORS. */
  corsOrigins?: string[];
  /** Largest request body accepted (by `Content-Length`); larger ones get 413. */
  maxRequestBytes?: number;
}

/** Paths anyone may reach, token or not: a supervisor's liveness probe must not need a secret. */
const OPEN_PATHS = new Set(["/health"]);

/** Compares secrets in time independent of where they differ. */
function sameSecret(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a), y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

/** The route table and, once started, the server. */
export class HttpServer implements HttpRoutes {
  readonly #exact = new Map<string, RouteHandler>();
  readonly #prefix: [string, RouteHandler][] = [];
  #server?: Deno.HttpServer<Deno.NetAddr>;
  /** Requests refused by the access rules, by reason; the daemon shows them in `/metrics`. */
  readonly refused: Map<string, number> = new Map();

  /**
   * Creates an empty route table; nothing listens before `listen`.
   *
   * @param log where request failures are logged
   * @param access token, CORS and size rules (default: none)
   */
  constructor(readonly log: Logger, readonly access: HttpAccess = {}) {}

  #refuse(reason: string, status: number, headers: HeadersInit = {}): Response {
    this.refused.set(reason, (this.refused.get(reason) ?? 0) + 1);
    return new Response(`${reason}\n`, { status, headers });
  }

  /** The CORS headers for `origin`, or undefined when it is not allowed. */
  #cors(origin: string | null): Record<string, string> | undefined {
    const allowed = this.access.corsOrigins ?? [];
    if (!origin || allowed.length === 0) return undefined;
    if (!allowed.includes("*") && !allowed.includes(origin)) return undefined;
    return { "access-control-allow-origin": allowed.includes("*") ? "*" : origin, vary: "Origin" };
  }

  /** Applies the access rules; a Response when the request is refused or answered (preflight). */
  #check(req: Request, url: URL): Response | undefined {
    const origin = req.headers.get("origin");
    if (req.method === "OPTIONS" && req.headers.has("access-control-request-method")) {
      const cors = this.#cors(origin);
      if (!cors) return this.#refuse("origin not allowed", 403);
      return new Response(null, {
        status: 204,
        headers: {
          ...cors,
          "access-control-allow-methods": "GET, POST, OPTIONS",
          "access-control-allow-headers": "authorization, content-type",
          "access-control-max-age": "600",
        },
      });
    }
    if (OPEN_PATHS.has(url.pathname)) return undefined;
    const token = this.access.token;
    if (token) {
      const auth = req.headers.get("authorization");
      const given = auth?.startsWith("Bearer ") ? auth.slice(7) : url.searchParams.get("token") ?? "";
      if (!sameSecret(given, token)) {
        return this.#refuse("unauthorized", 401, { "www-authenticate": 'Bearer realm="telebus"' });
      }
    }
    // Browsers send Origin on WebSocket upgrades without any CORS check: refuse foreign pages here.
    if (
      req.headers.get("upgrade")?.toLowerCase() === "websocket" && origin && (this.access.corsOrigins ?? []).length > 0
    ) {
      if (!this.#cors(origin)) return this.#refuse("origin not allowed", 403);
    }
    const max = this.access.maxRequestBytes;
    const length = Number(req.headers.get("content-length") ?? 0);
    if (max !== undefined && length > max) return this.#refuse("request too large", 413);
    return undefined;
  }

  /** Registers `handler` for `path` (a trailing `/*` matches every path below it). */
  route(path: string, handler: RouteHandler): void {
    if (path.endsWith("/*")) {
      const p = path.slice(0, -1);
      if (this.#prefix.some(([q]) => q === p)) throw new Error(`HTTP route ${path} registered twice`);
      this.#prefix.push([p, handler]);
      this.#prefix.sort((a, b) => b[0].length - a[0].length);
    } else {
      if (this.#exact.has(path)) throw new Error(`HTTP route ${path} registered twice`);
      this.#exact.set(path, handler);
    }
  }

  /** Dispatches one request to its route (404 when none). */
  async handle(req: Request, info: Deno.ServeHandlerInfo): Promise<Response> {
    const url = new URL(req.url);
    const path = url.pathname;
    const refused = this.#check(req, url);
    if (refused) return refused;
    let h = this.#exact.get(path);
    if (!h) {
      for (const [p, ph] of this.#prefix) {
        if (path.startsWith(p)) {
          h = ph;
          break;
        }
      }
    }
    if (!h) return new Response("not found\n", { status: 404 });
    try {
      const res = await h(req, info);
      const cors = res.status !== 101 ? this.#cors(req.headers.get("origin")) : undefined;
      if (cors) {
        try {
          for (const [k, v] of Object.entries(cors)) res.headers.set(k, v);
        } catch {
          // immutable headers (e.g. a proxied response): leave them
        }
      }
      return res;
    } catch (e) {
      this.log.error("request failed", { path, error: e });
      return new Response("internal error\n", { status: 500 });
    }
  }

  /** Starts listening on `addr` (`host:port`; port 0 picks a free one). Returns the bound address. */
  listen(addr: string): Deno.NetAddr {
    const { hostname, port } = parseHostPort(addr);
    this.#server = Deno.serve({ hostname, port, onListen: () => {} }, (req, info) => this.handle(req, info));
    return this.#server.addr;
  }

  /** The bound address, once listening. */
  get addr(): Deno.NetAddr | undefined {
    return this.#server?.addr;
  }

  /** Stops accepting connections and waits for open requests to finish. */
  async close(): Promise<void> {
    if (!this.#server) return;
    await this.#server.shutdown();
    this.#server = undefined;
  }
}
