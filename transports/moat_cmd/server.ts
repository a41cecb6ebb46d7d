/**
 * The telebus MoaT server: peers connect over TCP and call telebus's own
 * commands. It is two parts of one `listen` address, because an input can
 * put records on the bus but cannot see it, and an output sees the bus but
 * cannot put records on it:
 *
 * - `[[inputs.moat_cmd]] listen = …` answers `pub` (one record, or a
 *   `stream_w` of records, each accepted by the bus before the next is read,
 *   so the writer is throttled by flow credits);
 * - `[[outputs.moat_cmd]] listen = …` answers `sub` (a `stream_r` of the bus
 *   records whose stream matches the peer's globs; each peer has a bounded
 *   queue whose oldest records are dropped and counted, so a slow peer never
 *   stalls the bus), `latest`, `streams` and `stats`.
 *
 * Either part alone runs the server; a command whose part is missing answers
 * with an error that names it. Unknown commands answer `-11` (`-12` for an
 * unknown second path element). With the daemon's `token` set, a connection
 * must authenticate first (see `auth.ts`).
 *
 * @module
 */
import type { Input, InputContext, Output, OutputContext } from "../../core/transport.ts";
import type { BusRecord, Dict } from "../../core/record.ts";
import { makeRecord, nowNs, nsToSeconds, secondsToNs } from "../../core/record.ts";
import { globMatcher } from "../../core/glob.ts";
import { RecordRejects } from "../../core/reject.ts";
import type { Logger } from "../../core/log.ts";
import type { PartStats } from "../../core/stats.ts";
import { isPlainDict } from "../../codecs/moat_values.ts";
import { Endpoint, type Overflow, type Request } from "../../protocol/moat_cmd/endpoint.ts";
import { ConnectionClosed, MoatError, RemoteError } from "../../protocol/moat_cmd/errors.ts";
import { AUTH_COMMAND } from "./auth.ts";
import { sameSecret } from "../../core/http.ts";
import { type MoatCodec, parseHostPort, runConnection } from "./connection.ts";
import { toDict } from "./values.ts";
import type { MoatInputConfig, MoatOutputConfig } from "./schema.ts";

/** The commands the server offers. */
export const SERVER_COMMANDS = ["pub", "sub", "streams", "latest", "stats"] as const;

/** The input side attached to a hub. */
interface PubSide {
  ctx: InputContext;
}

/** A `sub` peer: its globs and bounded queue. */
interface Subscriber {
  match: (stream: string) => boolean;
  queue: BusRecord[];
  max: number;
  wake?: () => void;
  dropped: number;
}

/** The bus side attached to a hub. */
interface SubSide {
  ctx: OutputContext;
  config: MoatOutputConfig;
  subs: Set<Subscriber>;
  latest: Map<string, BusRecord>;
  counts: Map<string, number>;
  /** Refuses a record beyond the codecs' limits alone (it could not be sent, and would spoil `latest`). */
  rejects: RecordRejects;
}

/** One listening server, shared by the input and the output of the same `listen`. */
class Hub {
  pub?: PubSide;
  sub?: SubSide;
  #listener?: Deno.TcpListener;
  #conns = new Set<Deno.Conn>();
  #abort = new AbortController();
  #accepting?: Promise<void>;
  #users = 0;
  #log: Logger;
  #stats: PartStats;
  #codec: MoatCodec;
  #queue: number;
  #credits: boolean;
  #overflow: Overflow;
  #maxClients: number;
  #token: string;
  #authTimeout: number;

  constructor(readonly listen: string, opts: HubOptions) {
    this.#log = opts.log;
    this.#stats = opts.stats;
    this.#codec = opts.codec;
    this.#queue = opts.queue;
    this.#credits = opts.credits;
    this.#overflow = opts.overflow;
    this.#maxClients = opts.maxClients;
    this.#token = opts.token;
    this.#authTimeout = opts.authTimeout;
  }

