/**
 * One client of the Foxglove server: its subscriptions, and what it gets
 * when it cannot keep up. A client whose socket holds more than
 * `max_buffered` unsent bytes gets nothing more; meanwhile the newest record
 * of each channel it subscribed waits (one per channel, the older one
 * dropped and counted), and when the socket has sent half of its backlog it
 * gets those, so a 1 Hz channel is never starved by a busy one. What waits is
 * bounded by the number of channels.
 *
 * @module
 */
import { BinaryOpcode } from "./protocol.ts";
import type { BusRecord } from "../../core/record.ts";
import { toJson } from "../../codecs/json.ts";

/** The record's JSON as UTF-8 (cached on the record: encoded once for every client). */
export function jsonPayload(r: BusRecord): Uint8Array {
  const enc = r.encoded ??= {};
  let b = enc.json_utf8 as Uint8Array | undefined;
  if (b === undefined) enc.json_utf8 = b = new TextEncoder().encode(toJson(r.data));
  return b;
}

/** A `messageData` frame: opcode, subscription id, log time (ns), payload. */
export function messageFrame(subscription: number, time: bigint, payload: Uint8Array): Uint8Array {
  const frame = new Uint8Array(13 + payload.length);
  const view = new DataView(frame.buffer);
  view.setUint8(0, BinaryOpcode.MESSAGE_DATA);
  view.setUint32(1, subscription, true);
  view.setBigUint64(5, time, true);
  frame.set(payload, 13);
  return frame;
}

/** A `time` frame. */
export function timeFrame(time: bigint): Uint8Array {
  const frame = new Uint8Array(9);
  const view = new DataView(frame.buffer);
  view.setUint8(0, BinaryOpcode.TIME);
  view.setBigUint64(1, time, true);
  return frame;
}

/** What the output counts for its clients. */
export interface ClientCounts {
  /** Messages replaced by a newer one of the same channel while their client was slow. */
  superseded: number;
  /** Bytes handed to sockets. */
  bytes: number;
}

/** A connected client. */
export class FoxgloveClient {
  /** Subscription id → channel id. */
  readonly subscriptions = new Map<number, number>();
  /** Channel id → subscription id. */
  readonly byChannel = new Map<number, number>();
  /** The newest record of each channel waiting while the client is slow. */
  readonly #held = new Map<number, BusRecord>();
  /** The newest time sent. */
  #time = 0n;
  /** Whether the client counts as slow for the batch being written (asked once per batch: it is a call into Deno). */
  #slow = false;
  /** When the socket was first seen CLOSING, to clean up sockets Deno leaves in that state. */
  closingSince = 0;

  /**
   * Creates a client.
   *
   * @param socket the accepted socket
   * @param maxBuffered unsent bytes beyond which the client is slow
   * @param counts where losses and bytes are counted (shared by the output)
   */
  constructor(readonly socket: WebSocket, readonly maxBuffered: number, readonly counts: ClientCounts) {}

  /** True while records wait for the client to catch up. */
  get holding(): boolean {
    return this.#held.size > 0;
  }

  /** Sends a JSON (text) message, unless the socket is closed. */
  sendJson(message: unknown): void {
    if (this.socket.readyState !== WebSocket.OPEN) return;
    const text = JSON.stringify(message);
    this.counts.bytes += text.length;
    try {
      this.socket.send(text);
    } catch {
      // closed under us; the output removes it on its close event
    }
  }

  #sendBinary(frame: Uint8Array): void {
    this.counts.bytes += frame.length;
    try {
      this.socket.send(frame);
    } catch {
      // closed under us; the output removes it on its close event
    }
  }

  /** Decides, for the batch about to be offered, whether the client is slow (records are held) or not. */
  check(): void {
    this.#slow = this.#held.size > 0 || this.socket.bufferedAmount > this.maxBuffered;
  }

  /**
   * Offers the newest record of `channel`: sent now, or held (replacing an older one) while the client is slow
   * (as {@linkcode FoxgloveClient.check} found at the start of the batch).
   */
  offer(channel: number, r: BusRecord, payload: Uint8Array): void {
    const sub = this.byChannel.get(channel);
    if (sub === undefined || this.socket.readyState !== WebSocket.OPEN) return;
    if (this.#slow) {
      if (this.#held.has(channel)) this.counts.superseded++;
      this.#held.set(channel, r);
      return;
    }
    this.#sendBinary(messageFrame(sub, r.time, payload));
  }

  /** Sends a `time` message when `time` is newer than the last one, unless the client is slow. */
  time(time: bigint): void {
    if (time <= this.#time || this.#held.size > 0 || this.socket.readyState !== WebSocket.OPEN) return;
    if (this.socket.bufferedAmount > this.maxBuffered) return;
    this.#time = time;
    this.#sendBinary(timeFrame(time));
  }

  /** Forgets a channel (withdrawn): its subscription ends, its held record goes. */
  forget(channel: number): void {
    const sub = this.byChannel.get(channel);
    if (sub !== undefined) this.subscriptions.delete(sub);
    this.byChannel.delete(channel);
    this.#held.delete(channel);
  }

  /** Ends a subscription; false when the client had no such subscription. */
  unsubscribe(sub: number): boolean {
    const channel = this.subscriptions.get(sub);
    if (channel === undefined) return false;
    this.subscriptions.delete(sub);
    this.byChannel.delete(channel);
    this.#held.delete(channel);
    return true;
  }

  /** Sends what was held once the socket has sent half of its limit, then the newest time. */
  drain(): void {
    if (this.#held.size === 0 || this.socket.readyState !== WebSocket.OPEN) return;
    if (this.socket.bufferedAmount > this.maxBuffered / 2) return;
    let newest = 0n;
    const held = [...this.#held];
    this.#held.clear();
    this.#slow = false;
    for (const [channel, r] of held) {
      const sub = this.byChannel.get(channel);
      if (sub === undefined) continue;
      this.#sendBinary(messageFrame(sub, r.time, jsonPayload(r)));
      if (r.time > newest) newest = r.time;
    }
    this.time(newest);
  }
}
