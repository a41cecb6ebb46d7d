/**
 * A bounded channel from the bus to one GraphQL subscriber: `push` never
 * waits; when the subscriber is slow the oldest items are dropped (and
 * counted), so a stalled client holds at most `capacity` items. The consumer
 * takes an item only once `ready` says its socket has room: items wait here,
 * bounded, rather than as unsent frames in the socket.
 *
 * @module
 */

/** An async iterable fed by `push`, bounded to `capacity` items. */
export class BoundedChannel<T> implements AsyncIterableIterator<T> {
  #items: T[] = [];
  #waiting?: (r: IteratorResult<T>) => void;
  #closed = false;
  /** Aborts a pending `ready` when the channel closes. */
  readonly #abort = new AbortController();
  /** Items dropped because the subscriber did not keep up. */
  dropped = 0;

  /**
   * Creates an empty channel.
   *
   * @param capacity most items held
   * @param onClose called once when the consumer stops (return) or the channel closes
   * @param ready resolves true when the consumer may take the next item, false when it is gone (the channel closes)
   */
  constructor(
    readonly capacity: number,
    private onClose?: () => void,
    private ready?: (signal: AbortSignal) => boolean | Promise<boolean>,
  ) {}

  /** Adds an item; drops the oldest when full. */
  push(item: T): void {
    if (this.#closed) return;
    const w = this.#waiting;
    if (w) {
      this.#waiting = undefined;
      w({ value: item, done: false });
      return;
    }
    this.#items.push(item);
    if (this.#items.length > this.capacity) {
      this.#items.shift();
      this.dropped++;
    }
  }

  /** The next item, waiting for one (and, with `ready`, for the consumer to have room). */
  next(): Promise<IteratorResult<T>> {
    if (this.ready && !this.#closed) {
      const ready = this.ready(this.#abort.signal);
      if (ready !== true) return Promise.resolve(ready).then((ok) => ok ? this.#take() : this.return());
    }
    return this.#take();
  }

  #take(): Promise<IteratorResult<T>> {
    if (this.#items.length > 0) return Promise.resolve({ value: this.#items.shift()!, done: false });
    if (this.#closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((r) => this.#waiting = r);
  }

  /** Ends the channel (the consumer unsubscribed, or the daemon stops). */
  return(): Promise<IteratorResult<T>> {
    if (!this.#closed) {
      this.#closed = true;
      this.#items = [];
      this.#abort.abort();
      this.#waiting?.({ value: undefined, done: true });
      this.#waiting = undefined;
      this.onClose?.();
    }
    return Promise.resolve({ value: undefined, done: true });
  }

  /** Itself. */
  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}