  /** Starts listening on first use. */
  attach(): void {
    if (this.#listener) {
      this.#users++;
      return;
    }
    const { hostname, port } = parseHostPort(this.listen);
    try {
      this.#listener = Deno.listen({ hostname, port });
    } catch (e) {
      // A port in use: forget this hub, so that a later attempt starts afresh.
      if (this.#users === 0 && hubs.get(this.listen) === this) hubs.delete(this.listen);
      throw e;
    }
    this.#users++;
    const addr = this.#listener.addr as Deno.NetAddr;
    this.#log.info("moat server listening", { listen: `${addr.hostname}:${addr.port}` });
    this.#accepting = this.#accept();
  }

  /** The bound address (port 0 resolved). */
  get address(): string {
    const a = this.#listener?.addr as Deno.NetAddr | undefined;
    return a ? `${a.hostname}:${a.port}` : this.listen;
  }

  /** Stops when the last part detaches: closes the listener and every connection. */
  async detach(): Promise<void> {
    if (--this.#users > 0) return;
    hubs.delete(this.listen);
    this.#abort.abort();
    try {
      this.#listener?.close();
    } catch {
      // Already closed.
    }
    await this.#accepting;
  }

  async #accept(): Promise<void> {
    const running = new Set<Promise<void>>();
    try {
      for await (const conn of this.#listener!) {
        const r = conn.remoteAddr as Deno.NetAddr;
        const peer = `${r.hostname}:${r.port}`;
        if (this.#conns.size >= this.#maxClients) {
          this.#stats.count("refused");
          this.#log.warn(`moat ${peer}: refused, ${this.#maxClients} peers already connected`);
          conn.close();
          continue;
        }
        this.#conns.add(conn);
        const p = this.#serve(conn, peer).finally(() => {
          this.#conns.delete(conn);
          running.delete(p);
        });
        running.add(p);
      }
    } catch (e) {
      if (!this.#abort.signal.aborted) this.#log.error(`moat server: accept failed: ${(e as Error).message}`);
    }
    await Promise.all(running);
  }

  async #serve(conn: Deno.Conn, peer: string): Promise<void> {
    this.#stats.count("connections");
    this.#log.info(`moat ${peer}: connected`);
    const onIssue = (kind: string, detail: string) => {
      this.#stats.errors++;
      this.#stats.count(kind);
      this.#log.warn(`moat ${peer}: ${detail}`, { peer, kind });
    };
    // With a token, nothing but auth(token) is answered until it came; anything else ends the connection.
    let authed = this.#token === "";
    const refuse = (why: string): never => {
      this.#stats.errors++;
      this.#stats.count("auth_failed");
      this.#log.warn(`moat ${peer}: not authenticated: ${why}; closing`, { peer });
      // Closing the endpoint lets the writer send the error reply first, then it closes the socket.
      setTimeout(() => ep.close(new ConnectionClosed("not authenticated")), 0);
      throw new RemoteError("PermissionError", [why]);
    };
    const ep: Endpoint = new Endpoint({
      handler: (req) => {
        const isAuth = req.path.length === 1 && req.path[0] === AUTH_COMMAND;
        if (isAuth) {
          const given = req.args[0];
          if (this.#token !== "" && !(typeof given === "string" && sameSecret(given, this.#token))) {
            if (authed) throw new RemoteError("PermissionError", ["wrong token"]);
            return refuse("wrong token");
          }
          authed = true;
          clearTimeout(timer);
          return true;
        }
        if (!authed) return refuse(`authenticate first: the first command must be ${AUTH_COMMAND}(token)`);
        return this.#handle(req, peer);
      },
      queue: this.#queue,
      credits: this.#credits,
      overflow: this.#overflow,
      onIssue,
    });
    const timer = authed ? undefined : setTimeout(() => {
      this.#stats.count("auth_timeout");
      this.#log.warn(`moat ${peer}: no ${AUTH_COMMAND} within ${this.#authTimeout} ms; closing`, { peer });
      ep.close(new ConnectionClosed("not authenticated in time"));
    }, this.#authTimeout);
    await runConnection(conn, ep, {
      codec: this.#codec,
      signal: this.#abort.signal,
      onIssue,
      onBytes: (dir, n) => {
        if (dir === "in") this.#stats.bytes += n;
      },
    });
    clearTimeout(timer);
    this.#log.info(`moat ${peer}: disconnected`);
  }

