/**
 * What callers of the MoaT-Cmd endpoint hold: a {@linkcode Request} (a
 * command the peer sent, as a handler sees it) and a {@linkcode Stream} (one
 * open stream, read as an async iterator, written item by item).
 *
 * @module
 */
import { Path } from "../../codecs/moat_values.ts";
import { B_ERROR } from "./header.ts";
import type { Channel } from "./channel.ts";
import { type Kw, type Payload, withKw } from "./payload.ts";

/**
 * What a {@linkcode Request} or {@linkcode Stream} asks of the endpoint that made it (the endpoint implements
 * it; the handles do not know the endpoint's class, which imports them).
 *
 * @internal
 */
export interface ChannelOwner {
  /** Sends a final message (once). */
  _final(ch: Channel, flags: number, payload: readonly unknown[]): void;
  /** Sends a warning. */
  _warn(ch: Channel, payload: readonly unknown[]): void;
  /** Ends a stream from this side. */
  _close(ch: Channel, reading: boolean): void;
  /** Replies to the peer's stream opener with a stream start. */
  _startReply(ch: Channel, payload: readonly unknown[], r: boolean): void;
  /** Sends one stream item. */
  _sendItem(ch: Channel, payload: readonly unknown[], readable: boolean): Promise<void>;
  /** Takes the next item; undefined at the end of the peer's stream. */
  _nextItem(ch: Channel): Promise<unknown[] | undefined>;
}

/** A command the peer sent, as a handler sees it (0.3.3's `msg`). */
export class Request {
  /** The command as sent: a string (0.3.3) or a path array (rpc). */
  readonly cmd: unknown;
  /** The command as a path: a string is one element. */
  readonly path: readonly unknown[];
  /** Aborted when the peer cancels or errors, or the connection closes. */
  readonly signal: AbortSignal;

  /** @internal */
  constructor(
    private readonly ep: ChannelOwner,
    private readonly ch: Channel,
    cmd: unknown,
    /** Positional arguments. */
    readonly args: readonly unknown[],
    /** Keyword arguments (`{}` when none). */
    readonly kw: Kw,
    /** True when the peer opened a stream (it waits for a stream start or a final). */
    readonly stream: boolean,
  ) {
    this.cmd = cmd;
    this.path = cmd instanceof Path ? cmd.elements : Array.isArray(cmd) ? cmd : [cmd];
    this.signal = ch.abort.signal;
  }

  /** Sends the final reply now (`msg.result`); a later return value is dropped. */
  result(...args: unknown[]): void {
    this.ep._final(this.ch, 0, withKw(args, undefined));
  }

  /** Sends a final error now (`msg.error`), e.g. `error(-11)`. */
  error(...args: unknown[]): void {
    this.ep._final(this.ch, B_ERROR, args);
  }

  /** Sends a warning (`msg.warn`). */
  warn(...args: unknown[]): void {
    this.ep._warn(this.ch, args);
  }

  /** Refuses a stream (`msg.no_stream`): error `-2`. */
  noStream(): void {
    this.error(-2);
  }

  /** Answers with a stream this side reads (`msg.stream_r`); `args` go in the stream start. */
  streamR(...args: unknown[]): Stream {
    return this.#start(args, true, false);
  }

  /** Answers with a stream this side writes (`msg.stream_w`). */
  streamW(...args: unknown[]): Stream {
    return this.#start(args, false, true);
  }

  /** Answers with a stream both sides use (`msg.stream_rw`). */
  streamRW(...args: unknown[]): Stream {
    return this.#start(args, true, true);
  }

  #start(args: unknown[], r: boolean, w: boolean): Stream {
    this.ch.writing = w;
    this.ep._startReply(this.ch, args, r);
    return new Stream(this.ep, this.ch, r, w, { args: this.args.slice(), kw: this.kw }, false);
  }
}

/**
 * An open stream. Iterate it (`for await`) to read items (each the message
 * minus its header); `send` writes one item; `close` ends this side.
 */
export class Stream implements AsyncIterable<unknown[]> {
  /** @internal */
  constructor(
    private readonly ep: ChannelOwner,
    private readonly ch: Channel,
    /** This side reads. */
    readonly readable: boolean,
    /** This side writes. */
    readonly writable: boolean,
    /** The peer's first message: its stream start (caller) or its command (handler). */
    readonly start: Payload,
    /** True for a stream this side opened (it closes itself at the end of a read-only stream). */
    readonly opener: boolean,
  ) {}

  /** Positional part of {@linkcode start}. */
  get args(): unknown[] {
    return this.start.args;
  }

  /** Keyword part of {@linkcode start} (`{}` when none). */
  get kw(): Kw {
    return this.start.kw ?? {};
  }

  /** The peer's final message once it has ended (its payload, and the error for an error final). */
  get final(): { payload: unknown[]; error?: Error } | undefined {
    return this.ch.final;
  }

  /** Resolves with the peer's final payload once it has ended its side; rejects with its error. */
  done(): Promise<unknown[]> {
    return this.ch.ended.promise;
  }

  /** Warnings the peer sent (the newest 16), e.g. `[-5]` for lost data. */
  get warnings(): readonly unknown[][] {
    return this.ch.warnings;
  }

  /** Aborted when the peer errors or the connection closes. */
  get signal(): AbortSignal {
    return this.ch.abort.signal;
  }

  /** Sends one item (`st.send(*a)`); waits for flow credit and room. Rejects once the peer errored. */
  send(...item: unknown[]): Promise<void> {
    return this.ep._sendItem(this.ch, item, this.readable);
  }

  /** The next item, or undefined when the peer has ended its side. Throws the peer's error. */
  next(): Promise<unknown[] | undefined> {
    return this.ep._nextItem(this.ch);
  }

  /** Ends this side with a final message (default `[hdr, null]`). */
  end(...args: unknown[]): void {
    this.ep._final(this.ch, 0, args.length ? withKw(args, undefined) : [null]);
  }

  /** Ends this side as 0.3.3's context exit does: `[hdr, null]`, or cancel (`-3`) if still reading a live stream. */
  close(): void {
    this.ep._close(this.ch, this.readable);
  }

  /** Ends this side with an error (`-3` by default: cancel). */
  cancel(code = -3): void {
    this.ep._final(this.ch, B_ERROR, [code]);
  }

  /** Reads items until the peer ends; a reader-only stream then sends its own final, as 0.3.3 does. */
  async *[Symbol.asyncIterator](): AsyncGenerator<unknown[]> {
    let done = false;
    try {
      while (true) {
        const item = await this.next();
        if (item === undefined) {
          done = true;
          return;
        }
        yield item;
      }
    } finally {
      // Leaving the loop early cancels a live stream; reaching its end closes a read-only stream normally.
      // A handler's stream is otherwise ended by the handler's return value.
      if (!done) {
        if (this.opener || !this.final) this.close();
      } else if (this.opener && !this.writable) this.close();
    }
  }
}
