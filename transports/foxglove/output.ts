/**
 * The `foxglove` output: a Foxglove WebSocket protocol server
 * (`foxglove.websocket.v1`) on its own listener, for the Foxglove app and
 * PlotJuggler. One channel per stream (JSON with an inferred JSON Schema),
 * `messageData` with the record's time as log time, `time` messages with the
 * newest record time. The listener applies the daemon's rules (token, origin,
 * DNS rebinding) with the daemon's own code (`core/http.ts` `HttpServer`).
 *
 * With `services = true`, the daemon's callable commands (`core/commands.ts`)
 * are Foxglove services (services.ts), re-advertised as they come and go.
 *
 * `write` never waits for clients: a slow client gets the newest record of
 * each channel when it catches up (see client.ts).
 *
 * @module
 */
import type { Output, OutputContext } from "../../core/transport.ts";
import type { BusRecord } from "../../core/record.ts";
import { HttpServer, isLoopback } from "../../core/http.ts";
import { within } from "../../core/async.ts";
import { RecordRejects } from "../../core/reject.ts";
import { VERSION } from "../../version.ts";
import { type ClientCounts, FoxgloveClient, jsonPayload } from "./client.ts";
import { ChannelTable, type StreamChannel } from "./channels.ts";
import { ClientBinaryOpcode, type ClientMessage, ServerCapability, StatusLevel, SUBPROTOCOL } from "./protocol.ts";
import { checkServices, parseCallRequest, ServiceTable } from "./services.ts";
import type { FoxgloveConfig } from "./schema.ts";

/** How often held records are retried and stuck sockets looked for. */
const TICK_MS = 20;
/** A socket that stays CLOSING this long is dropped (Deno can leave a dead peer's socket there). */
const STUCK_CLOSING_MS = 5000;

/** The Foxglove WebSocket server. */
export class FoxgloveOutput implements Output {
  readonly #clients = new Set<FoxgloveClient>();
  readonly #config: FoxgloveConfig;
  readonly #ctx: OutputContext;
  readonly #http: HttpServer;
  readonly #channels: ChannelTable;
  readonly #counts: ClientCounts = { superseded: 0, bytes: 0 };
  readonly #rejects: RecordRejects;
  readonly #sessionId = String(Date.now());
  #timer?: ReturnType<typeof setInterval>;
  /** The services, when `services = true` and the daemon has a command registry. */
  readonly #services?: ServiceTable;
  readonly #stopWatching?: () => void;
  #closed = false;
  #newest = 0n;
  /** Bytes already added to the output's counter (which outlives this output across a reload). */
  #bytesCounted = 0;