  #handle(req: Request, peer: string): unknown {
    const name = req.path[0];
    if (typeof name !== "string" || !(SERVER_COMMANDS as readonly string[]).includes(name)) {
      this.#stats.count("unknown_command");
      throw new MoatError(-11);
    }
    if (req.path.length > 1) throw new MoatError(-12);
    this.#stats.count(`cmd_${name}`);
    switch (name) {
      case "pub":
        return this.#pub(req, peer);
      case "sub":
        return this.#sub(req);
      case "streams":
        return Object.fromEntries(this.#needSub("streams").counts);
      case "latest": {
        const side = this.#needSub("latest");
        const r = typeof req.args[0] === "string" ? side.latest.get(req.args[0]) : undefined;
        return r ? [r.stream, nsToSeconds(r.time), r.data] : null;
      }
      case "stats": {
        const parts = this.#needSub("stats").ctx.parts?.() ?? [];
        return parts.map((p) => p.toJSON());
      }
    }
  }

  #needSub(cmd: string): SubSide {
    if (!this.sub) {
      throw new RemoteError("NotConfigured", [`${cmd} needs an [[outputs.moat_cmd]] listen = "${this.listen}"`]);
    }
    return this.sub;
  }

  /** `pub(stream, data, time?)`, or `pub` as a stream of `[stream, data, time?]` items. */
  async #pub(req: Request, peer: string): Promise<unknown> {
    const side = this.pub;
    if (!side) throw new RemoteError("NotConfigured", [`pub needs an [[inputs.moat_cmd]] listen = "${this.listen}"`]);
    const { ctx } = side;
    if (!req.stream) {
      const rec = toRecord(req.args, ctx.name);
      if (typeof rec === "string") throw bad(ctx, peer, rec);
      ctx.stats.records++;
      await ctx.emit([rec]);
      return 1;
    }
    const st = req.streamR();
    let n = 0;
    for await (const item of st) {
      const rec = toRecord(item, ctx.name);
      if (typeof rec === "string") {
        // One bad item is reported and skipped; the stream goes on.
        bad(ctx, peer, rec);
        continue;
      }
      n++;
      ctx.stats.records++;
      // Waiting for the bus here is the flow control: the item after this one is read (and credit granted
      // for it) only once the bus took this one.
      const p = ctx.emit([rec]);
      if (p) await p;
    }
    return n;
  }

  /** `sub(glob, …)`: a stream of `[stream, time, data]` for every bus record whose stream matches. */
  async #sub(req: Request): Promise<unknown> {
    const side = this.#needSub("sub");
    const globs = req.args.filter((a): a is string => typeof a === "string");
    const s: Subscriber = {
      match: globMatcher(globs.length ? globs : undefined),
      queue: [],
      max: side.config.sub_queue,
      dropped: 0,
    };
    side.subs.add(s);
    const st = req.streamW("sub", globs);
    // Wake the waiting loop when the peer ends or cancels, the connection closes, or the output stops.
    let ended = false;
    const end = () => {
      ended = true;
      s.wake?.();
    };
    req.signal.addEventListener("abort", end, { once: true });
    st.done().then(end, end);
    try {
      while (!ended && this.sub === side) {
        if (s.queue.length === 0) {
          await new Promise<void>((r) => s.wake = r);
          s.wake = undefined;
          continue;
        }
        const r = s.queue.shift()!;
        await st.send(r.stream, nsToSeconds(r.time), r.data);
      }
    } catch {
      // The peer ended or cancelled the stream, or the connection closed.
    } finally {
      side.subs.delete(s);
      req.signal.removeEventListener("abort", end);
    }
    return s.dropped;
  }

  /** Called by the output with each batch of bus records. */
  deliver(records: BusRecord[]): void {
    const side = this.sub;
    if (!side) return;
    for (const r of side.rejects.admit(records)) {
      if (!side.counts.has(r.stream) && side.counts.size >= side.config.max_streams) {
        side.ctx.stats.count("streams_over_limit");
      } else {
        side.counts.set(r.stream, (side.counts.get(r.stream) ?? 0) + 1);
        side.latest.set(r.stream, r);
      }
      for (const s of side.subs) {
        if (!s.match(r.stream)) continue;
        if (s.queue.length >= s.max) {
          s.queue.shift();
          s.dropped++;
          side.ctx.stats.drop("sub_slow");
        }
        s.queue.push(r);
        s.wake?.();
      }
    }
  }
}

