/**
 * What `tap` and `top` share: where the running daemon is (the shipped
 * configuration's `[daemon] http`, `TELEBUS_HTTP`, or `--url`), its token
 * (`--token` or `TELEBUS_TOKEN`, as in examples/live.toml), and requests
 * whose failures say what went wrong in words: no daemon at that address,
 * a missing or refused token, a path nothing serves.
 *
 * @module
 */

/** The shipped telemetry.toml's `[daemon] http` when `TELEBUS_HTTP` is not set. */
export const DEFAULT_HTTP = "127.0.0.1:8080";

/** A failure to report on stderr as it is (exit 1). */
export class DaemonHttpError extends Error {
  /** The HTTP status, when the daemon answered. */
  readonly status?: number;

  /**
   * Creates an error whose message is meant for the user.
   *
   * @param message what went wrong, with the URL
   * @param status the HTTP status, when there was one
   */
  constructor(message: string, status?: number) {
    super(message);
    this.name = "DaemonHttpError";
    this.status = status;
  }
}

/**
 * The daemon's base URL (`http://host:port`, or `https://`) from `--url` (`host:port`, `http(s)://…` or
 * `ws(s)://…`; a path is kept) or else `TELEBUS_HTTP`, else the shipped default.
 */
export function daemonUrl(url: string | undefined): URL {
  const given = url ?? (Deno.env.get("TELEBUS_HTTP") || DEFAULT_HTTP);
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(given) ? given : `http://${given}`;
  let u: URL;
  try {
    u = new URL(withScheme);
  } catch {
    throw new DaemonHttpError(`--url ${JSON.stringify(given)}: not a URL (expected host:port or ws://host:port/path)`);
  }
  if (u.protocol === "ws:") u.protocol = "http:";
  else if (u.protocol === "wss:") u.protocol = "https:";
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    throw new DaemonHttpError(`--url ${JSON.stringify(given)}: expected host:port, http(s):// or ws(s)://`);
  }
  return u;
}

/** The token from `--token`, else `TELEBUS_TOKEN` (empty or unset: none). */
export function daemonToken(token: string | undefined): string | undefined {
  const t = token ?? Deno.env.get("TELEBUS_TOKEN");
  return t ? t : undefined;
}

/** The `Authorization` header for `token`, if any. */
export function authHeaders(token: string | undefined): Record<string, string> {
  return token ? { authorization: `Bearer ${token}` } : {};
}

/** The URL as the user should read it: `ws://` for WebSocket endpoints, without the query. */
export function shownUrl(u: URL, websocket = false): string {
  const s = new URL(u.href);
  s.search = "";
  if (websocket) s.protocol = s.protocol === "https:" ? "wss:" : "ws:";
  return s.href;
}

/** The innermost cause's message of a failed fetch (Deno nests the OS error in `cause`). */
function causeText(e: unknown): string {
  const parts: string[] = [];
  for (let c: unknown = e; c instanceof Error && parts.length < 5; c = c.cause) parts.push(c.message);
  return parts.join(": ");
}

/** The message for a request that never got an answer. */
export function unreachable(shown: string, e: unknown): DaemonHttpError {
  const text = causeText(e);
  if (/connection refused/i.test(text)) {
    return new DaemonHttpError(
      `cannot connect to ${shown}: connection refused — is the telebus daemon running, with [daemon] http at ` +
        `that address? (--url or TELEBUS_HTTP choose another)`,
    );
  }
  if (e instanceof DOMException && e.name === "TimeoutError") {
    return new DaemonHttpError(`no answer from ${shown} within ${REQUEST_TIMEOUT_MS / 1000} s`);
  }
  return new DaemonHttpError(`cannot reach ${shown}: ${text}`);
}

/** The message for a refused request (401, 403), or undefined for other statuses. */
export function refusal(shown: string, status: number, body: string, token: string | undefined): string | undefined {
  if (status === 401) {
    return token
      ? `${shown}: 401 unauthorized: the daemon refused the token (check --token or TELEBUS_TOKEN against ` +
        `[daemon] token)`
      : `${shown}: 401 unauthorized: the daemon needs a token ([daemon] token): pass --token or set TELEBUS_TOKEN`;
  }
  if (status === 403) return `${shown}: 403 forbidden: ${body.trim() || "refused"}`;
  return undefined;
}

/** How long one request may take before the daemon counts as not answering. */
export const REQUEST_TIMEOUT_MS = 5000;

/**
 * GETs `url` with the token; returns status and body. Throws {@linkcode DaemonHttpError} when nothing answers,
 * naming `shown` (default: the URL itself).
 */
export async function getText(
  url: URL,
  token: string | undefined,
  shown = shownUrl(url),
): Promise<{ status: number; text: string }> {
  let res: Response;
  try {
    res = await fetch(url, { headers: authHeaders(token), signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  } catch (e) {
    throw unreachable(shown, e);
  }
  return { status: res.status, text: await res.text() };
}
