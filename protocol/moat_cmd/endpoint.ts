/**
 * The MoaT-Cmd state machine, sans I/O: feed every incoming message to
 * {@linkcode Endpoint.msgIn}, send every message {@linkcode Endpoint.msgOut}
 * yields. Commands, replies, streams in both directions, warnings, errors,
 * cancellation and flow control, wire-compatible with moat-lib-cmd 0.3.3 and
 * with moat-lib-rpc's path commands.
 *
 * Flow control: a reader grants its whole queue size as credit when its
 * stream starts, and grants what it consumed each time that reaches half the
 * queue, so a sender that honours credits can never overrun it. (The spec's
 * "q/4 once half full" would let an unthrottled first burst overflow.) A
 * sender blocks at zero credit once it has received one. moat-lib-cmd 0.3.3
 * never sends credits and crashes on receiving one while it only writes, so
 * `credits: false` turns them off for such peers.
 *
 * A peer that ignores credits (0.3.3 without them, 0.4.x always) is slowed
 * down by its transport instead: {@linkcode Endpoint.admit} tells the I/O loop
 * to stop reading while the queue an item is for is full, so no item is ever
 * dropped. Dropping (and counting) instead is `overflow: "drop"`.
 *
 * Credits are sent with flag 3 (`(id << 2) | 3`), which 0.3.3 and 0.4.x both
 * read as a credit; 0.4.x's own flag-7 credits are understood (see
 * {@linkcode flag7Candidates}).
 *
 * @module
 */
import { B_ERROR, B_STREAM, decodeHeader, encodeHeader, flag7Candidates } from "./header.ts";
import { ConnectionClosed, errorFromPayload, MoatError, payloadFromError } from "./errors.ts";
import { describe, isCredit, isInternal, type Kw, replyList, splitPayload, withKw } from "./payload.ts";
import { Channel, deferred } from "./channel.ts";
import { type ChannelOwner, Request, Stream } from "./handles.ts";
import type { Command, EndpointOptions, Handler, IssueKind } from "./options.ts";
import { Outbox } from "./outbox.ts";

export { type Kw, type Payload, replyList, splitPayload } from "./payload.ts";
export { Request, Stream } from "./handles.ts";
export type { Command, EndpointOptions, Handler, IssueKind, Overflow } from "./options.ts";

/** The credit that lifts a writer's limit for good. */
const UNLIMITED = 0x7fffffff;

/** One multiplexed MoaT-Cmd connection, without I/O. */
export class Endpoint implements ChannelOwner {
  readonly #handler?: Handler;
  readonly #q: number;
  readonly #credits: boolean;
  readonly #drop: boolean;
  #dropped = 0;
  readonly #path: boolean;
  readonly #onIssue: (kind: IssueKind, detail: string) => void;
  readonly #channels = new Map<number, Channel>();
  readonly #out: Outbox;
  #lastId = 0;
  #closed?: Error;

  /** Creates an endpoint; see {@linkcode EndpointOptions}. */
  constructor(options: EndpointOptions = {}) {
    this.#handler = options.handler;
    this.#q = Math.max(1, options.queue ?? 42);
    this.#credits = options.credits ?? true;
    this.#drop = options.overflow === "drop";
    this.#path = options.pathCommands ?? false;
    this.#out = new Outbox(Math.max(1, options.outQueue ?? 64));
    this.#onIssue = options.onIssue ?? (() => {});
  }

  /** Channels not yet ended both ways. */
  get openChannels(): number {
    return this.#channels.size;
  }

  /** Stream items dropped because their reader's queue was full (only with `overflow: "drop"`, or a caller of
   * {@linkcode msgIn} that does not wait for {@linkcode admit}). */
  get dropped(): number {
    return this.#dropped;
  }

  /** Stream items received and not yet consumed, over all channels (each channel holds at most `queue`). */
  get queued(): number {
    let n = 0;
    for (const ch of this.#channels.values()) n += ch.items.length;
    return n;
  }

  /** True once {@linkcode close} has run. */
  get closed(): boolean {
    return this.#closed !== undefined;
  }

  // ---- output side -------------------------------------------------------------------------------------

  /** Messages waiting to be sent. */
  get backlog(): number {
    return this.#out.length;
  }

  #push(msg: unknown[]): void {
    this.#out.push(msg);
  }

