/**
 * The daemon's one HTTP server. Parts register routes on it; `/health` and
 * `/metrics` are the daemon's own.
 *
 * @module
 */
import type { Logger } from "./log.ts";
import { within } from "./async.ts";

/** Handles one HTTP request (WebSocket upgrades included). */
export type RouteHandler = (req: Request, info: Deno.ServeHandlerInfo) => Response | Promise<Response>;

/** Where parts register their HTTP endpoints. */
export interface HttpRoutes {
  /**
   * Registers `handler` for `path`. A path ending in `/*` matches every path
   * below it. Registering a path twice is an error.
   */
  route(path: string, handler: RouteHandler): void;
  /**
   * The daemon-wide route table, when this one belongs to a single part: for
   * routes several parts share (a streamer store), which stay until the daemon
   * stops. A part's own routes go when the part stops (a reload).
   */
  readonly shared?: HttpRoutes;
}

/** Parses `host:port` (IPv6 as `[::1]:8080`). */
export function parseHostPort(addr: string): { hostname: string; port: number } {
  const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(addr);
  if (!m) throw new Error(`bad address ${JSON.stringify(addr)}: expected host:port`);
  const port = Number(m[2]);
  if (port > 65535) throw new Error(`bad port in ${JSON.stringify(addr)}`);
  return { hostname: m[1] || "127.0.0.1", port };
}

/** Whether `hostname` only reaches this machine (127.0.0.0/8, ::1, localhost). */
export function isLoopback(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h.endsWith(".localhost") || h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h) ||
    /^::ffff:127\./.test(h);
}

/** Who may use the HTTP server. */
export interface HttpAccess {
  /**
   * A bearer token every request but `/health` must carry (`Authorization: Bearer …`, `?token=…`, or the session
   * cookie set when a browser came with `?token=`); empty = none.
   */
  token?: string;
  /**
   * Foreign origins allowed (CORS headers, preflights, WebSocket upgrades); `["*"]` allows all. Requests whose
   * `Origin` is neither the server's own nor listed are refused with 403.
   */
  corsOrigins?: string[];
  /** Largest request body accepted (by `Content-Length`); larger ones get 413. */
  maxRequestBytes?: number;
  /** Serve HTTPS (and WSS) with this PEM certificate chain file and private key file. */
  tls?: { certFile: string; keyFile: string };
}

/** Paths anyone may reach, token or not: a supervisor's liveness probe must not need a secret. */
const OPEN_PATHS = new Set(["/health"]);

/**
 * `Sec-Fetch-Site` values of requests a page of another origin made: the session cookie is not honoured for them
 * (SameSite=Strict keeps it from other sites, but not from other ports of the same host).
 */
const FOREIGN_FETCH = new Set(["cross-site", "same-site"]);

