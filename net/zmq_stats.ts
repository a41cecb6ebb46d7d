/**
 * What the zmq input and output and the mflow commands share whatever the
 * binding (libzmq through FFI or zeromq.js): opening one socket per address,
 * and mflow-like throughput statistics. Free of zeromq.js, so that a daemon
 * on the FFI binding never loads it.
 *
 * @module
 */
import type { PartStats } from "../core/stats.ts";

/** Opens one socket per address; when one fails, closes those already open and rethrows. */
export async function openEach<S extends { close(): void }>(
  addresses: readonly string[],
  open: (address: string) => Promise<S>,
): Promise<S[]> {
  const sockets: S[] = [];
  try {
    for (const a of addresses) sockets.push(await open(a));
  } catch (e) {
    for (const s of sockets) s.close();
    throw e;
  }
  return sockets;
}

/** One rate sample, as mflow's `ThroughputStatistics` keeps them. */
export interface RateSample {
  /** Messages per second over the sample. */
  message_rate: number;
  /** Bytes per second over the sample. */
  data_rate: number;
}

/**
 * mflow's statistics of a stream: the counters of `message.statistics`
 * (`bytes_received`, `total_bytes_received`, `messages_received`) and the
 * rates and summary of `utils.ThroughputStatistics`.
 */
export class ThroughputStatistics {
  /** Bytes of the last message (header included). */
  bytes_received = 0;
  /** Bytes of every message. */
  total_bytes_received = 0;
  /** Messages. */
  messages_received = 0;
  /** The newest rate samples (at most 100, as mflow's deque). */
  readonly samples: RateSample[] = [];
  readonly #start = performance.now();
  #last = { t: performance.now(), msgs: 0, bytes: 0 };

  /** Counts one message of `bytes` bytes. */
  add(bytes: number): void {
    this.bytes_received = bytes;
    this.total_bytes_received += bytes;
    this.messages_received++;
  }

  /** Appends a rate sample when more than `intervalMs` has passed since the last one; returns it then. */
  sample(intervalMs: number): RateSample | undefined {
    const now = performance.now();
    const dt = (now - this.#last.t) / 1000;
    if (dt * 1000 < intervalMs) return undefined;
    const s = {
      message_rate: (this.messages_received - this.#last.msgs) / dt,
      data_rate: (this.total_bytes_received - this.#last.bytes) / dt,
    };
    this.samples.push(s);
    if (this.samples.length > 100) this.samples.shift();
    this.#last = { t: now, msgs: this.messages_received, bytes: this.total_bytes_received };
    return s;
  }

  /** The newest sample, or zeros. */
  get latest(): RateSample {
    return this.samples.at(-1) ?? { message_rate: 0, data_rate: 0 };
  }

  /** mflow's summary. */
  summary(): {
    total_elapsed_time: number;
    average_message_size: number;
    total_bytes_received: number;
    average_data_rate: number;
    messages_received: number;
    average_message_rate: number;
  } {
    const t = (performance.now() - this.#start) / 1000;
    return {
      total_elapsed_time: t,
      average_message_size: this.messages_received ? this.total_bytes_received / this.messages_received : 0,
      total_bytes_received: this.total_bytes_received,
      average_data_rate: t > 0 ? this.total_bytes_received / t : 0,
      messages_received: this.messages_received,
      average_message_rate: t > 0 ? this.messages_received / t : 0,
    };
  }

  /** The per-message statistics object mflow attaches to each message. */
  toDict(): { bytes_received: number; total_bytes_received: number; messages_received: number } {
    return {
      bytes_received: this.bytes_received,
      total_bytes_received: this.total_bytes_received,
      messages_received: this.messages_received,
    };
  }
}

/**
 * Publishes a part's throughput as `/metrics` gauges (`message_rate`,
 * `data_rate`, `average_message_size`), sampled every `intervalMs`; returns
 * the function that stops the sampling timer.
 */
export function exposeThroughput(stats: PartStats, t: ThroughputStatistics, intervalMs: number): () => void {
  stats.gauges.set("message_rate", () => t.latest.message_rate);
  stats.gauges.set("data_rate_bytes", () => t.latest.data_rate);
  stats.gauges.set("average_message_size_bytes", () => t.summary().average_message_size);
  const timer = setInterval(() => t.sample(intervalMs), intervalMs);
  Deno.unrefTimer(timer);
  return () => clearInterval(timer);
}