  /** Resolves when the outgoing backlog is below its bound (the I/O loop waits here before reading more). */
  ready(): Promise<void> {
    return this.#out.ready();
  }

  /** The next message to send, or undefined when there is none now. */
  takeOut(): unknown[] | undefined {
    return this.#out.take();
  }

  /** Waits for the next message to send; undefined once the endpoint is closed and everything queued was taken. */
  msgOut(): Promise<unknown[] | undefined> {
    return this.#out.next();
  }

  #send(ch: Channel, flags: number, payload: readonly unknown[]): void {
    if (ch.sentFinal && !(flags === (B_STREAM | B_ERROR) && isCredit(payload))) return;
    if ((flags & B_STREAM) === 0 && ch.id < 0 && ch.reading && !ch.recvFinal) {
      // A responder ending while the peer still writes to it: let that writer finish unthrottled and drop
      // what it still sends (the handler is done with it).
      if (this.#credits) this.#push([encodeHeader(ch.id, B_STREAM | B_ERROR), UNLIMITED]);
      this.#discard(ch);
    } else if ((flags & (B_STREAM | B_ERROR)) === B_ERROR && ch.reading && !ch.recvFinal) {
      // Ending with an error (cancel) while the peer still writes: nobody reads its remaining items, and the
      // I/O loop must not wait for room in this queue.
      this.#discard(ch);
    } else if ((flags & B_STREAM) === 0 && ch.reading && !ch.recvFinal && !ch.sentFinal && this.#credits) {
      // An opener ending its writes but still reading (stream_rw): lift the peer's limit now, with the final,
      // and rely on back-pressure (admit) from here. A credit sent after the final could reach the peer after
      // it has ended and freed the channel, and a flag-7-aware peer would then take it for a neighbour's.
      this.#push([encodeHeader(ch.id, B_STREAM | B_ERROR), UNLIMITED]);
    }
    if ((flags & B_STREAM) === 0) {
      // Exactly one final per direction: a second one is a bug of ours, never put on the wire.
      if (ch.sentFinal) return;
      ch.sentFinal = true;
    }
    this.#push([encodeHeader(ch.id, flags), ...payload]);
    this.#maybeFree(ch);
  }

