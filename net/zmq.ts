/**
 * zeromq.js sockets made as mflow's `connect()` makes them, for the mflow
 * commands and the zeromq.js binding of the zmq input and output
 * (net/zmq_socket.ts); the throughput statistics (net/zmq_stats.ts) are
 * re-exported.
 *
 * @module
 */
import * as zmq from "npm:zeromq@^6.5.0";
import { sleep } from "../core/async.ts";

export { exposeThroughput, openEach, type RateSample, ThroughputStatistics } from "./zmq_stats.ts";

/** A socket that receives. */
export type ReceiveSocket = zmq.Pull | zmq.Subscriber;
/** A socket that sends. */
export type SendSocket = zmq.Push | zmq.Publisher;

/** Options of {@linkcode openReceiver}. */
export interface ReceiverOptions {
  /** `pull` or `sub`. */
  mode: "pull" | "sub";
  /** `connect` or `bind`. */
  connType: "connect" | "bind";
  /** Receive high-water mark (mflow sets both marks from its `queue_size`). */
  queueSize: number;
  /** SUB prefixes (default: everything). */
  topics?: string[];
}

/**
 * Opens one receiving socket on `address`, as mflow's `connect()` does (both
 * high-water marks from `queue_size`, SUB subscribed to everything by
 * default). Linger is 0: an input that stops has nothing to deliver.
 * Throws `Unable to <conn_type> to <address>: <why>` as mflow's RuntimeError says.
 */
export async function openReceiver(address: string, o: ReceiverOptions): Promise<ReceiveSocket> {
  const opts = {
    // mflow's set_hwm() sets SNDHWM too, which a PULL/SUB socket never uses; zeromq.js has no such option on
    // receiving sockets (passing one to their constructor crashes the process).
    receiveHighWaterMark: o.queueSize,
    linger: 0,
  };
  const sock = o.mode === "sub" ? new zmq.Subscriber(opts) : new zmq.Pull(opts);
  try {
    if (sock instanceof zmq.Subscriber) sock.subscribe(...(o.topics ?? [""]));
    if (o.connType === "bind") await sock.bind(address);
    else sock.connect(address);
  } catch (e) {
    sock.close();
    throw new Error(`Unable to ${o.connType} to ${address}: ${(e as Error).message}`);
  }
  return sock;
}

/** Options of {@linkcode openSender}. */
export interface SenderOptions {
  /** `push` or `pub`. */
  mode: "push" | "pub";
  /** `connect` or `bind`. */
  connType: "connect" | "bind";
  /** Send high-water mark. */
  queueSize: number;
  /** Ms unsent messages are kept after close; -1 = until sent. */
  linger: number;
}

/** Opens one sending socket on `address` (see {@linkcode openReceiver}). */
export async function openSender(address: string, o: SenderOptions): Promise<SendSocket> {
  const opts = {
    sendHighWaterMark: o.queueSize,
    linger: o.linger,
    // SNDTIMEO 0: a send never waits inside zeromq.js; sendMessage() waits in JavaScript (see there for why).
    sendTimeout: 0,
  };
  const sock = o.mode === "pub" ? new zmq.Publisher(opts) : new zmq.Push(opts);
  try {
    if (o.connType === "bind") await sock.bind(address);
    else sock.connect(address);
  } catch (e) {
    sock.close();
    throw new Error(`Unable to ${o.connType} to ${address}: ${(e as Error).message}`);
  }
  return sock;
}

/** The address actually bound or connected (`tcp://127.0.0.1:*` becomes the chosen port). */
export function endpointOf(sock: ReceiveSocket | SendSocket, address: string): string {
  return sock.lastEndpoint ?? address;
}

/** True for the error a send gives when the socket cannot take a message now (EAGAIN). */
export function isTimeout(e: unknown): boolean {
  return (e as { code?: string }).code === "EAGAIN";
}

/** Longest sleep between readiness checks of an idle socket: the added latency when traffic resumes. */
const MAX_IDLE_WAIT_MS = 8;

/**
 * Receives the next message, or undefined once the socket is closed.
 *
 * Why not just `await sock.receive()`: under Deno, zeromq.js sometimes misses
 * the wake-up of a receive that is waiting for data (seen in about one of ten
 * fresh connections: the messages sit in the socket and the promise never
 * resolves). So a receive is only started when the socket reports a message
 * ready (`readable`, i.e. ZMQ_EVENTS); while it is idle it is checked again
 * after 1, 2, 4, then every 8 ms. Under load the socket is always readable
 * and no timer runs.
 */
export async function receiveMessage(sock: ReceiveSocket): Promise<Uint8Array[] | undefined> {
  let wait = 1;
  for (;;) {
    if (sock.closed) return undefined;
    if (sock.readable) {
      try {
        return await sock.receive();
      } catch (e) {
        if (sock.closed) return undefined;
        throw e;
      }
    }
    await sleep(wait);
    wait = Math.min(wait * 2, MAX_IDLE_WAIT_MS);
  }
}

/**
 * Sends one message, waiting while the socket cannot take it (no peer, or the
 * high-water mark reached) — for at most `timeoutMs` when given, and only
 * until `signal` aborts (Ctrl-C must not wait for a peer). Returns false when
 * the time ran out, the signal aborted or the socket was closed. Readiness is
 * polled for the reason given at {@linkcode receiveMessage} (and because a
 * positive SNDTIMEO crashes zeromq.js under Deno).
 */
export async function sendMessage(
  sock: SendSocket,
  frames: Uint8Array[],
  timeoutMs?: number,
  signal?: AbortSignal,
): Promise<boolean> {
  const deadline = timeoutMs === undefined ? Infinity : performance.now() + timeoutMs;
  let wait = 1;
  for (;;) {
    if (sock.closed || signal?.aborted) return false;
    if (sock.writable) {
      try {
        await sock.send(frames);
        return true;
      } catch (e) {
        if (!isTimeout(e)) throw e; // EAGAIN: the socket filled up between the check and the send
      }
    }
    const left = deadline - performance.now();
    if (left <= 0) return false;
    await sleep(Math.min(wait, left), signal);
    wait = Math.min(wait * 2, MAX_IDLE_WAIT_MS);
  }
}