/** Compares secrets in time independent of where they differ. */
export function sameSecret(a: string, b: string): boolean {
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
  /**
   * The session cookie's value and the token it was derived from, so that the cookie never holds the token
   * itself. Derived when a request first needs it, with WebCrypto: `node:crypto` alone costs ~5 MiB of RSS.
   */
  #session?: { token: string; value: string };
  /** Requests refused by the access rules, by reason; the daemon shows them in `/metrics`. */
  readonly refused: Map<string, number> = new Map();

  /**
   * Creates an empty route table; nothing listens before `listen`.
   *
   * @param log where request failures are logged
   * @param access token, origin, size and TLS rules (default: none)
   */
  constructor(readonly log: Logger, readonly access: HttpAccess = {}) {}

  /** The session cookie's value for `token`: HMAC-SHA256 of a fixed text, base64url without padding. */
  async #sessionOf(token: string): Promise<string> {
    if (this.#session?.token !== token) {
      const text = new TextEncoder();
      const key = await crypto.subtle.importKey("raw", text.encode(token), { name: "HMAC", hash: "SHA-256" }, false, [
        "sign",
      ]);
      const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, text.encode("telebus session cookie v1")));
      this.#session = { token, value: mac.toBase64({ alphabet: "base64url", omitPadding: true }) };
    }
    return this.#session.value;
  }

  /** Whether the server speaks HTTPS. */
  get secure(): boolean {
    return this.access.tls !== undefined;
  }

  /** The session cookie's name: per port, since browsers share cookies between the ports of a host. */
  get cookieName(): string {
    return `telebus_session_${this.#server?.addr.port ?? 0}`;
  }

  #refuse(reason: string, status: number, headers: HeadersInit = {}): Response {
    this.refused.set(reason, (this.refused.get(reason) ?? 0) + 1);
    return new Response(`${reason}\n`, { status, headers });
  }

  /** True when `origin` (an `Origin` header) is not the server's own scheme, host and port. */
  #foreign(origin: string, url: URL): boolean {
    try {
      const o = new URL(origin);
      return o.protocol !== url.protocol || o.host !== url.host;
    } catch {
      return true; // "null" (sandboxed frames, file: pages) and anything unparsable
    }
  }

  /** Whether `cors_origins` lets the foreign `origin` in. */
  #listed(origin: string): boolean {
    const allowed = this.access.corsOrigins ?? [];
    return allowed.includes("*") || allowed.includes(origin);
  }

  /** The CORS headers for a listed foreign `origin`, or undefined. */
  #cors(origin: string | null, url: URL): Record<string, string> | undefined {
    if (!origin || !this.#foreign(origin, url) || !this.#listed(origin)) return undefined;
    const any = (this.access.corsOrigins ?? []).includes("*");
    return { "access-control-allow-origin": any ? "*" : origin, vary: "Origin" };
  }

  /** Whether the server listens on a loopback address only. */
  get #loopbackOnly(): boolean {
    const a = this.#server?.addr;
    return a !== undefined && isLoopback(a.hostname);
  }

  /** The session cookie's value in the request, if any. */
  #cookie(req: Request): string | undefined {
    const name = this.cookieName + "=";
    for (const part of (req.headers.get("cookie") ?? "").split(";")) {
      const p = part.trim();
      if (p.startsWith(name)) return p.slice(name.length);
    }
    return undefined;
  }

  /**
   * Applies the access rules; a Response when the request is refused or answered (preflight). `setCookie` is
   * true when a browser authenticated with `?token=` and should get the session cookie.
   */
  #check(req: Request, url: URL, session: string | undefined): { refused?: Response; setCookie?: boolean } {
    const origin = req.headers.get("origin");
    // A page of another origin may not drive the daemon, unless cors_origins lists it. Tools (curl, the
    // originals' clients) send no Origin; browsers send it on every POST, every cross-origin fetch and every
    // WebSocket upgrade.
    if (origin !== null && this.#foreign(origin, url) && !this.#listed(origin)) {
      return { refused: this.#refuse("origin not allowed", 403) };
    }
    // DNS rebinding: a page of evil.example whose name was made to point at 127.0.0.1 is "same origin" by the
    // rule above. A server on loopback is reached by a browser under a loopback name only, so a browser's
    // request (Origin or Sec-Fetch-Site present) for another host name is foreign unless cors_origins lists it.
    const browser = origin !== null || req.headers.has("sec-fetch-site");
    if (browser && this.#loopbackOnly && !isLoopback(url.hostname) && !(origin !== null && this.#listed(origin))) {
      return { refused: this.#refuse("host not allowed", 403) };
    }
    if (req.method === "OPTIONS" && req.headers.has("access-control-request-method")) {
      const cors = this.#cors(origin, url);
      if (!cors) return { refused: this.#refuse("origin not allowed", 403) };
      return {
        refused: new Response(null, {
          status: 204,
          headers: {
            ...cors,
            "access-control-allow-methods": "GET, POST, OPTIONS",
            "access-control-allow-headers": "authorization, content-type",
            "access-control-max-age": "600",
          },
        }),
      };
    }
    if (OPEN_PATHS.has(url.pathname)) return {};
    const token = this.access.token;
    let setCookie = false;
    if (token) {
      const auth = req.headers.get("authorization");
      const query = url.searchParams.get("token");
      const cookie = this.#cookie(req);
      const fromOtherPage = FOREIGN_FETCH.has(req.headers.get("sec-fetch-site") ?? "");
      let ok: boolean;
      if (auth?.startsWith("Bearer ")) ok = sameSecret(auth.slice(7), token);
      else if (query !== null) ok = sameSecret(query, token);
      else ok = cookie !== undefined && !fromOtherPage && sameSecret(cookie, session!);
      if (!ok) return { refused: this.#refuse("unauthorized", 401, { "www-authenticate": 'Bearer realm="telebus"' }) };
      setCookie = query !== null && !auth && !fromOtherPage && cookie !== session &&
        req.headers.get("upgrade") === null;
    }
    const max = this.access.maxRequestBytes;
    const length = Number(req.headers.get("content-length") ?? 0);
    if (max !== undefined && length > max) return { refused: this.#refuse("request too large", 413) };
    return { setCookie };
  }

  /** The session cookie, as a `Set-Cookie` value. */
  #sessionCookie(session: string | undefined): string {
    return `${this.cookieName}=${session}; Path=/; HttpOnly; SameSite=Strict${this.secure ? "; Secure" : ""}`;
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

  /** Removes the route of `path` (as registered, `/*` included); nothing when there is none. */
  unroute(path: string): void {
    if (path.endsWith("/*")) {
      const p = path.slice(0, -1);
      const i = this.#prefix.findIndex(([q]) => q === p);
      if (i >= 0) this.#prefix.splice(i, 1);
    } else this.#exact.delete(path);
  }

  /** Dispatches one request to its route (404 when none). */
  async handle(req: Request, info: Deno.ServeHandlerInfo): Promise<Response> {
    const url = new URL(req.url);
    const path = url.pathname;
    const token = this.access.token;
    const session = !token
      ? undefined
      : this.#session?.token === token
      ? this.#session.value
      : await this.#sessionOf(token);
    const { refused, setCookie } = this.#check(req, url, session);
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
      let res = await h(req, info);
      if (res.status === 101) return res;
      const extra: Record<string, string> = { ...this.#cors(req.headers.get("origin"), url) };
      if (setCookie) extra["set-cookie"] = this.#sessionCookie(session);
      if (Object.keys(extra).length === 0) return res;
      try {
        for (const [k, v] of Object.entries(extra)) res.headers.set(k, v);
      } catch {
        // Immutable headers (e.g. a proxied response): copy it.
        res = new Response(res.body, res);
        for (const [k, v] of Object.entries(extra)) res.headers.set(k, v);
      }
      return res;
    } catch (e) {
      this.log.error("request failed", { path, error: e });
      return new Response("internal error\n", { status: 500 });
    }
  }

  /**
   * Starts listening on `addr` (`host:port`; port 0 picks a free one), with TLS when the access rules say so.
   * Returns the bound address.
   */
  listen(addr: string): Deno.NetAddr {
    this.#server = this.#serve(addr, this.access.tls);
    return this.#server.addr;
  }

  #serve(addr: string, tls: HttpAccess["tls"]): Deno.HttpServer<Deno.NetAddr> {
    const { hostname, port } = parseHostPort(addr);
    const handler = (req: Request, info: Deno.ServeHandlerInfo<Deno.NetAddr>) => this.handle(req, info);
    if (tls) {
      const read = (what: string, file: string) => {
        try {
          return Deno.readTextFileSync(file);
        } catch (e) {
          throw new Error(`[daemon] ${what} ${JSON.stringify(file)}: cannot read: ${(e as Error).message}`);
        }
      };
      const cert = read("tls_cert", tls.certFile), key = read("tls_key", tls.keyFile);
      return Deno.serve({ hostname, port, cert, key, onListen: () => {} }, handler);
    }
    return Deno.serve({ hostname, port, onListen: () => {} }, handler);
  }

  /** The server's base URL (`http://host:port/` or `https://…`), once listening. */
  get url(): string | undefined {
    const a = this.#server?.addr;
    if (!a) return undefined;
    return `${this.secure ? "https" : "http"}://${
      a.hostname.includes(":") ? `[${a.hostname}]` : a.hostname
    }:${a.port}/`;
  }

  /**
   * Binds `addr` (with `tls`, or plain) beside the current listener, serving
   * the same routes: a reload binds the new listener before it lets the old
   * one go. Throws when it cannot bind; then nothing changed. Pass the result
   * to `switchTo`, or shut it down.
   */
  bindNext(addr: string, tls: HttpAccess["tls"]): Deno.HttpServer<Deno.NetAddr> {
    return this.#serve(addr, tls);
  }

  /**
   * Makes `next` (from `bindNext`; undefined for none) the listener, with the
   * TLS it was bound with, and closes the previous one (waits at most 2 s).
   */
  async switchTo(next: Deno.HttpServer<Deno.NetAddr> | undefined, tls: HttpAccess["tls"]): Promise<void> {
    const prev = this.#server;
    this.#server = next;
    this.access.tls = tls;
    if (prev) await within(prev.shutdown(), 2000);
  }

  /** Applies new token, origin and size rules at once (a reload); the session cookie follows the token. */
  setAccess(access: Omit<HttpAccess, "tls">): void {
    this.access.token = access.token;
    this.access.corsOrigins = access.corsOrigins;
    this.access.maxRequestBytes = access.maxRequestBytes;
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

/**
 * The routes of one part on the daemon's server: registered there, and all
 * removed by `release` when the part stops, so that its successor (a reload)
 * can register them again.
 */
export class PartRoutes implements HttpRoutes {
  readonly #paths: string[] = [];

  /**
   * Creates the empty route list of one part.
   *
   * @param shared the daemon's server
   */
  constructor(readonly shared: HttpServer) {}

  /** Registers `handler` for `path` on the daemon's server, remembering it for `release`. */
  route(path: string, handler: RouteHandler): void {
    this.shared.route(path, handler);
    this.#paths.push(path);
  }

  /** Removes every route this part registered. */
  release(): void {
    for (const p of this.#paths) this.shared.unroute(p);
    this.#paths.length = 0;
  }
}