  /** Stops reading `ch`: what it holds and what still comes is dropped silently (nobody will read it). */
  #discard(ch: Channel): void {
    ch.reading = false;
    ch.discard = true;
    ch.items.length = 0;
    ch.wakeRoom();
  }

  #maybeFree(ch: Channel): void {
    if (ch.sentFinal && ch.recvFinal && this.#channels.get(ch.id) === ch) {
      ch.wakeRoom();
      this.#channels.delete(ch.id);
      ch.abort.abort(new ConnectionClosed("channel ended"));
    }
  }

  // ---- ids ---------------------------------------------------------------------------------------------

  /** The lowest free id in 1..5 scanning from the last one allocated, else the first free id above 5. */
  #allocId(): number {
    const start = this.#lastId >= 1 && this.#lastId <= 5 ? this.#lastId : 1;
    for (let k = 0; k < 5; k++) {
      const id = ((start - 1 + k) % 5) + 1;
      if (!this.#channels.has(id)) return this.#lastId = id;
    }
    let id = 6;
    while (this.#channels.has(id)) id++;
    return this.#lastId = id;
  }

  #open(cmd: Command, args: readonly unknown[], kw: Kw | undefined, stream: boolean): Channel {
    if (this.#closed) throw this.#closed;
    const ch = new Channel(this.#allocId());
    this.#channels.set(ch.id, ch);
    ch.opened = deferred<void>();
    if (!stream) ch.writing = false;
    const c = this.#path && typeof cmd === "string" ? [cmd] : cmd;
    // Stream openers always carry kw (0.3.3: `{}` when empty); cmd() only when non-empty.
    const k = stream ? (kw ?? {}) : (kw && Object.keys(kw).length ? kw : undefined);
    this.#send(ch, stream ? B_STREAM : 0, withKw([c, ...args], k));
    return ch;
  }

  // ---- caller API --------------------------------------------------------------------------------------

  /**
   * Sends a command and waits for its reply: the reply list (`["Foo", 234]`),
   * or a rejection with {@linkcode MoatError}, `RemoteError` or `StreamError`.
   * Aborting `signal` stops waiting (the wire has no way to cancel a plain command).
   */
  async cmd(cmd: Command, args: readonly unknown[] = [], kw?: Kw, signal?: AbortSignal): Promise<unknown[]> {
    signal?.throwIfAborted();
    const ch = this.#open(cmd, args, kw, false);
    // A plain command is already this side's final message, so nothing can be sent on abort: the caller
    // stops waiting, and the channel is freed when the peer's reply arrives.
    const onAbort = () => ch.opened?.reject(signal?.reason ?? new MoatError(-3));
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      await ch.opened!.promise;
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
    if (ch.final?.error) throw ch.final.error;
    if (!ch.final) {
      // The peer answered a plain command with a stream start: refuse it (-2) and fail the call.
      throw new MoatError(-6);
    }
    return replyList(ch.final.payload);
  }

  /** Opens a stream this side reads (0.3.3 `stream_r`); resolves once the peer has answered. */
  streamR(cmd: Command, args: readonly unknown[] = [], kw?: Kw): Promise<Stream> {
    return this.#stream(cmd, args, kw, true, false);
  }

  /** Opens a stream this side writes (0.3.3 `stream_w`). */
  streamW(cmd: Command, args: readonly unknown[] = [], kw?: Kw): Promise<Stream> {
    return this.#stream(cmd, args, kw, false, true);
  }

  /** Opens a stream both sides read and write (0.3.3 `stream_rw`). */
  streamRW(cmd: Command, args: readonly unknown[] = [], kw?: Kw): Promise<Stream> {
    return this.#stream(cmd, args, kw, true, true);
  }

  async #stream(cmd: Command, args: readonly unknown[], kw: Kw | undefined, r: boolean, w: boolean): Promise<Stream> {
    const ch = this.#open(cmd, args, kw, true);
    ch.writing = w;
    if (r) this.#startReading(ch);
    await ch.opened!.promise;
    if (ch.final?.error) {
      this.#send(ch, 0, [null]);
      throw ch.final.error;
    }
    return new Stream(this, ch, r, w, ch.start ?? splitPayload(ch.final?.payload ?? []), true);
  }

  #startReading(ch: Channel): void {
    ch.reading = true;
    if (this.#credits) this.#send(ch, B_STREAM | B_ERROR, [this.#q]);
  }

  #cancel(ch: Channel): void {
    this.#send(ch, B_ERROR, [-3]);
  }

  // ---- used by Stream and Request ----------------------------------------------------------------------

  /** @internal Sends one stream item, waiting for credit and for room in the outgoing queue. */
  async _sendItem(ch: Channel, payload: readonly unknown[], readable: boolean): Promise<void> {
    if (ch.id < 0 && !ch.wroteItem && this.#credits && ch.credit === undefined) {
      // A peer that opened a stream to read sends its credit right after the opener; give the I/O loop one
      // turn to deliver it before the first item, or a fast handler would burst past the reader's queue.
      await new Promise((r) => setTimeout(r, 0));
    }
    ch.wroteItem = true;
    while (true) {
      if (this.#closed) throw this.#closed;
      if (ch.final?.error) throw ch.final.error;
      // A write-only side whose peer (a pure reader) has ended has nobody left to send to.
      if (ch.recvFinal && !readable) throw new ConnectionClosed("MoaT stream: the reader has ended");
      if (ch.sentFinal) throw new Error("MoaT stream: this side has already ended");
      if (ch.credit !== undefined && ch.credit <= 0) {
        ch.creditWaiter ??= deferred<void>();
        await ch.creditWaiter.promise;
        continue;
      }
      if (this.#out.full) {
        await this.#out.ready();
        continue;
      }
      break;
    }
    if (ch.credit !== undefined) ch.credit--;
    this.#send(ch, B_STREAM, withKw(payload, undefined));
  }

  /** @internal Takes the next item; undefined at the end of the peer's stream. */
  async _nextItem(ch: Channel): Promise<unknown[] | undefined> {
    while (true) {
      if (ch.items.length) {
        const item = ch.items.shift()!;
        ch.wakeRoom();
        this.#consumed(ch);
        return item;
      }
      if (ch.recvFinal) {
        if (ch.final?.error) throw ch.final.error;
        return undefined;
      }
      if (this.#closed) throw this.#closed;
      ch.itemWaiter ??= deferred<void>();
      await ch.itemWaiter.promise;
    }
  }

  #consumed(ch: Channel): void {
    // No credit after this side's final: either side lifts the limit when it ends while still reading (see
    // #send), so that no late credit can reach a freed or reused id.
    if (!this.#credits || ch.recvFinal || ch.sentFinal) return;
    if (ch.lost && !ch.sentFinal) {
      // Tell the sender that items were dropped (0.3.3 does so on the next read).
      ch.lost = 0;
      this.#send(ch, B_STREAM | B_ERROR, [-5]);
    }
    ch.consumedSinceGrant++;
    if (ch.consumedSinceGrant * 2 >= this.#q) {
      this.#send(ch, B_STREAM | B_ERROR, [ch.consumedSinceGrant]);
      ch.consumedSinceGrant = 0;
    }
  }

  /** @internal Sends a final message (once). */
  _final(ch: Channel, flags: number, payload: readonly unknown[]): void {
    this.#send(ch, flags & B_ERROR, payload);
  }

  /** @internal Sends a warning (S+E). */
  _warn(ch: Channel, payload: readonly unknown[]): void {
    if (!ch.sentFinal) this.#send(ch, B_STREAM | B_ERROR, payload);
  }

  /** @internal Ends a stream from this side: cancel if the peer is still sending to a reader, else `[hdr, null]`. */
  _close(ch: Channel, reading: boolean): void {
    if (ch.sentFinal) {
      // Already ended (cannot cancel any more) but the peer still writes: stop reading, discard the rest, and
      // let the peer's writer run to its end instead of waiting for credit forever.
      // (The peer's limit was lifted with the final.)
      if (reading && !ch.recvFinal && ch.reading) this.#discard(ch);
      return;
    }
    if (reading && !ch.recvFinal) this.#cancel(ch);
    else this.#send(ch, 0, [null]);
  }

  /** @internal Replies to the peer's stream opener with a stream start of ours. */
  _startReply(ch: Channel, payload: readonly unknown[], r: boolean): void {
    // The credit goes first, so the peer's writer knows its limit before it learns the stream has started.
    if (r) this.#startReading(ch);
    this.#send(ch, B_STREAM, withKw(payload, {}));
  }

  // ---- input side --------------------------------------------------------------------------------------

  /**
   * Back-pressure for the I/O loop: undefined when {@linkcode msgIn} can take `msg` now; otherwise (a stream
   * item for a reader whose queue is full) a promise that resolves once the consumer has taken an item, the
   * stream has ended or the endpoint has closed. Ask again then. The loop reads nothing from the connection
   * meanwhile, so a peer that ignores flow credits is held up by its transport (TCP's window, a pipe's buffer)
   * instead of losing items; memory stays bounded by `queue` items per stream. With `overflow: "drop"` nothing
   * waits.
   */
  admit(msg: unknown): Promise<void> | undefined {
    if (this.#drop || this.#closed || !Array.isArray(msg) || !Number.isSafeInteger(msg[0])) return;
    const { id, flags } = decodeHeader(msg[0]);
    if (flags !== B_STREAM) return;
    const ch = this.#channels.get(id);
    if (!ch || !ch.reading || ch.discard || ch.recvFinal || (ch.opened && !ch.start)) return;
    if (ch.items.length < this.#q) return;
    ch.roomWaiter ??= deferred<void>();
    return ch.roomWaiter.promise;
  }

  /**
   * Feeds one incoming message (a decoded list). Bad input is reported through
   * `onIssue` and dropped; this never throws.
   */
  msgIn(msg: unknown): void {
    if (this.#closed) return;
    if (!Array.isArray(msg) || msg.length === 0) {
      return this.#onIssue("not_a_list", `message is not a non-empty list: ${describe(msg)}`);
    }
    const wire = msg[0];
    if (typeof wire !== "number" || !Number.isSafeInteger(wire)) {
      return this.#onIssue("bad_header", `header is not an integer: ${describe(wire)}`);
    }
    let { id, flags } = decodeHeader(wire);
    const payload = msg.slice(1);
    // moat-lib-cmd 0.4.x sends credits and -5 as `(id << 2) | 7`: bit 2 then belongs to the id and may be
    // wrong, so the message is for one of two channels (see flag7Candidates).
    if (isInternal(payload)) {
      const alt = flag7Candidates(wire);
      if (alt) id = this.#flag7Channel(alt[0], alt[1]);
    }
    let ch = this.#channels.get(id);
    // A credit sent after the peer's final (older telebus openers did so) may cross this side's final: once the
    // channel is gone it means nothing. (Such an opener reuses the id only after this side's final has reached
    // it, so a late credit can never land on a new channel.)
    if ((flags & 3) === 3 && isCredit(payload) && !ch) return;
    if (!ch) {
      if (id > 0) {
        return this.#onIssue("unknown_channel", `message for channel ${id} which is not open: ${describe(msg)}`);
      }
      if (flags & B_ERROR) {
        return this.#onIssue(
          "unknown_channel",
          `error or warning for channel ${id} which is not open: ${describe(msg)}`,
        );
      }
      ch = new Channel(id);
      // A plain command is the peer's only (final) message on the channel; a stream opener is not.
      ch.recvFinal = (flags & B_STREAM) === 0;
      if (ch.recvFinal) ch.writing = false;
      this.#channels.set(id, ch);
      return this.#request(ch, payload, (flags & B_STREAM) !== 0);
    }
    if (ch.recvFinal) {
      // Flow credits may follow the peer's final (the limit lifted with it, or an older peer's): this side may
      // still be writing.
      if ((flags & 3) === 3 && isCredit(payload)) return ch.receiveWarning(payload);
      return this.#onIssue("after_final", `message on channel ${id} after the peer's final: ${describe(msg)}`);
    }
    if ((flags & 3) === (B_STREAM | B_ERROR)) return ch.receiveWarning(payload);
    if (flags & B_STREAM) {
      if (ch.opened && !ch.start) {
        // The peer's stream start. (Answering a plain command with one makes cmd() fail with "must stream";
        // nothing can be sent back, since a plain command is already this side's final.)
        ch.start = splitPayload(payload);
        ch.opened.resolve();
        return;
      }
      return this.#item(ch, payload);
    }
    // A final message, or a final error.
    const error = flags & B_ERROR ? errorFromPayload(payload) : undefined;
    ch.receiveFinal(payload, error);
    // An error ends the channel: answer it at once, so that no channel waits on a handler or user forever.
    if (error && !ch.sentFinal) {
      if (ch.id < 0) this.#send(ch, B_ERROR, [-3]);
      else this.#send(ch, 0, [null]);
    }
    this.#maybeFree(ch);
  }

  /**
   * Picks the channel a flag-7 message is for: the literal one if this side writes (or may write) there — a
   * credit is for a writer —, else the other one if this side may write there, else the literal one.
   */
  #flag7Channel(literal: number, other: number): number {
    const mayWrite = (c?: Channel) => c !== undefined && c.writing !== false;
    if (mayWrite(this.#channels.get(literal))) return literal;
    return mayWrite(this.#channels.get(other)) ? other : literal;
  }

  #item(ch: Channel, payload: unknown[]): void {
    if (ch.discard) return;
    if (!ch.reading) {
      return this.#onIssue("unexpected", `stream item on channel ${ch.id} which this side does not read`);
    }
    if (ch.items.length >= this.#q) {
      // Only with overflow "drop", or when the I/O loop did not wait for admit().
      ch.lost++;
      this.#dropped++;
      return this.#onIssue("queue_overflow", `channel ${ch.id}: reader queue full (${this.#q}), item dropped`);
    }
    ch.items.push(replyList(payload));
    ch.wakeItem();
  }

  #request(ch: Channel, payload: unknown[], stream: boolean): void {
    const { args, kw } = splitPayload(payload);
    const cmd = args.shift();
    const req = new Request(this, ch, cmd, args, kw ?? {}, stream);
    if (!this.#handler) {
      this.#send(ch, B_ERROR, [-11]);
      return;
    }
    const h = this.#handler;
    (async () => {
      try {
        const v = await h(req);
        if (!ch.sentFinal) this.#send(ch, 0, withKw([v === undefined ? null : v], undefined));
      } catch (e) {
        if (!ch.sentFinal) this.#send(ch, B_ERROR, payloadFromError(e));
      }
    })();
  }

  /** Ends everything: pending calls and streams fail with `reason`, handlers see their signal abort. */
  close(reason: Error = new ConnectionClosed()): void {
    if (this.#closed) return;
    this.#closed = reason;
    for (const ch of this.#channels.values()) ch.closeWith(reason);
    this.#channels.clear();
    this.#out.close();
  }
}
