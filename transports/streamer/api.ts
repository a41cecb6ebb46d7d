/**
 * The streamer data API (redis-streamer compatible) on a {@linkcode StreamStore}:
 * `ws <path>/{sid}/push`, `ws <path>/{sid}/pull`, `GET` and `POST <path>/{sid}`.
 * One {@linkcode StreamerApi} per store serves the routes; the `streamer`
 * input and output attach to it (registry.ts `acquireStreamerApi`).
 *
 * @module
 */
import type { Logger } from "../../core/log.ts";
import type { PartStats } from "../../core/stats.ts";
import {
  asciiJson,
  clientSid,
  offsetsHeaderValue,
  packEntries,
  parsePullQuery,
  parsePushQuery,
  pullHeaderText,
  type PullOptions,
  type PushOptions,
  splitPush,
  StreamerProtocolError,
  streamKey,
} from "../../protocol/streamer/wire.ts";
import type { StreamStore } from "./store.ts";
import type { StoreConfig } from "./schema.ts";
import type { GraphqlMembership } from "../../net/graphql/hub.ts";
import { sleep } from "../../core/async.ts";
import { advanceCursors, cursorText, fetchEntries, maxId, pullKeys } from "./reads.ts";

/** An entry just added to the store, as the bus side sees it. */
export interface AddedEntry {
  /** Store key (`device:prefix+sid`). */
  readonly key: string;
  /** Its id. */
  readonly id: string;
  /** Its bytes. */
  readonly data: Uint8Array;
}

/** The input side attached to an API: where pushed and posted entries go. */
export interface StreamerSink {
  /** Counters of the input. */
  readonly stats: PartStats;
  /** Puts the entries on the bus; a promise applies back-pressure to the pusher. */
  ingest(entries: readonly AddedEntry[]): Promise<void> | void;
}

/** Frames a push socket may have waiting for the bus before it is closed as too fast. */
const MAX_PENDING_FRAMES = 64;
/** How often a pull whose socket is full checks whether it drained. */
const DRAIN_POLL_MS = 10;
/** A GET that may block longer than this stops waiting when its client goes away. */
const LONG_GET_MS = 2000;
/** A socket that stays CLOSING this long no longer counts against `max_clients`. */
const STUCK_CLOSING_MS = 5000;
/** Most bytes of a WebSocket close reason. */
const MAX_REASON_BYTES = 123;

interface Conn {
  readonly socket: WebSocket;
  readonly peer: string;
  readonly stream: string;
  readonly kind: "push" | "pull";
  readonly abort: AbortController;
  /** Resolves the pending `ack` wait of a pull. */
  onText?: () => void;
  failed?: boolean;
  /** When the socket was first seen CLOSING. */
  closingSince?: number;
}

function truncateReason(text: string): string {
  const enc = new TextEncoder();
  if (enc.encode(text).length <= MAX_REASON_BYTES) return text;
  let s = text;
  while (enc.encode(s + "...").length > MAX_REASON_BYTES) s = s.slice(0, -1);
  return s + "...";
}

function peerOf(info: Deno.ServeHandlerInfo): string {
  const a = info.remoteAddr as Deno.NetAddr;
  return a.hostname.includes(":") ? `[${a.hostname}]:${a.port}` : `${a.hostname}:${a.port}`;
}

/** The message of an error, or the value as text. */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Serves the streamer API for one store. Bad input (a query, a push header, a
 * stale id) is answered with a clear error (HTTP 4xx with `{"error": …}`, or a
 * WebSocket close 1008/1009 whose reason says what is wrong), logged with the
 * peer and stream, and counted (`errors` and `bad_requests` of the attached
 * input, else of the output); the daemon keeps running.
 */
export class StreamerApi {
  readonly #sockets = new Set<Conn>();
  #sink?: StreamerSink;
  #outputStats?: PartStats;
  #closed = false;
  /** The store's place in the GraphQL hub at its path (when a table set `graphql`). */
  graphql?: GraphqlMembership;

  /**
   * Creates the API on a store.
   *
   * @param store where entries live
   * @param config the store keys (path, limits, device prefixing)
   * @param log where bad input and failures are logged
   */
  constructor(readonly store: StreamStore, readonly config: StoreConfig, readonly log: Logger) {}

  /** Attaches (or, with undefined, detaches) the input that puts pushed entries on the bus. */
  set sink(sink: StreamerSink | undefined) {
    this.#sink = sink;
  }

  /** The attached input, if any. */
  get sink(): StreamerSink | undefined {
    return this.#sink;
  }

