/**
 * What the mflow-style commands (`stats`, `generate`, `record`, `replay`,
 * `split`) share: mflow's address conventions, opening sockets, Ctrl-C.
 *
 * @module
 */
import { openReceiver, openSender, type ReceiveSocket, type SendSocket } from "../net/zmq.ts";
import { sleep } from "../core/async.ts";
import { writeStderrLine } from "./stdout.ts";

/** mflow's split rule: an address like `tcp://*:9999` binds, anything else connects. */
export function connTypeOf(address: string): "bind" | "connect" {
  return /^tcp:\/\/\*:.*/.test(address) ? "bind" : "connect";
}

/** Parses `-m`: one of `allowed`, case-insensitive; throws a usage error otherwise. */
export function parseMode<T extends string>(value: string | boolean | undefined, allowed: readonly T[], dflt: T): T {
  if (value === undefined) return dflt;
  const v = String(value).toLowerCase();
  if (!(allowed as readonly string[]).includes(v)) {
    throw new UsageError(`mode must be one of ${allowed.join(", ")}, not ${JSON.stringify(value)}`);
  }
  return v as T;
}

/** Parses a number option; throws a usage error for anything else or below `min`. */
export function parseNumber(value: string | boolean | undefined, name: string, dflt: number, min = 0): number {
  if (value === undefined) return dflt;
  const n = Number(value);
  if (typeof value !== "string" || value.trim() === "" || !Number.isFinite(n) || n < min) {
    throw new UsageError(`${name} must be a number >= ${min}, not ${JSON.stringify(value)}`);
  }
  return n;
}

/** A command-line mistake: printed with the usage, exit code 2. */
export class UsageError extends Error {}

/** Opens a receiving socket as the mflow tools do (CONNECT unless `bind`). */
export function receiver(
  address: string,
  mode: "pull" | "sub",
  bind = false,
  queueSize = 100,
): Promise<ReceiveSocket> {
  return openReceiver(address, { mode, connType: bind ? "bind" : "connect", queueSize });
}

/** Opens a sending socket as the mflow tools do (BIND unless `connect`; linger 1 s as mflow's default). */
export function sender(
  address: string,
  mode: "push" | "pub",
  connect = false,
  queueSize = 100,
  linger = 1000,
): Promise<SendSocket> {
  return openSender(address, { mode, connType: connect ? "connect" : "bind", queueSize, linger });
}

/**
 * An AbortSignal that aborts on Ctrl-C or SIGTERM, and the function that
 * removes the handlers again. Install it before opening sockets and keep it
 * until the command returns: a signal that arrives while a socket waits for a
 * peer, or during the final linger, must end the command, not be lost.
 */
export function interruptSignal(): { signal: AbortSignal; dispose: () => void } {
  const ac = new AbortController();
  const stop = () => ac.abort();
  const sigs: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  for (const s of sigs) Deno.addSignalListener(s, stop);
  return {
    signal: ac.signal,
    dispose: () => {
      for (const s of sigs) Deno.removeSignalListener(s, stop);
    },
  };
}

/**
 * Closes a sending socket and keeps the process alive for `lingerMs`, so that
 * ZeroMQ's I/O thread can still deliver what is queued. (The context is not
 * terminated gracefully when a Deno process exits, so the socket's own linger
 * alone would lose the tail of the stream; mflow's tools also end after their
 * linger of 1 s.) When `signal` has aborted (the user asked to stop) the
 * socket is closed with linger 0 and nothing is waited for; a signal during
 * the wait ends it too.
 */
export async function closeAndLinger(sock: SendSocket, lingerMs: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) {
    if (!sock.closed) {
      sock.linger = 0;
      sock.close();
    }
    return;
  }
  if (!sock.closed) sock.close();
  if (lingerMs > 0) await sleep(lingerMs, signal);
}

/** Writes where a command is sending or receiving, once it is ready (so a user — or a test — can tell). */
export function announce(prog: string, what: string, sock: { lastEndpoint: string | null }, address: string): void {
  writeStderrLine(`telebus ${prog}: ${what} ${sock.lastEndpoint || address}; Ctrl-C stops`);
}

/**
 * Paces a loop at `rate` per second (0 = as fast as possible): `await
 * pacer.next()` before each item. It catches up after a stall instead of
 * drifting, as the generator input does.
 */
export class Pacer {
  #n = 0;
  readonly #t0 = performance.now();
  /**
   * Creates the pacer.
   *
   * @param rate items per second; 0 for no limit
   * @param signal ends a wait early
   */
  constructor(readonly rate: number, readonly signal?: AbortSignal) {}
  /** Waits until the next item is due. */
  async next(): Promise<void> {
    if (this.rate <= 0) return;
    const due = this.#t0 + (this.#n++ * 1000) / this.rate;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait, this.signal);
  }
}

export { sleep };