function bad(ctx: InputContext, peer: string, why: string): RemoteError {
  ctx.stats.errors++;
  ctx.stats.count("bad_pub");
  ctx.log.warn(`moat ${peer}: pub: ${why}`, { peer });
  return new RemoteError("ValueError", [why]);
}

/** `[stream, data, time?]` or `[{stream, data, time?}]` as a record, or why not. */
function toRecord(item: readonly unknown[], source: string): BusRecord | string {
  let [stream, data, time] = item;
  if (item.length === 1 && isPlainDict(item[0])) ({ stream, data, time } = item[0]);
  if (typeof stream !== "string" || stream === "") return "expected a stream name (a string) first";
  if (!isPlainDict(data)) return `stream ${stream}: expected a dictionary of data`;
  const d: Dict = toDict(data);
  const t = typeof time === "number" && Number.isFinite(time) ? secondsToNs(time) : nowNs();
  return makeRecord(stream, t, d, source);
}

/** How a hub runs; the first part of an address to start decides. */
interface HubOptions {
  log: Logger;
  stats: PartStats;
  codec: MoatCodec;
  queue: number;
  credits: boolean;
  overflow: Overflow;
  maxClients: number;
  /** The daemon's token; empty: no authentication step. */
  token: string;
  /** Milliseconds a connection has to authenticate. */
  authTimeout: number;
}

/** Servers by `listen` address, so that an input and an output of the same address share one. */
const hubs = new Map<string, Hub>();

function hubFor(
  listen: string,
  log: Logger,
  stats: PartStats,
  c: {
    codec: MoatCodec;
    queue: number;
    credits: boolean;
    overflow: Overflow;
    max_clients: number;
    auth_timeout: number;
  },
  token: string,
): Hub {
  let h = hubs.get(listen);
  if (!h) {
    h = new Hub(listen, {
      log,
      stats,
      codec: c.codec,
      queue: c.queue,
      credits: c.credits,
      overflow: c.overflow,
      maxClients: c.max_clients,
      token,
      authTimeout: c.auth_timeout,
    });
    hubs.set(listen, h);
  }
  return h;
}

/**
 * The server-mode input: answers `pub` until stopped. Given the daemon's
 * context it binds when created, so that a port in use fails the start (or a
 * reload) at once rather than the running input.
 */
export function createMoatServerInput(
  config: MoatInputConfig,
  ctx?: { log: Logger; stats?: PartStats; token?: string },
): Input {
  let hub: Hub | undefined;
  if (ctx?.stats) {
    hub = hubFor(config.listen!, ctx.log, ctx.stats, config, ctx.token ?? "");
    hub.attach();
  }
  return {
    async run(ctx: InputContext): Promise<void> {
      if (!hub) {
        hub = hubFor(config.listen!, ctx.log, ctx.stats, config, ctx.token ?? "");
        hub.attach();
      }
      hub.pub = { ctx };
      await new Promise<void>((r) => {
        if (ctx.signal.aborted) return r();
        ctx.signal.addEventListener("abort", () => r(), { once: true });
      });
      hub.pub = undefined;
      await hub.detach();
    },
  };
}

/** The server's bus side: answers `sub`, `latest`, `streams`, `stats`. */
export function createMoatServerOutput(config: MoatOutputConfig, ctx: OutputContext): Output & { address: string } {
  const hub = hubFor(config.listen, ctx.log, ctx.stats, config, ctx.token ?? "");
  hub.sub = {
    ctx,
    config,
    subs: new Set(),
    latest: new Map(),
    counts: new Map(),
    rejects: new RecordRejects(ctx.stats, ctx.log),
  };
  hub.attach();
  return {
    get address() {
      return hub.address;
    },
    write(records: BusRecord[]): void {
      hub.deliver(records);
    },
    async close(): Promise<void> {
      const side = hub.sub;
      hub.sub = undefined;
      for (const s of side?.subs ?? []) s.wake?.();
      await hub.detach();
    },
  };
}
