/**
 * The bounded queue of messages an endpoint has to send: the I/O loop takes
 * them; stream senders and the reading loop wait while it is full.
 *
 * @module
 */
import { type Deferred, deferred } from "./channel.ts";

/** Outgoing messages in order, with waiters for the next message and for room below `max`. */
export class Outbox {
  readonly #max: number;
  readonly #items: unknown[][] = [];
  #head = 0;
  #waiter?: Deferred<void>;
  #roomWaiters: Deferred<void>[] = [];
  #closed = false;

  /** Creates the queue; {@linkcode full} from `max` messages on. */
  constructor(max: number) {
    this.#max = max;
  }

  /** Messages waiting to be sent. */
  get length(): number {
    return this.#items.length - this.#head;
  }

  /** True while `max` or more messages wait. */
  get full(): boolean {
    return this.length >= this.#max;
  }

  /** Queues one message (dropped once closed). */
  push(msg: unknown[]): void {
    if (this.#closed) return;
    this.#items.push(msg);
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.resolve();
  }

  /** Resolves when fewer than `max` messages wait, or once closed. */
  ready(): Promise<void> {
    if (this.length < this.#max || this.#closed) return Promise.resolve();
    const d = deferred<void>();
    this.#roomWaiters.push(d);
    return d.promise;
  }

  /** The next message, or undefined when there is none now. */
  take(): unknown[] | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const m = this.#items[this.#head];
    this.#items[this.#head++] = undefined as never;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items.splice(0, this.#head);
      this.#head = 0;
    }
    if (this.length < this.#max && this.#roomWaiters.length) {
      const ws = this.#roomWaiters;
      this.#roomWaiters = [];
      for (const w of ws) w.resolve();
    }
    return m;
  }

  /** Waits for the next message; undefined once closed and everything queued was taken. */
  async next(): Promise<unknown[] | undefined> {
    while (true) {
      const m = this.take();
      if (m) return m;
      if (this.#closed) return undefined;
      this.#waiter ??= deferred<void>();
      await this.#waiter.promise;
    }
  }

  /** Takes no more messages and wakes every waiter. */
  close(): void {
    this.#closed = true;
    for (const w of this.#roomWaiters) w.resolve();
    this.#roomWaiters = [];
    this.#waiter?.resolve();
  }
}