  /** Counters of the attached output, used when no input is attached. */
  set outputStats(stats: PartStats | undefined) {
    this.#outputStats = stats;
  }

  /** Open push and pull sockets. */
  clients(kind: "push" | "pull"): number {
    let n = 0;
    for (const c of this.#sockets) if (c.kind === kind) n++;
    return n;
  }

  #stats(): PartStats | undefined {
    return this.#sink?.stats ?? this.#outputStats;
  }

  /** Counts `n` under `name` on the attached input, else the output (GraphQL's bad requests go here). */
  count(name: string, n = 1): void {
    this.#stats()?.count(name, n);
  }

  #bad(message: string, fields: Record<string, string>): void {
    const s = this.#stats();
    if (s) {
      s.errors++;
      s.count("bad_requests");
    }
    this.log.warn(message, fields);
  }

  #key(sel: { device: string; prefix: string }, sid: string): string {
    return streamKey(sel, sid, this.config.device_prefixing);
  }

  /** Handles a request below the API's path. */
  async handle(req: Request, info: Deno.ServeHandlerInfo): Promise<Response> {
    const url = new URL(req.url);
    const base = this.config.path + "/";
    let rest = url.pathname.slice(base.length);
    if (rest.endsWith("/")) rest = rest.slice(0, -1);
    const ws = /\/(push|pull)$/.exec(rest);
    let sidPath: string;
    try {
      sidPath = (ws ? rest.slice(0, -5) : rest).split("/").map(decodeURIComponent).join("/");
    } catch {
      return Response.json({ error: "bad percent-encoding in the stream id" }, { status: 400 });
    }
    if (sidPath === "") return Response.json({ error: "no stream id in the path" }, { status: 404 });
    const peer = peerOf(info);
    if (ws) {
      if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
        return new Response(`a WebSocket endpoint: connect with ws://\n`, { status: 426 });
      }
      if (this.#closed) return new Response("stopping\n", { status: 503 });
      this.#sweep();
      if (this.#sockets.size >= this.config.max_clients) {
        this.#stats()?.count("refused_clients");
        return new Response("too many clients\n", { status: 503 });
      }
      return ws[1] === "push"
        ? this.#push(req, peer, sidPath, url.searchParams)
        : this.#pull(req, peer, sidPath, url.searchParams);
    }
    if (req.method === "GET" || req.method === "HEAD") return await this.#get(req, peer, sidPath, url.searchParams);
    if (req.method === "POST") return await this.#post(req, peer, sidPath, url.searchParams);
    return new Response("method not allowed\n", { status: 405, headers: { allow: "GET, POST" } });
  }

  /** Forgets sockets that closed, or stayed CLOSING too long (Deno can leave a dead peer's socket there). */
  #sweep(): void {
    const now = Date.now();
    for (const c of this.#sockets) {
      const state = c.socket.readyState;
      if (state === WebSocket.CLOSED) this.#sockets.delete(c);
      else if (state === WebSocket.CLOSING) {
        c.closingSince ||= now;
        if (now - c.closingSince > STUCK_CLOSING_MS) {
          this.#sockets.delete(c);
          c.abort.abort();
          this.#stats()?.count("stuck_sockets_dropped");
        }
      }
    }
  }

  #open(req: Request, peer: string, stream: string, kind: "push" | "pull"): { conn: Conn; response: Response } {
    const { socket, response } = Deno.upgradeWebSocket(req);
    socket.binaryType = "arraybuffer";
    const conn: Conn = { socket, peer, stream, kind, abort: new AbortController() };
    this.#sockets.add(conn);
    const gone = () => {
      this.#sockets.delete(conn);
      conn.abort.abort();
      conn.onText?.();
    };
    socket.addEventListener("close", gone);
    socket.addEventListener("error", gone);
    return { conn, response };
  }

  /** Closes a socket over bad input: logged with peer and stream, counted, reason sent to the peer. */
  #fail(conn: Conn, code: number, message: string): void {
    if (conn.failed) return;
    conn.failed = true;
    this.#bad(`${conn.kind} ${conn.stream}: ${message}`, { peer: conn.peer, stream: conn.stream });
    conn.abort.abort();
    try {
      conn.socket.close(code, truncateReason(message));
    } catch {
      // already closing
    }
  }

  /** Fails on open when the query was bad (a browser cannot read an HTTP error body of an upgrade). */
  #failOnOpen(conn: Conn, message: string): void {
    conn.socket.addEventListener("open", () => this.#fail(conn, 1008, message), { once: true });
  }

  #push(req: Request, peer: string, sidPath: string, q: URLSearchParams): Response {
    const { conn, response } = this.#open(req, peer, sidPath, "push");
    let opts: PushOptions;
    try {
      opts = parsePushQuery(sidPath, q);
    } catch (e) {
      this.#failOnOpen(conn, errorText(e));
      return response;
    }
    let header: unknown = undefined;
    let chain: Promise<void> = Promise.resolve();
    let pending = 0;
    conn.socket.onmessage = (ev: MessageEvent) => {
      if (conn.failed) return;
      const data: unknown = ev.data;
      const size = typeof data === "string" ? data.length : data instanceof ArrayBuffer ? data.byteLength : 0;
      if (size > this.config.max_message_bytes) {
        return this.#fail(
          conn,
          1009,
          `message of ${size} bytes exceeds max_message_bytes ${this.config.max_message_bytes}`,
        );
      }
      if (++pending > MAX_PENDING_FRAMES) {
        return this.#fail(conn, 1008, `more than ${MAX_PENDING_FRAMES} frames wait for the bus; push slower`);
      }
      chain = chain.then(async () => {
        if (conn.failed) return;
        if (opts.header && header === undefined) {
          if (typeof data !== "string") {
            return this.#fail(conn, 1003, "expected a JSON header text frame before each binary frame");
          }
          try {
            header = JSON.parse(data);
          } catch {
            return this.#fail(conn, 1007, `header is not JSON: ${data.slice(0, 40)}`);
          }
          return;
        }
        if (!(data instanceof ArrayBuffer)) {
          return this.#fail(
            conn,
            1003,
            opts.header ? "expected a binary frame after the header" : "expected a binary frame",
          );
        }
        const h = header;
        header = undefined;
        await this.#pushFrame(conn, opts, h, new Uint8Array(data));
      }).catch((e) => this.#fail(conn, 1011, errorText(e))).finally(() => pending--);
    };
    return response;
  }

  async #pushFrame(conn: Conn, opts: PushOptions, header: unknown, bytes: Uint8Array): Promise<void> {
    let parts;
    try {
      parts = opts.header
        ? splitPush(header, opts.sids, bytes.length)
        : [{ sid: opts.sids[0], id: null, start: 0, end: bytes.length }];
    } catch (e) {
      return this.#fail(conn, 1008, `bad header: ${errorText(e)}`);
    }
    const added: AddedEntry[] = [];
    for (const p of parts) {
      const key = this.#key(opts, p.sid);
      // Copies when the frame holds several entries, so that a trimmed entry does not pin the whole frame.
      const data = parts.length === 1 ? bytes : bytes.slice(p.start, p.end);
      try {
        added.push({ key, id: await this.store.add(key, data, { id: p.id }), data });
      } catch (e) {
        if (added.length > 0) await this.#sink?.ingest(added);
        return this.#fail(conn, e instanceof StreamerProtocolError ? 1008 : 1011, `${key}: ${errorText(e)}`);
      }
    }
    if (opts.ack && conn.socket.readyState === WebSocket.OPEN) conn.socket.send(JSON.stringify(added.map((a) => a.id)));
    await this.#sink?.ingest(added);
  }

  #pull(req: Request, peer: string, sidPath: string, q: URLSearchParams): Response {
    const { conn, response } = this.#open(req, peer, sidPath, "pull");
    let opts: PullOptions;
    try {
      opts = parsePullQuery(sidPath, q, false);
    } catch (e) {
      this.#failOnOpen(conn, errorText(e));
      return response;
    }
    conn.socket.onmessage = () => conn.onText?.();
    // `$` means "from the moment the client connected", before its open event can let it push anything.
    const start = cursorText(opts.cursor);
    conn.socket.addEventListener("open", () => {
      this.#pullLoop(conn, opts, start).catch((e) => this.#fail(conn, 1011, errorText(e)));
    }, { once: true });
    return response;
  }

  async #pullLoop(conn: Conn, opts: PullOptions, start: string): Promise<void> {
    const { socket } = conn, signal = conn.abort.signal;
    const cursors = new Map<string, string>();
    let lastSend = 0;
    while (!signal.aborted && socket.readyState === WebSocket.OPEN) {
      const keys = await pullKeys(this.store, opts, this.config.device_prefixing);
      for (const k of keys) if (!cursors.has(k)) cursors.set(k, start);
      const got = await fetchEntries(this.store, keys, cursors, opts, signal);
      if (signal.aborted) return;
      const { triples, body } = packEntries(advanceCursors(got, cursors, opts, this.config.device_prefixing));
      if (opts.maxFps > 0) {
        const wait = lastSend + 1000 / opts.maxFps - Date.now();
        if (wait > 0) await sleep(wait, signal);
      }
      while (socket.readyState === WebSocket.OPEN && socket.bufferedAmount > this.config.max_buffered) {
        await sleep(DRAIN_POLL_MS, signal);
        if (signal.aborted) return;
      }
      if (signal.aborted || socket.readyState !== WebSocket.OPEN) return;
      const acked = opts.ack ? new Promise<void>((r) => conn.onText = r) : undefined;
      if (opts.header) socket.send(pullHeaderText(triples));
      socket.send(body);
      lastSend = Date.now();
      this.#outputStats?.count("pulled_entries", triples.length);
      if (acked) {
        await acked;
        conn.onText = undefined;
      }
    }
  }

  async #get(req: Request, peer: string, sidPath: string, q: URLSearchParams): Promise<Response> {
    let opts: PullOptions;
    try {
      opts = parsePullQuery(sidPath, q, true);
    } catch (e) {
      this.#bad(`GET ${sidPath}: ${errorText(e)}`, { peer, stream: sidPath });
      return Response.json({ error: errorText(e) }, { status: 422 });
    }
    const start = cursorText(opts.cursor);
    const keys = await pullKeys(this.store, opts, this.config.device_prefixing);
    const cursors = new Map(keys.map((k) => [k, start]));
    // Only a long wait watches for the client going away: touching `req.signal` makes Deno print a one-time
    // warning about its legacy abort-after-response behaviour, and a short wait ends soon anyway.
    const signal = opts.block === 0 || opts.block > LONG_GET_MS ? req.signal : new AbortController().signal;
    const got = await fetchEntries(this.store, keys, cursors, opts, signal);
    const { triples, body } = packEntries(advanceCursors(got, cursors, opts, this.config.device_prefixing));
    let last = start;
    for (const c of cursors.values()) last = maxId(last, c);
    const perStream: Record<string, string> = {};
    for (const [k, c] of cursors) perStream[clientSid(k, opts.keepDevice, this.config.device_prefixing)] = c;
    return new Response(req.method === "HEAD" ? null : body, {
      headers: {
        "content-type": "application/octet-stream",
        "x-offsets": offsetsHeaderValue(triples),
        "x-last-entry-id": last,
        "x-last-entry-ids": asciiJson(perStream),
      },
    });
  }

  async #post(req: Request, peer: string, sidPath: string, q: URLSearchParams): Promise<Response> {
    const bad = (status: number, message: string) => {
      this.#bad(`POST ${sidPath}: ${message}`, { peer, stream: sidPath });
      return Response.json({ error: message }, { status });
    };
    if (sidPath !== "*" && sidPath.includes("+")) {
      return bad(400, "POST takes one stream id, or * to take the stream ids from the file names");
    }
    const device = q.get("device_id") ?? "default", prefix = q.get("prefix") ?? "";
    if (device.includes("*")) return bad(400, "device_id must not hold * when posting");
    let form: FormData;
    try {
      form = await req.formData();
    } catch (e) {
      return bad(400, `expected multipart/form-data with file parts named entries (${errorText(e)})`);
    }
    const parts = form.getAll("entries");
    if (parts.length === 0) return bad(400, "no part named entries");
    const entries: { key: string; data: Uint8Array }[] = [];
    for (const p of parts) {
      let sid = sidPath;
      if (sidPath === "*") {
        if (typeof p === "string" || !p.name) return bad(400, "with stream id * every part needs a file name");
        sid = p.name;
      }
      const data = typeof p === "string" ? new TextEncoder().encode(p) : new Uint8Array(await p.arrayBuffer());
      if (data.length > this.config.max_message_bytes) {
        return bad(413, `an entry of ${data.length} bytes exceeds max_message_bytes ${this.config.max_message_bytes}`);
      }
      entries.push({ key: this.#key({ device, prefix }, sid), data });
    }
    const added: AddedEntry[] = [];
    for (const e of entries) {
      try {
        added.push({ ...e, id: await this.store.add(e.key, e.data) });
      } catch (err) {
        if (added.length > 0) await this.#sink?.ingest(added);
        return bad(err instanceof StreamerProtocolError ? 400 : 500, `${e.key}: ${errorText(err)}`);
      }
    }
    await this.#sink?.ingest(added);
    return Response.json(added.map((a) => a.id));
  }

  /** Closes every socket (1001) and the store. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const c of this.#sockets) {
      c.abort.abort();
      c.onText?.();
      try {
        c.socket.close(1001, "telebus is stopping");
      } catch {
        // already closed
      }
    }
    this.#sockets.clear();
    await this.store.close();
  }
}
