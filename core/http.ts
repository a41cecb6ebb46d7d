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

/** The route table and, once started, the server. */
export class HttpServer implements HttpRoutes {
  readonly #exact = new Map<string, RouteHandler>();
  readonly #prefix: [string, RouteHandler][] = [];
  #server?: Deno.HttpServer<Deno.NetAddr>;

  /**
   * Creates an empty route table; nothing listens before `listen`.
   *
   * @param log where request failures are logged
   */
  constructor(readonly log: Logger) {}

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
    const path = new URL(req.url).pathname;
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
      return await h(req, info);
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
