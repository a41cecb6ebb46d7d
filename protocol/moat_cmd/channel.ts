/**
 * The state of one MoaT-Cmd sub-channel, and the small deferred-promise
 * helper the endpoint uses to wake its waiters.
 *
 * @module
 */
import { isCredit, type Payload } from "./payload.ts";

/** Most warnings kept per channel. */
const MAX_WARNINGS = 16;

/** One waiter on a promise resolved from elsewhere. */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve: (v: T) => void;
  reject: (e: unknown) => void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((a, b) => {
    resolve = a;
    reject = b;
  });
  // A rejection nobody awaits (a cancelled command) must not crash the process.
  promise.catch(() => {});
  return { promise, resolve, reject };
}

/** State of one sub-channel. */
export class Channel {
  sentFinal = false;
  recvFinal = false;
  /** The peer's final payload and whether it was an error. */
  final?: { payload: unknown[]; error?: Error };
  /** The peer's final: its payload, or its error (or the connection's). */
  readonly ended = deferred<unknown[]>();
  /** First reply to an opener of ours (stream start or final). */
  opened?: Deferred<void>;
  /** The peer's first stream message (`st.args`/`st.kw` on entry). */
  start?: Payload;
  /** This side reads items. */
  reading = false;
  /** Items received and not yet consumed (bounded by the endpoint's queue size). */
  readonly items: unknown[][] = [];
  itemWaiter?: Deferred<void>;
  /** The I/O loop waiting for room in {@linkcode items} before it reads on (back-pressure). */
  roomWaiter?: Deferred<void>;
  /** This side writes items (a stream opened or answered as writable); undefined while not yet known. */
  writing?: boolean;
  /** Credit the peer granted; undefined until the first credit (unthrottled, as 0.3.3). */
  credit?: number;
  creditWaiter?: Deferred<void>;
  consumedSinceGrant = 0;
  /** This side has sent a stream item. */
  wroteItem = false;
  /** This side stopped reading after its final: later items are dropped silently. */
  discard = false;
  lost = 0;
  /** Warnings received (bounded: the newest 16). */
  readonly warnings: unknown[][] = [];
  /** Aborted when the peer ends the channel with an error or the connection closes. */
  readonly abort = new AbortController();
  constructor(readonly id: number) {}

  /** Wakes the reader waiting for an item. */
  wakeItem(): void {
    const w = this.itemWaiter;
    this.itemWaiter = undefined;
    w?.resolve();
  }

  /** Wakes the I/O loop waiting for room in {@linkcode items}. */
  wakeRoom(): void {
    const w = this.roomWaiter;
    this.roomWaiter = undefined;
    w?.resolve();
  }

  /** Takes the peer's S+E message: a flow credit (the first sets the value, later ones add to it) or a warning. */
  receiveWarning(payload: unknown[]): void {
    if (isCredit(payload)) {
      const v = payload[0] as number;
      this.credit = this.credit === undefined ? v : this.credit + v;
      const w = this.creditWaiter;
      this.creditWaiter = undefined;
      w?.resolve();
      return;
    }
    this.warnings.push(payload);
    if (this.warnings.length > MAX_WARNINGS) this.warnings.shift();
  }

  /** Takes the peer's final message (`error` for a final error) and wakes everyone waiting on the channel. */
  receiveFinal(payload: unknown[], error: Error | undefined): void {
    this.recvFinal = true;
    this.final = { payload, error };
    if (error) {
      this.abort.abort(error);
      this.ended.reject(error);
    } else this.ended.resolve(payload);
    this.opened?.resolve();
    this.wakeItem();
    const cw = this.creditWaiter;
    this.creditWaiter = undefined;
    cw?.resolve();
  }

  /** Fails everything waiting on the channel with `reason` (the connection closed). */
  closeWith(reason: Error): void {
    this.abort.abort(reason);
    this.opened?.reject(reason);
    this.ended.reject(reason);
    this.itemWaiter?.resolve();
    this.creditWaiter?.resolve();
    this.roomWaiter?.resolve();
  }
}
