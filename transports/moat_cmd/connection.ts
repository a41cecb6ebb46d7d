/**
 * Runs a MoaT-Cmd {@linkcode Endpoint} over a byte stream (TCP, a pipe, a
 * serial device) or a WebSocket: decodes incoming messages into the
 * endpoint, encodes what it sends. Reading waits while the endpoint's
 * outgoing backlog is full, so a peer that sends faster than it reads is
 * slowed down by TCP instead of growing a queue; and while a stream item is
 * for a reader whose queue is full ({@linkcode Endpoint.admit}), so a peer that
 * ignores flow credits (moat-lib-cmd 0.4.x) is slowed down the same way
 * instead of losing items.
 *
 * @module
 */
import { ConnectionClosed } from "../../protocol/moat_cmd/errors.ts";
import {
  encodeMessage,
  encodeSerialFrame,
  type FrameIssue,
  type MoatCodec,
  SerialDecoder,
  type StreamDecoder,
  streamDecoder,
} from "../../protocol/moat_cmd/framing.ts";
import { concatBytes } from "../../core/bytes.ts";

export { encodeMessage, type MoatCodec, type StreamDecoder, streamDecoder } from "../../protocol/moat_cmd/framing.ts";
import type { Endpoint } from "../../protocol/moat_cmd/endpoint.ts";

/** How messages are delimited on a byte stream. */
export type MoatFraming = "stream" | "serial";

/** A reliable, ordered byte stream: a TCP connection, a pipe, a serial device opened as a file. */
export interface ByteStream {
  /** Reads into `buf`; the count, or null at the end. */
  read(buf: Uint8Array): Promise<number | null>;
  /** Writes some of `buf`; the count written. */
  write(buf: Uint8Array): Promise<number>;
  /** Closes the stream (a pending read then fails or ends). */
  close(): void;
}

/** Options of {@linkcode runConnection}. */
export interface ConnectionOptions {
  /** Wire codec (default `cbor`). */
  codec?: MoatCodec;
  /**
   * `stream` (default): messages back to back (TCP, pipes, USB). `serial`: each message in a SerialPacker
   * frame (`0x85`, length, payload, CRC-16); bytes between frames are console output.
   */
  framing?: MoatFraming;
  /** Serial framing: largest payload (default 127, as SerialPacker). */
  maxPacket?: number;
  /** Serial framing: console bytes between frames (default: dropped). */
  onConsole?: (bytes: Uint8Array) => void;
  /** Stops the connection when aborted. */
  signal?: AbortSignal;
  /** Bad bytes (garbage, truncation) and unencodable messages, for logging and counting. */
  onIssue?: (kind: string, detail: string) => void;
  /** Counts bytes in and out. */
  onBytes?: (dir: "in" | "out", n: number) => void;
}

/** Read size, as moat-lib-cmd's 4096 B reads but larger for throughput. */
const READ_SIZE = 64 * 1024;

/**
 * Pumps messages between `conn` and `ep` until either side ends or `signal`
 * aborts; then closes both. Resolves when fully stopped.
 */
export async function runConnection(conn: ByteStream, ep: Endpoint, options: ConnectionOptions = {}): Promise<void> {
  const codec = options.codec ?? "cbor";
  // Messages are small and often answered at once: Nagle's algorithm with delayed ACKs would hold every
  // second one back for tens of milliseconds. Writes are coalesced below instead.
  if ("setNoDelay" in conn && typeof conn.setNoDelay === "function") (conn as Deno.TcpConn).setNoDelay(true);
  const onIssue = options.onIssue ?? (() => {});
  const onBytes = options.onBytes ?? (() => {});
  let closed = false;
  const shut = (reason: Error) => {
    if (closed) return;
    closed = true;
    ep.close(reason);
    try {
      conn.close();
    } catch {
      // Already closed by the other loop.
    }
  };
  const onAbort = () => shut(new ConnectionClosed("stopped"));
  options.signal?.addEventListener("abort", onAbort, { once: true });
  if (options.signal?.aborted) onAbort();

  const issue = (i: FrameIssue) => onIssue(i.kind, `${i.detail} (${i.bytes} bytes dropped)`);
  const serial = options.framing === "serial";
  const maxPacket = options.maxPacket ?? 127;
  const dec = serial ? serialMessages(codec, maxPacket, issue, options.onConsole) : streamDecoder(codec, issue);
  const reader = (async () => {
    const buf = new Uint8Array(READ_SIZE);
    try {
      while (!closed) {
        const n = await conn.read(buf);
        if (n === null) {
          dec.end();
          break;
        }
        onBytes("in", n);
        for (const msg of dec.push(buf.subarray(0, n))) {
          // Back-pressure: do not take more from the peer while our replies to it are piling up, nor while
          // this item's reader has no room (the peer ignores credits). Nothing more is read meanwhile.
          await ep.ready();
          for (let room = ep.admit(msg); room; room = ep.admit(msg)) await room;
          ep.msgIn(msg);
        }
      }
      shut(new ConnectionClosed("peer closed the connection"));
    } catch (e) {
      shut(closed ? new ConnectionClosed() : new ConnectionClosed(`read failed: ${(e as Error).message}`));
    }
  })();

  const writer = (async () => {
    try {
      while (true) {
        const first = await ep.msgOut();
        if (!first) break;
        // Coalesce what is already queued into one write.
        const parts: Uint8Array[] = [];
        let size = 0;
        for (let m: unknown[] | undefined = first; m; m = size < READ_SIZE ? ep.takeOut() : undefined) {
          let b = encodeSafely(codec, m, onIssue);
          if (b && serial) {
            try {
              b = encodeSerialFrame(b, maxPacket);
            } catch (e) {
              onIssue("too_long", `message for header ${m[0]} not sent: ${(e as Error).message}`);
              b = undefined;
            }
          }
          if (b) {
            parts.push(b);
            size += b.length;
          }
        }
        const out = concatBytes(parts, size);
        let off = 0;
        while (off < out.length) off += await conn.write(out.subarray(off));
        onBytes("out", out.length);
      }
      // The endpoint was closed (by its user, or by the reader above): close the socket too.
      shut(new ConnectionClosed("closed"));
    } catch (e) {
      shut(new ConnectionClosed(`write failed: ${(e as Error).message}`));
    }
  })();
  await Promise.all([reader, writer]);
  options.signal?.removeEventListener("abort", onAbort);
}

