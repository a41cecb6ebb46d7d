/**
 * The WebSocket fan-out: records pushed to WebSocket clients on the daemon's
 * HTTP server. The `websocket` output is this; `dashboard` and dataRT's
 * server (influxdb/datart.ts) serve their feeds with it.
 *
 * - `protocol = "telebus"` (default, at `/ws/records`): MessagePack (binary)
 *   or JSON (text) frames; a client picks streams by glob with
 *   `?streams=robot/*,lab/*` or by sending `{"subscribe": ["robot/*"]}`, and a
 *   format with `?format=json|msgpack`.
 * - `protocol = "datart"` (at `/ws/client`, `/ws/echo`, `/status`): dataRT's
 *   surface, so its pages work unchanged: one JSON text frame per record (an
 *   InfluxDB point dictionary echoed unchanged), `/status` →
 *   `{"clients":N,"status":"up","version":…}`, `/ws/echo` → `got: <message>`.
 *
 * `write` never waits for clients: each client has its own bounded holding
 * area and slow-client policy (see client.ts), so one stalled browser cannot
 * slow the bus or the other clients.
 *
 * @module
 */
import type { Output, OutputContext } from "../../core/transport.ts";
import type { BusRecord } from "../../core/record.ts";
import { RecordRejects } from "../../core/reject.ts";
import { VERSION } from "../../version.ts";
import { type ClientDrops, WsClient } from "./client.ts";
import type { FrameFormat } from "./frames.ts";
import type { WebsocketServerOptions } from "../../config/websocket.ts";

/** How often held records are retried and stuck sockets looked for. */
const TICK_MS = 20;
/** A socket that stays CLOSING this long is dropped (Deno can leave a dead peer's socket there). */
const STUCK_CLOSING_MS = 5000;

/** Records pushed to WebSocket clients on the daemon's HTTP server (the `websocket` output, and others' feeds). */
export class WebsocketOutput implements Output {
  readonly #clients = new Set<WsClient>();
  readonly #config: WebsocketServerOptions;
  readonly #ctx: OutputContext;
  readonly #drops: ClientDrops = { latest: 0, oldest: 0, disconnected: 0 };
  #timer?: ReturnType<typeof setInterval>;
  #closed = false;
  readonly #rejects: RecordRejects;
  /** Records already counted as refused (every client that selects one finds it unencodable). */
  readonly #refused = new WeakSet<BusRecord>();

