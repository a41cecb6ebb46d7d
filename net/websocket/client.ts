/**
 * One WebSocket client of the output: its stream selection, and what happens
 * when it cannot keep up (its socket's unsent bytes pass `max_buffered`):
 *
 * - `latest`: records wait in a map by stream, each replaced by the newer one,
 *   so the client always gets the newest value of every stream when it
 *   catches up — a rare stream is never starved by a busy one;
 * - `drop_oldest`: records wait in a bounded FIFO; the oldest are dropped;
 * - `disconnect`: the client is closed (1008) and must reconnect.
 *
 * Everything held per client is bounded by `client_queue` records.
 *
 * @module
 */
import type { BusRecord } from "../../core/record.ts";
import { globMatcher } from "../../core/glob.ts";
import { type FrameFormat, frameOf, RECORD_ENCODERS } from "./frames.ts";

/** Limits and policy of a client. */
export interface ClientOptions {
  /** Frame encoding for this client. */
  format: FrameFormat;
  /** Most records per frame. */
  batch: number;
  /** Unsent bytes beyond which the client is slow. */
  maxBuffered: number;
  /** What a slow client gets. */
  policy: "latest" | "drop_oldest" | "disconnect";
  /** Most records held for a slow client. */
  queue: number;
}

/** Counts of what a client lost. */
export interface ClientDrops {
  /** Records replaced by a newer one of the same stream (`latest`). */
  latest: number;
  /** Records dropped from the full queue (`drop_oldest`, or `latest` with more streams than room). */
  oldest: number;
  /** Clients disconnected for being slow. */
  disconnected: number;
}

/** A connected client. */
export class WsClient {
  #select: (stream: string) => boolean;
  /** Records held while the client is slow: by stream (`latest`) or in order. */
  readonly #held = new Map<string | number, BusRecord>();
  #seq = 0;
  /** When the socket was first seen CLOSING, to clean up sockets Deno leaves in that state. */
  closingSince = 0;

  /**
   * Creates a client.
   *
   * @param socket the accepted socket
   * @param options frame format and slow-client policy
   * @param drops where losses are counted (shared by the output)
   * @param streams stream globs (default: every stream)
   */
  /** Called with a record whose frame cannot be encoded (it is left out; the others are sent). */
  onReject?: (record: BusRecord, error: unknown) => void;

  constructor(
    readonly socket: WebSocket,
    readonly options: ClientOptions,
    readonly drops: ClientDrops,
    streams?: string[],
  ) {
    this.#select = globMatcher(streams);
  }

  /** Changes the streams the client receives. */
  subscribe(streams: string[]): void {
    this.#select = globMatcher(streams);
  }

  /** True while records wait for the client to catch up. */
  get holding(): boolean {
    return this.#held.size > 0;
  }

  /** True when the socket holds more unsent bytes than allowed. */
  get slow(): boolean {
    return this.socket.bufferedAmount > this.options.maxBuffered;
  }

  /** Offers records to the client: sends what it selects now, or holds it by policy while it is slow. */
  offer(records: readonly BusRecord[]): void {
    if (this.socket.readyState !== WebSocket.OPEN) return;
    let selected: BusRecord[] | undefined;
    for (const r of records) if (this.#select(r.stream)) (selected ??= []).push(r);
    if (!selected) return;
    if (!this.holding && !this.slow) return this.#send(selected);
    if (this.options.policy === "disconnect") {
      this.drops.disconnected++;
      this.socket.close(1008, "too slow");
      return;
    }
    for (const r of selected) this.#hold(r);
  }

  #hold(r: BusRecord): void {
    const held = this.#held;
    if (this.options.policy === "latest") {
      if (held.delete(r.stream)) this.drops.latest++;
      held.set(r.stream, r);
    } else held.set(this.#seq++, r);
    if (held.size > this.options.queue) {
      held.delete(held.keys().next().value!);
      this.drops.oldest++;
    }
  }

  /** Sends what was held, once the socket has drained below half its limit. */
  drain(): void {
    if (!this.holding || this.socket.readyState !== WebSocket.OPEN) return;
    if (this.socket.bufferedAmount > this.options.maxBuffered / 2) return;
    const records = [...this.#held.values()];
    this.#held.clear();
    this.#send(records);
  }

  /**
   * The records whose part of a frame can be encoded (it is cached on the record, so the frame reuses it); a record
   * that cannot is left out alone and reported, instead of costing the frame or the rest of the batch.
   */
  #encodable(records: BusRecord[], format: FrameFormat): BusRecord[] {
    const encode = RECORD_ENCODERS[format];
    let kept: BusRecord[] | undefined;
    for (let i = 0; i < records.length; i++) {
      const r = records[i];
      try {
        encode(r);
        kept?.push(r);
      } catch (e) {
        kept ??= records.slice(0, i);
        this.onReject?.(r, e);
      }
    }
    return kept ?? records;
  }

  #send(records: BusRecord[]): void {
    const { batch, format } = this.options;
    records = this.#encodable(records, format);
    try {
      if (format === "datart" || batch === 1) {
        for (const r of records) this.socket.send(frameOf([r], format));
      } else {
        for (let i = 0; i < records.length; i += batch) this.socket.send(frameOf(records.slice(i, i + batch), format));
      }
    } catch {
      // The socket closed under us; the output removes it on its close event.
    }
  }
}
