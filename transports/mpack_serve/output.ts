/**
 * The `mpack_serve` output: mpacklog's `serve` protocol, so that mpackview
 * (and anything else that speaks it) connects unchanged. A client sends
 * `get` and receives the newest dictionary as one MessagePack object with no
 * length prefix (`80`, the empty map, before any record arrived).
 *
 * Differences from mpacklog, deliberate: it serves the newest record of any
 * bus stream it selects (not only one file chosen at start-up); requests that
 * arrive together in one read (`getget`) each get their reply instead of
 * none (the original then hangs its client); `stop` from a client is ignored
 * (a remote client must not stop the daemon) and logged; it binds loopback
 * unless told otherwise.
 *
 * @module
 */
import type { DaemonCheckProblem, Output, OutputContext } from "../../core/transport.ts";
import type { BusRecord } from "../../core/record.ts";
import { isLoopback, parseHostPort } from "../../core/http.ts";
import { recordMsgpack } from "../../codecs/msgpack.ts";
import { RecordRejects } from "../../core/reject.ts";
import type { MpackServeConfig } from "./schema.ts";

/** The reply before any record arrived: an empty map, as mpacklog sends. */
const EMPTY_MAP = new Uint8Array([0x80]);
/** mpacklog reads requests in 4096-byte chunks; a longer request is no request. */
const REQUEST_BYTES = 4096;

/** What one read from a client asks for: how many `get`s, whether it said `stop`, or nothing valid. */
export function parseRequest(chunk: Uint8Array): { gets: number; stop: boolean } | undefined {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(chunk).trim();
  } catch {
    return undefined; // invalid UTF-8: mpacklog does not reply either
  }
  if (text === "stop") return { gets: 0, stop: true };
  // mpacklog answers only a chunk that is exactly "get"; several that arrived together are several requests.
  const m = /^(?:get\s*)+$/.exec(text);
  if (!m) return undefined;
  return { gets: text.split(/get/).length - 1, stop: false };
}

/**
 * mpacklog's clients cannot send a token: with `[daemon] token` set, only a loopback address is served unless
 * the table says `public = true`.
 */
export function checkPublic(config: MpackServeConfig, daemon: { token: string }): DaemonCheckProblem | undefined {
  if (!daemon.token || config.public || isLoopback(parseHostPort(config.listen).hostname)) return undefined;
  return {
    key: "listen",
    message: `${JSON.stringify(config.listen)} is reachable from other machines while [daemon] token is set, ` +
      `and mpacklog's clients cannot send a token: listen on 127.0.0.1, or set public = true to serve it anyway`,
  };
}

/** The output: keeps the newest record's bytes and serves them on request. */
export class MpackServeOutput implements Output {
  #latest: Uint8Array = EMPTY_MAP;
  readonly #listener: Deno.TcpListener;
  readonly #conns = new Set<Deno.TcpConn>();
  readonly #ctx: OutputContext;
  readonly #rejects: RecordRejects;
  readonly #maxClients: number;
  readonly #accepting: Promise<void>;

  private constructor(listener: Deno.TcpListener, config: MpackServeConfig, ctx: OutputContext) {
    this.#listener = listener;
    this.#ctx = ctx;
    this.#rejects = new RecordRejects(ctx.stats, ctx.log);
    this.#maxClients = config.max_clients;
    ctx.stats.gauges.set("clients", () => this.#conns.size);
    this.#accepting = this.#accept();
  }

  /**
   * Listens on the configured address; fails at start-up when the port is taken, or when the address is not
   * loopback while the daemon has a token and the table does not say `public = true`.
   */
  static create(config: MpackServeConfig, ctx: OutputContext): MpackServeOutput {
    const refused = checkPublic(config, { token: ctx.token ?? "" });
    if (refused) throw new Error(`mpack_serve ${ctx.name}: ${refused.message}`);
    const { hostname, port } = parseHostPort(config.listen);
    const listener = Deno.listen({ hostname, port, transport: "tcp" });
    const out = new MpackServeOutput(listener, config, ctx);
    ctx.log.info("serving the newest record (mpacklog serve protocol)", { listen: `${hostname}:${out.port}` });
    return out;
  }

  /** The port listened on (useful with port 0). */
  get port(): number {
    return (this.#listener.addr as Deno.NetAddr).port;
  }

  /** Keeps the newest record of the batch, encoded once. */
  write(records: BusRecord[]): void {
    // The newest record that can be encoded within the codecs' limits; one that cannot is refused alone.
    for (let i = records.length - 1; i >= 0; i--) {
      const r = records[i];
      let bytes: Uint8Array;
      try {
        bytes = recordMsgpack(r);
      } catch (e) {
        this.#rejects.rejectError(r, e);
        continue;
      }
      this.#latest = bytes;
      return;
    }
  }

  async #accept(): Promise<void> {
    for (;;) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
      } catch {
        return; // listener closed
      }
      if (this.#conns.size >= this.#maxClients) {
        this.#ctx.stats.count("refused_clients");
        this.#ctx.log.warn("too many clients; connection refused", {
          peer: peerOf(conn),
          max_clients: this.#maxClients,
        });
        conn.close();
        continue;
      }
      this.#conns.add(conn);
      this.#serve(conn).finally(() => this.#conns.delete(conn));
    }
  }

  async #serve(conn: Deno.TcpConn): Promise<void> {
    const peer = peerOf(conn);
    const buf = new Uint8Array(REQUEST_BYTES);
    const stats = this.#ctx.stats;
    try {
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) return;
        const req = parseRequest(buf.subarray(0, n));
        if (!req) {
          stats.count("bad_requests");
          this.#ctx.log.warn("request not understood; no reply (as mpacklog)", { peer, bytes: n });
          continue;
        }
        if (req.stop) {
          this.#ctx.log.info("ignoring 'stop' from a client: only the daemon's owner stops it", { peer });
          continue;
        }
        for (let i = 0; i < req.gets; i++) {
          // One snapshot per reply: a record arriving meanwhile is served to the next request.
          const reply = this.#latest;
          for (let o = 0; o < reply.length;) o += await conn.write(reply.subarray(o));
          stats.bytes += reply.length;
          stats.count("requests");
        }
      }
    } catch (e) {
      if (!(e instanceof Deno.errors.BadResource || e instanceof Deno.errors.ConnectionReset)) {
        this.#ctx.log.warn("client connection failed", { peer, error: e });
      }
    } finally {
      try {
        conn.close();
      } catch {
        // closed by close() already
      }
    }
  }

  /** Stops listening and closes every client. */
  async close(): Promise<void> {
    this.#listener.close();
    for (const c of this.#conns) {
      try {
        c.close();
      } catch {
        // already closed
      }
    }
    await this.#accepting;
  }
}

function peerOf(conn: Deno.TcpConn): string {
  const a = conn.remoteAddr as Deno.NetAddr;
  return `${a.hostname}:${a.port}`;
}