  /**
   * Registers the routes on the daemon's HTTP server.
   *
   * @param config the validated table
   * @param ctx the output's context
   */
  constructor(config: WebsocketServerOptions, ctx: OutputContext) {
    this.#config = config;
    this.#ctx = ctx;
    this.#rejects = new RecordRejects(ctx.stats, ctx.log);
    const stats = ctx.stats;
    stats.gauges.set("clients", () => this.#clients.size);
    stats.gauges.set("client_drops_latest", () => this.#drops.latest);
    stats.gauges.set("client_drops_oldest", () => this.#drops.oldest);
    stats.gauges.set("clients_disconnected_slow", () => this.#drops.disconnected);
    if (config.protocol === "datart") {
      const base = config.path ?? "/ws";
      ctx.http.route(`${base}/client`, (req) => this.#upgrade(req, "datart", undefined));
      ctx.http.route(`${base}/echo`, (req) => this.#echo(req));
      ctx.http.route("/status", () => Response.json({ clients: this.#clients.size, status: "up", version: VERSION }));
      ctx.log.info("dataRT WebSocket", { clients: `${base}/client`, echo: `${base}/echo`, status: "/status" });
    } else {
      const path = config.path ?? "/ws/records";
      ctx.http.route(path, (req) => {
        const url = new URL(req.url);
        const streams = url.searchParams.get("streams")?.split(",").filter((s) => s);
        const format = url.searchParams.get("format") ?? config.format;
        if (format !== "json" && format !== "msgpack") {
          return new Response(`format must be json or msgpack\n`, { status: 400 });
        }
        return this.#upgrade(req, format, streams);
      });
      ctx.log.info("WebSocket records", { path, format: config.format });
    }
  }

  #upgrade(req: Request, format: FrameFormat, streams: string[] | undefined): Response {
    if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return new Response("a WebSocket endpoint: connect with ws://\n", { status: 426 });
    }
    if (this.#closed) return new Response("stopping\n", { status: 503 });
    if (this.#clients.size >= this.#config.max_clients) {
      this.#ctx.stats.count("refused_clients");
      return new Response("too many clients\n", { status: 503 });
    }
    const { socket, response } = Deno.upgradeWebSocket(req);
    socket.binaryType = "arraybuffer";
    const c = this.#config;
    const client = new WsClient(
      socket,
      {
        format,
        batch: c.batch,
        maxBuffered: c.max_buffered,
        policy: c.slow_client,
        queue: c.client_queue,
      },
      this.#drops,
      streams,
    );
    client.onReject = (r, e) => {
      if (this.#refused.has(r)) return;
      this.#refused.add(r);
      this.#rejects.rejectError(r, e, { format });
    };
    socket.onopen = () => {
      this.#clients.add(client);
      this.#startTimer();
    };
    socket.onclose = () => this.#clients.delete(client);
    socket.onerror = () => this.#clients.delete(client);
    socket.onmessage = (ev) => this.#onMessage(client, ev.data);
    return response;
  }

  #onMessage(client: WsClient, data: unknown): void {
    const stats = this.#ctx.stats;
    const size = typeof data === "string" ? data.length : data instanceof ArrayBuffer ? data.byteLength : 0;
    if (size > this.#config.max_message_bytes) {
      stats.count("bad_client_messages");
      client.socket.close(1009, "message too big");
      return;
    }
    if (client.options.format === "datart") {
      // dataRT hands client messages to an optional callback; telebus has none: count them.
      stats.count("client_messages");
      return;
    }
    try {
      const msg = JSON.parse(typeof data === "string" ? data : new TextDecoder().decode(data as ArrayBuffer));
      if (Array.isArray(msg?.subscribe) && msg.subscribe.every((s: unknown) => typeof s === "string")) {
        client.subscribe(msg.subscribe);
        stats.count("subscriptions");
        return;
      }
    } catch {
      // not JSON: reported below
    }
    stats.count("bad_client_messages");
    this.#ctx.log.warn('client message not understood (expected {"subscribe": [globs]})', { bytes: size });
  }

  #echo(req: Request): Response {
    if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return new Response("a WebSocket endpoint\n", { status: 426 });
    }
    const { socket, response } = Deno.upgradeWebSocket(req);
    socket.onmessage = (ev) => {
      if (typeof ev.data === "string" && ev.data.length <= this.#config.max_message_bytes) {
        socket.send(`got: ${ev.data}`);
      }
    };
    return response;
  }

  #startTimer(): void {
    this.#timer ??= setInterval(() => this.#tick(), TICK_MS);
  }

  #tick(): void {
    const now = Date.now();
    for (const client of this.#clients) {
      const s = client.socket.readyState;
      if (s === WebSocket.OPEN) {
        client.drain();
      } else if (s === WebSocket.CLOSING) {
        client.closingSince ||= now;
        if (now - client.closingSince > STUCK_CLOSING_MS) {
          this.#clients.delete(client);
          this.#ctx.stats.count("stuck_sockets_dropped");
        }
      } else if (s === WebSocket.CLOSED) this.#clients.delete(client);
    }
    if (this.#clients.size === 0) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  /** Offers the batch to every client; never waits for them. */
  write(records: BusRecord[]): void {
    let bytes = 0;
    for (const client of this.#clients) {
      const before = client.socket.bufferedAmount;
      client.offer(records);
      bytes += Math.max(0, client.socket.bufferedAmount - before);
    }
    this.#ctx.stats.bytes += bytes;
  }

  /** Closes every client (1001, going away). */
  close(): Promise<void> {
    this.#closed = true;
    for (const c of this.#clients) {
      for (let i = 0; i < 3 && c.holding; i++) c.drain();
      try {
        c.socket.close(1001, "telebus is stopping");
      } catch {
        // already closed
      }
    }
    this.#clients.clear();
    clearInterval(this.#timer);
    this.#timer = undefined;
    return Promise.resolve();
  }
}
