/**
 * Back-pressure for GraphQL subscriptions: `WebSocket.send` never waits, so a
 * subscription that sent whenever it had an event would pile unsent frames up
 * in the socket without bound while its client is slow or gone (measured: 1,000
 * subscriptions on one connection took the daemon past 3 GB, and the close
 * handshake queued behind those frames never completed). Each subscription
 * waits on its socket's {@linkcode SocketDrain} instead; one timer per socket
 * polls `bufferedAmount`, however many subscriptions wait on it.
 *
 * @module
 */

/** How often a full socket is checked for having drained. */
export const DRAIN_POLL_MS = 10;

/** The waiters of one WebSocket. */
export class SocketDrain {
  readonly #waiters = new Set<(ok: boolean) => void>();
  #timer?: ReturnType<typeof setInterval>;

  /**
   * Creates the waiter list of `socket`.
   *
   * @param socket the subscriptions' socket
   * @param maxBuffered unsent bytes above which a subscription waits
   */
  constructor(readonly socket: WebSocket, readonly maxBuffered: number) {}

  /** Subscriptions waiting for room. */
  get waiting(): number {
    return this.#waiters.size;
  }

  /**
   * True once the socket holds no more than `maxBuffered` unsent bytes (at
   * once, without a promise, when it does already: this is asked per event);
   * false when it is no longer open (or closes while waiting), or when
   * `signal` aborts first.
   */
  writable(signal?: AbortSignal): boolean | Promise<boolean> {
    if (signal?.aborted || this.socket.readyState !== WebSocket.OPEN) return false;
    if (this.socket.bufferedAmount <= this.maxBuffered) return true;
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        this.#waiters.delete(done);
        signal?.removeEventListener("abort", onAbort);
        resolve(ok && !signal?.aborted);
      };
      const onAbort = () => done(false);
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiters.add(done);
      this.#timer ??= setInterval(() => this.#poll(), DRAIN_POLL_MS);
    });
  }

  #poll(): void {
    const open = this.socket.readyState === WebSocket.OPEN;
    if (open && this.socket.bufferedAmount > this.maxBuffered) return;
    this.#wake(open);
  }

  #wake(ok: boolean): void {
    for (const w of [...this.#waiters]) w(ok);
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Wakes every waiter with false and stops polling (the socket closed). */
  close(): void {
    this.#wake(false);
  }
}