/** Encodes a message; one that cannot be encoded is replaced by error -7 if final, else dropped. */
function encodeSafely(codec: MoatCodec, m: unknown[], onIssue: (kind: string, detail: string) => void) {
  try {
    return encodeMessage(codec, m);
  } catch (e) {
    const hdr = m[0] as number;
    onIssue("encode", `cannot encode a message for header ${hdr}: ${(e as Error).message}`);
    // Keep "exactly one final": a final that cannot be encoded becomes error -7 (moat-lib-rpc's code).
    return (hdr & 1) === 0 ? encodeMessage(codec, [(hdr & ~3) | 2, -7]) : undefined;
  }
}

/** SerialPacker frames, each holding one message; idle gaps over 100 ms reset the parser, as SerialPacker. */
function serialMessages(
  codec: MoatCodec,
  maxPacket: number,
  onIssue: (i: FrameIssue) => void,
  onConsole?: (b: Uint8Array) => void,
): StreamDecoder {
  const frames = new SerialDecoder(maxPacket, onIssue);
  let last = 0;
  return {
    push(chunk: Uint8Array): unknown[] {
      const now = performance.now();
      if (last && now - last > 100) frames.idle();
      last = now;
      const r = frames.push(chunk);
      if (r.console.length) onConsole?.(r.console);
      const out: unknown[] = [];
      for (const f of r.frames) {
        const msgs = streamDecoder(codec, onIssue);
        const got = msgs.push(f);
        msgs.end();
        if (got.length !== 1) {
          onIssue({ kind: "garbage", bytes: f.length, detail: `frame holds ${got.length} messages` });
        }
        out.push(...got);
      }
      return out;
    },
    end(): void {
      frames.idle();
    },
  };
}

/**
 * Runs `ep` over a WebSocket: one message per binary frame, as MoaT does.
 * Text frames and undecodable frames are reported and dropped. Resolves when
 * the socket has closed.
 */
