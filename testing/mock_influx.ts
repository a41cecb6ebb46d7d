/**
 * A MOCK InfluxDB for tests (not InfluxDB): a loopback HTTP server that
 * records every request (path, query, headers, body — gunzipped when sent
 * gzipped) and answers with what the test scripts. The default answer is 204.
 *
 * @module
 */

/** One request as the mock saw it. */
export interface MockRequest {
  /** HTTP method. */
  method: string;
  /** Path. */
  path: string;
  /** Query parameters. */
  query: Record<string, string>;
  /** Headers (lower-case names). */
  headers: Record<string, string>;
  /** The body as text (gunzipped). */
  body: string;
  /** The body's lines. */
  lines: string[];
  /** The status the mock answered. */
  status?: number;
}

/** What the mock answers: a status, a JSON or text body, headers. */
export interface MockAnswer {
  /** Status (default 204). */
  status?: number;
  /** A body: objects are sent as JSON. */
  body?: unknown;
  /** Extra headers (e.g. `retry-after`). */
  headers?: Record<string, string>;
  /** Milliseconds to wait before answering (a slow server). */
  delay?: number;
}

/** The mock server. */
export class MockInflux {
  /** Every request so far. */
  readonly requests: MockRequest[] = [];
  /** Requests being answered now. */
  inFlight = 0;
  /** The most requests there ever were at once. */
  maxInFlight = 0;
  /** Answers used in order, one per request; when empty, `respond` decides. */
  readonly script: (MockAnswer | ((r: MockRequest) => MockAnswer))[] = [];
  /** The answer once the script is used up (default: 204). */
  respond: (r: MockRequest) => MockAnswer = () => ({ status: 204 });
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;

  /** Starts listening on a free loopback port. */
  constructor() {
    this.#server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => this.#handle(req));
    this.url = `http://127.0.0.1:${this.#server.addr.port}`;
  }

  async #handle(req: Request): Promise<Response> {
    this.maxInFlight = Math.max(this.maxInFlight, ++this.inFlight);
    try {
      return await this.#answer(req);
    } finally {
      this.inFlight--;
    }
  }

  async #answer(req: Request): Promise<Response> {
    const url = new URL(req.url);
    let bytes = new Uint8Array(await req.arrayBuffer());
    if (req.headers.get("content-encoding") === "gzip") {
      const s = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
      bytes = new Uint8Array(await new Response(s).arrayBuffer());
    }
    const body = new TextDecoder().decode(bytes);
    const r: MockRequest = {
      method: req.method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: Object.fromEntries(req.headers),
      body,
      lines: body === "" ? [] : body.split("\n"),
    };
    this.requests.push(r);
    const next = this.script.shift();
    const a = next === undefined ? this.respond(r) : typeof next === "function" ? next(r) : next;
    // A slow server on purpose, as the test scripted it.
    if (a.delay) await new Promise((resolve) => setTimeout(resolve, a.delay));
    const status = a.status ?? 204;
    r.status = status;
    const text = a.body === undefined ? null : typeof a.body === "string" ? a.body : JSON.stringify(a.body);
    return new Response(status === 204 ? null : text, {
      status,
      headers: { ...(typeof a.body === "object" ? { "content-type": "application/json" } : {}), ...a.headers },
    });
  }

  /** Every line of the requests answered with success, in order. */
  get writtenLines(): string[] {
    return this.requests.filter((r) => (r.status ?? 0) < 300).flatMap((r) => r.lines);
  }

  /** Stops the server. */
  async close(): Promise<void> {
    await this.#server.shutdown();
  }
}
