/**
 * A bounded channel from the bus to one GraphQL subscriber: `push` never
 * waits; when the subscriber is slow the oldest items are dropped (and
 * counted), so a stalled client holds at most `capacity` items.
 *
 * @module
 */

/** An async iterable fed by `push`, bounded to `capacity` items. */
export class BoundedChannel<T> implements AsyncIterableIterator<T> {
  #items: T[] = [];
  #waiting?: (r: IteratorResult<T>) => void;
  #closed = false;
  /** Items dropped because the subscriber did not keep up. */
  dropped = 0;

  /**
   * Creates an empty channel.
   *
   * @param capacity most items held
   * @param onClose called once when the consumer stops (return) or the channel closes
   */
  constructor(readonly capacity: number, private onClose?: () => void) {}

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

  /** The next item, waiting for one. */
  next(): Promise<IteratorResult<T>> {
    if (this.#items.length > 0) return Promise.resolve({ value: this.#items.shift()!, done: false });
    if (this.#closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((r) => this.#waiting = r);
  }

  /** Ends the channel (the consumer unsubscribed, or the daemon stops). */
  return(): Promise<IteratorResult<T>> {
    if (!this.#closed) {
      this.#closed = true;
      this.#items = [];
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