  private constructor(config: FoxgloveConfig, ctx: OutputContext) {
    this.#config = config;
    this.#ctx = ctx;
    this.#channels = new ChannelTable(config.max_channels);
    this.#rejects = new RecordRejects(ctx.stats, ctx.log);
    const tls = config.tls_cert ? { certFile: config.tls_cert, keyFile: config.tls_key } : ctx.tls;
    this.#http = new HttpServer(ctx.log, { token: ctx.token || undefined, corsOrigins: config.origins, tls });
    this.#http.route("/*", (req) => this.#upgrade(req));
    if (config.services && ctx.commands) {
      const services = this.#services = new ServiceTable(ctx.commands);
      this.#stopWatching = ctx.commands.onChange(() => this.#servicesChanged(services));
    }
    const g = ctx.stats.gauges;
    g.set("clients", () => this.#clients.size);
    g.set("channels", () => this.#channels.size);
    g.set("client_drops_latest", () => this.#counts.superseded);
    // Upgrades the access rules refused, as the daemon's server counts them.
    g.set("refused_origin", () => this.#http.refused.get("origin not allowed") ?? 0);
    g.set("refused_unauthorized", () => this.#http.refused.get("unauthorized") ?? 0);
  }

  /** Listens on the configured address; fails at start-up when the port is taken. */
  static create(config: FoxgloveConfig, ctx: OutputContext): FoxgloveOutput {
    // A plan that bypassed the configuration loader is checked here.
    const refused = checkServices(config, { token: ctx.token ?? "" });
    if (refused) throw new Error(refused.message);
    const out = new FoxgloveOutput(config, ctx);
    const addr = out.#http.listen(config.listen);
    ctx.log.info("Foxglove WebSocket server", { listen: `${addr.hostname}:${addr.port}`, tls: out.#http.secure });
    if (!out.#http.secure && !isLoopback(addr.hostname)) {
      ctx.log.warn(
        "the Foxglove listener is reachable from other machines without TLS: the data (and any token) " +
          "cross the network in clear; set tls_cert and tls_key (here or in [daemon])",
      );
    }
    return out;
  }

  /** The port listened on (useful with port 0). */
  get port(): number {
    return this.#http.addr?.port ?? 0;
  }

  #upgrade(req: Request): Response {
    if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return new Response(`a Foxglove WebSocket server: connect with ws:// and subprotocol ${SUBPROTOCOL}\n`, {
        status: 426,
      });
    }
    const offered = (req.headers.get("sec-websocket-protocol") ?? "").split(",").map((p) => p.trim());
    if (!offered.includes(SUBPROTOCOL)) {
      this.#ctx.stats.count("refused_clients");
      return new Response(`subprotocol ${SUBPROTOCOL} required\n`, { status: 400 });
    }
    if (this.#closed) return new Response("stopping\n", { status: 503 });
    if (this.#clients.size >= this.#config.max_clients) {
      this.#ctx.stats.count("refused_clients");
      return new Response("too many clients\n", { status: 503 });
    }
    const { socket, response } = Deno.upgradeWebSocket(req, { protocol: SUBPROTOCOL });
    socket.binaryType = "arraybuffer";
    const client = new FoxgloveClient(socket, this.#config.max_buffered, this.#counts);
    socket.onopen = () => {
      this.#clients.add(client);
      this.#timer ??= setInterval(() => this.#tick(), TICK_MS);
      client.sendJson({
        op: "serverInfo",
        name: this.#config.server_name,
        capabilities: this.#config.services
          ? [ServerCapability.time, ServerCapability.services]
          : [ServerCapability.time],
        supportedEncodings: ["json"],
        metadata: { server: "telebus", version: VERSION },
        sessionId: this.#sessionId,
      });
      const channels = this.#channels.channels;
      if (channels.length > 0) client.sendJson({ op: "advertise", channels });
      if (this.#newest > 0n) client.time(this.#newest);
      const services = this.#services?.services ?? [];
      if (services.length > 0) client.sendJson({ op: "advertiseServices", services });
    };
    const gone = () => {
      this.#clients.delete(client);
      this.#services?.forget(client);
    };
    socket.onclose = gone;
    socket.onerror = gone;
    socket.onmessage = (ev) => this.#onMessage(client, ev.data);
    return response;
  }

  #status(client: FoxgloveClient, level: number, message: string): void {
    client.sendJson({ op: "status", level, message });
  }

  #onMessage(client: FoxgloveClient, data: unknown): void {
    const stats = this.#ctx.stats;
    const size = typeof data === "string" ? data.length : data instanceof ArrayBuffer ? data.byteLength : 0;
    if (size > this.#config.max_message_bytes) {
      stats.count("bad_client_messages");
      client.socket.close(1009, "message too big");
      return;
    }
    if (typeof data !== "string") return this.#onBinary(client, data);
    let msg: ClientMessage;
    try {
      msg = JSON.parse(data);
    } catch {
      stats.count("bad_client_messages");
      this.#status(client, StatusLevel.ERROR, "client message is not JSON");
      return;
    }
    if (msg?.op === "subscribe" && Array.isArray(msg.subscriptions)) {
      for (const s of msg.subscriptions) this.#subscribe(client, s?.id, s?.channelId);
    } else if (msg?.op === "unsubscribe" && Array.isArray(msg.subscriptionIds)) {
      for (const id of msg.subscriptionIds) {
        if (client.unsubscribe(id)) stats.count("unsubscriptions");
        else this.#status(client, StatusLevel.WARNING, `subscription ${id} does not exist; ignoring unsubscription`);
      }
    } else {
      stats.count("bad_client_messages");
      this.#status(client, StatusLevel.WARNING, `operation ${JSON.stringify(msg?.op)} is not supported`);
    }
  }

  #onBinary(client: FoxgloveClient, data: unknown): void {
    const frame = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array();
    const req = frame[0] === ClientBinaryOpcode.SERVICE_CALL_REQUEST ? parseCallRequest(frame) : undefined;
    if (!this.#services || !req) {
      // Client publish is not declared; a call without `services` (or a torn one) is not understood.
      this.#ctx.stats.count("bad_client_messages");
      const what = this.#services
        ? "malformed service call"
        : "binary client messages are not supported by this server";
      return this.#status(client, StatusLevel.ERROR, what);
    }
    this.#ctx.stats.count("service_calls");
    this.#services.call(client, req).catch((e) => this.#ctx.log.warn("service call failed", { error: e }));
  }

  #servicesChanged(services: ServiceTable): void {
    const { added, removed } = services.sync();
    for (const client of this.#clients) {
      if (removed.length) client.sendJson({ op: "unadvertiseServices", serviceIds: removed });
      if (added.length) client.sendJson({ op: "advertiseServices", services: added });
    }
  }

  #subscribe(client: FoxgloveClient, id: unknown, channelId: unknown): void {
    if (typeof id !== "number" || typeof channelId !== "number") {
      return this.#status(client, StatusLevel.ERROR, "subscribe: id and channelId must be numbers");
    }
    if (client.subscriptions.has(id)) {
      return this.#status(client, StatusLevel.ERROR, `subscription id ${id} already used; ignoring subscription`);
    }
    if (client.byChannel.has(channelId)) {
      return this.#status(client, StatusLevel.WARNING, `already subscribed to channel ${channelId}; ignoring`);
    }
    const c = this.#channels.byId(channelId);
    if (!c) return this.#status(client, StatusLevel.WARNING, `channel ${channelId} is not available; ignoring`);
    client.subscriptions.set(id, channelId);
    client.byChannel.set(channelId, id);
    this.#ctx.stats.count("subscriptions");
    // The newest record at once: a channel that sends once a minute shows its value now.
    if (c.latest) {
      client.check();
      this.#offer(client, c, c.latest);
    }
  }

  #offer(client: FoxgloveClient, c: StreamChannel, r: BusRecord): void {
    let payload: Uint8Array;
    try {
      payload = jsonPayload(r);
    } catch (e) {
      this.#rejects.rejectError(r, e, { format: "json" });
      return;
    }
    client.offer(c.channel.id, r, payload);
  }

  #tick(): void {
    const now = Date.now();
    for (const client of this.#clients) {
      const s = client.socket.readyState;
      if (s === WebSocket.OPEN) client.drain();
      else if (s === WebSocket.CLOSING) {
        client.closingSince ||= now;
        if (now - client.closingSince > STUCK_CLOSING_MS) {
          this.#clients.delete(client);
          this.#ctx.stats.count("stuck_sockets_dropped");
        }
      } else if (s === WebSocket.CLOSED) this.#clients.delete(client);
    }
    this.#countBytes();
    if (this.#clients.size === 0) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  /** Advertises new channels, sends each record to the clients subscribed to its channel; never waits for them. */
  write(records: BusRecord[]): void {
    let newest = this.#newest;
    for (const client of this.#clients) client.check();
    for (const r of records) {
      const { channel, change } = this.#channels.place(r);
      if (!channel) {
        this.#ctx.stats.count("records_beyond_max_channels");
        continue;
      }
      if (change) this.#announce(change.added, change.removed);
      channel.latest = r;
      if (r.time > newest) newest = r.time;
      for (const client of this.#clients) {
        if (client.byChannel.has(channel.channel.id)) this.#offer(client, channel, r);
      }
    }
    if (newest > this.#newest) {
      this.#newest = newest;
      for (const client of this.#clients) client.time(newest);
    }
    this.#countBytes();
  }

  #countBytes(): void {
    this.#ctx.stats.bytes += this.#counts.bytes - this.#bytesCounted;
    this.#bytesCounted = this.#counts.bytes;
  }

  #announce(added: StreamChannel["channel"], removed: number | undefined): void {
    if (removed !== undefined) this.#ctx.stats.count("readvertised");
    for (const client of this.#clients) {
      if (removed !== undefined) {
        client.forget(removed);
        client.sendJson({ op: "unadvertise", channelIds: [removed] });
      }
      client.sendJson({ op: "advertise", channels: [added] });
    }
  }

  /** Closes every client (1001, going away) and the listener. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#stopWatching?.();
    for (const c of this.#clients) {
      c.drain();
      try {
        c.socket.close(1001, "telebus is stopping");
      } catch {
        // already closed
      }
    }
    this.#clients.clear();
    clearInterval(this.#timer);
    this.#timer = undefined;
    await within(this.#http.close(), 2000);
  }
}