export async function runWebSocket(ws: WebSocket, ep: Endpoint, options: ConnectionOptions = {}): Promise<void> {
  const codec = options.codec ?? "cbor";
  const onIssue = options.onIssue ?? (() => {});
  ws.binaryType = "arraybuffer";
  const closed = new Promise<void>((resolve) => {
    ws.addEventListener("close", () => resolve(), { once: true });
    ws.addEventListener("error", () => resolve(), { once: true });
  });
  if (ws.readyState === WebSocket.CONNECTING) {
    await new Promise((r) => {
      ws.addEventListener("open", r, { once: true });
      ws.addEventListener("close", r, { once: true });
    });
  }
  const shut = (why: string) => {
    ep.close(new ConnectionClosed(why));
    if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close();
  };
  const onAbort = () => shut("stopped");
  options.signal?.addEventListener("abort", onAbort, { once: true });
  if (options.signal?.aborted) onAbort();
  // Each frame is one whole message; a frame that holds anything else is dropped on its own. A WebSocket
  // cannot be paused, so messages a full reader queue cannot take yet wait here, bounded: a peer that runs
  // past the bound ignores flow control and is disconnected (loudly) rather than losing items silently.
  const pending: unknown[] = [];
  let pumping = false;
  const pump = async () => {
    pumping = true;
    while (pending.length) {
      const m = pending[0];
      for (let room = ep.admit(m); room; room = ep.admit(m)) await room;
      pending.shift();
      ep.msgIn(m);
    }
    pumping = false;
  };
  ws.addEventListener("message", (ev: MessageEvent) => {
    if (!(ev.data instanceof ArrayBuffer)) return onIssue("garbage", "text frame dropped (MoaT uses binary frames)");
    const bytes = new Uint8Array(ev.data);
    options.onBytes?.("in", bytes.length);
    const dec = streamDecoder(codec, (i) => onIssue(i.kind, `${i.detail} (${i.bytes} bytes dropped)`));
    const msgs = dec.push(bytes);
    dec.end();
    if (msgs.length !== 1) onIssue("garbage", `binary frame holds ${msgs.length} messages`);
    if (pending.length + msgs.length > WS_PENDING) {
      onIssue("queue_overflow", `peer ignores flow control: over ${WS_PENDING} messages wait for a full reader`);
      pending.length = 0;
      return shut("peer ignores flow control");
    }
    pending.push(...msgs);
    if (!pumping) pump();
  });
  closed.then(() => shut("peer closed the WebSocket"));
  // A WebSocket cannot push back on its sender; the endpoint's bounded reader queues and credits are the
  // flow control here. Our own sends wait while the socket's buffer is large.
  while (true) {
    const m = await ep.msgOut();
    if (!m || ws.readyState !== WebSocket.OPEN) break;
    const b = encodeSafely(codec, m, onIssue);
    if (!b) continue;
    ws.send(b);
    options.onBytes?.("out", b.length);
    while (ws.bufferedAmount > 1 << 20 && ws.readyState === WebSocket.OPEN) await new Promise((r) => setTimeout(r, 5));
  }
  shut("closed");
  await closed;
  options.signal?.removeEventListener("abort", onAbort);
}

/** Messages a WebSocket connection holds for full reader queues before it gives up on the peer. */
const WS_PENDING = 4096;

/** A connected link to a MoaT peer, whatever carries it. */
export interface MoatLink {
  /** Runs `ep` over the link until it ends; see {@linkcode runConnection}. */
  run(ep: Endpoint, options: ConnectionOptions): Promise<void>;
  /** A printable name of the peer. */
  peer: string;
}

/**
 * Opens a link to `target`: `ws://…`/`wss://…` (WebSocket, one message per
 * frame), a device path starting with `/` (a serial port or pipe opened as a
 * byte stream; set `framing = "serial"` for SerialPacker frames), or
 * `HOST:PORT` (TCP).
 */
export async function openLink(target: string, signal?: AbortSignal): Promise<MoatLink> {
  if (/^wss?:\/\//.test(target)) {
    const ws = new WebSocket(target);
    ws.binaryType = "arraybuffer";
    await new Promise<void>((resolve, reject) => {
      ws.addEventListener("open", () => resolve(), { once: true });
      ws.addEventListener("error", (e) => reject(new Error((e as ErrorEvent).message || "WebSocket failed")), {
        once: true,
      });
      signal?.addEventListener("abort", () => {
        ws.close();
        reject(signal.reason);
      }, { once: true });
    });
    return { peer: target, run: (ep, o) => runWebSocket(ws, ep, o) };
  }
  if (target.startsWith("/")) {
    // Two handles: Deno serialises operations on one file handle, so a read that waits for the peer would
    // hold back every write. (Read-write first, so that opening a FIFO's write side cannot block.)
    const r = await Deno.open(target, { read: true, write: true });
    let w: Deno.FsFile;
    try {
      w = await Deno.open(target, { write: true });
    } catch (e) {
      r.close();
      throw e;
    }
    const stream: ByteStream = {
      read: (b) => r.read(b),
      write: (b) => w.write(b),
      close() {
        r.close();
        w.close();
      },
    };
    return { peer: target, run: (ep, o) => runConnection(stream, ep, o) };
  }
  const { hostname, port } = parseHostPort(target);
  const conn = await Deno.connect({ hostname, port, signal } as Deno.ConnectOptions);
  return { peer: `${hostname}:${port}`, run: (ep, o) => runConnection(conn, ep, o) };
}

/** Splits `HOST:PORT` (`[v6]:PORT` too). */
export function parseHostPort(s: string, defaultHost = "127.0.0.1"): { hostname: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(s.trim());
  if (!m) throw new Error(`expected HOST:PORT, got ${JSON.stringify(s)}`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`port out of range in ${JSON.stringify(s)}`);
  return { hostname: m[1] ?? (m[2] || defaultHost), port };
}
