/**
 * The `influxdb` output: records become line-protocol points, gathered into
 * batches (by size, bytes and interval) and written over HTTP with retries;
 * batches InfluxDB cannot take while it is away go to a bounded disk spool
 * and are delivered in order when it returns. See README.md.
 *
 * @module
 */
import { join } from "node:path";
import type { Output, OutputContext } from "../../core/transport.ts";
import type { BusRecord } from "../../core/record.ts";
import { ackRecords } from "../../core/queue.ts";
import type { Logger } from "../../core/log.ts";
import type { PartStats } from "../../core/stats.ts";
import { type EncodeCounts, encodeRecord, LineProtocolError, type RecordMapping } from "../../codecs/line_protocol.ts";
import { limitReasonOf } from "../../core/limits.ts";
import { RecordRejects } from "../../core/reject.ts";
import type { InfluxdbConfig } from "./schema.ts";
import { Spool } from "./spool.ts";
import { InfluxWriter, namedLines, type WriteOutcome } from "./writer.ts";
import { PostThread } from "./post_thread.ts";

/** InfluxDB stayed unavailable (or the output is closing): the lines not delivered are in `remaining`. */
export class InfluxUnavailable extends Error {
  /** Creates the error. */
  constructor(readonly remaining: string[], readonly last: WriteOutcome) {
    super(`InfluxDB unavailable: ${"message" in last ? last.message : last.kind}`);
    this.name = "InfluxUnavailable";
  }
}

/** Resolves after `ms`, or at once (false) when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (v: boolean) => {
      clearTimeout(t);
      signal.removeEventListener("abort", onAbort);
      resolve(v);
    };
    const onAbort = () => done(false);
    const t = setTimeout(() => done(true), ms);
    signal.addEventListener("abort", onAbort);
  });
}

/** Settings of {@linkcode deliverLines}. */
export interface DeliverOptions {
  /** Attempts per request before giving up (Infinity: until `signal` aborts). */
  attempts: number;
  /** First retry delay in ms. */
  retryInitial: number;
  /** Longest retry delay in ms (and cap of `Retry-After`). */
  retryMax: number;
  /** Stops waiting between attempts. */
  signal: AbortSignal;
  /** Counters. */
  stats: PartStats;
  /** Logger. */
  log: Logger;
}

/** The delay before attempt `n + 1`: `Retry-After` when given, else exponential backoff with jitter. */
export function retryDelay(n: number, outcome: WriteOutcome, initial: number, max: number): number {
  if (outcome.kind === "retry" && outcome.retryAfterMs !== undefined) return Math.min(outcome.retryAfterMs, max);
  const base = Math.min(max, initial * 2 ** Math.min(n, 30));
  return base / 2 + Math.random() * base / 2;
}

/**
 * Delivers lines in order: retries what may succeed later, splits what is too
 * large, drops only the points InfluxDB refuses (named by the error, or found
 * by halving) and resends the rest. Returns the points dropped. Throws
 * {@linkcode InfluxUnavailable} with the lines not yet delivered when the
 * attempts run out or `signal` aborts.
 */
export async function deliverLines(
  writer: InfluxWriter,
  lines: string[],
  o: DeliverOptions,
): Promise<number> {
  const todo: string[][] = lines.length > 0 ? [lines] : [];
  let dropped = 0;
  const drop = (line: string, reason: string, message: string) => {
    dropped++;
    o.stats.drop(reason);
    o.stats.count("bad_points");
    o.log.warn("InfluxDB refused a point; dropped it, sending the rest", {
      reason,
      line: line.length > 300 ? line.slice(0, 300) + "…" : line,
      error: message.slice(0, 500),
    });
  };
  while (todo.length > 0) {
    const chunk = todo[0];
    let outcome: WriteOutcome;
    for (let attempt = 0;; attempt++) {
      outcome = await writer.write(chunk);
      if (outcome.kind !== "retry") break;
      o.stats.errors++;
      o.stats.count("failed_requests");
      if (attempt + 1 >= o.attempts || o.signal.aborted) throw new InfluxUnavailable(todo.flat(), outcome);
      const wait = retryDelay(attempt, outcome, o.retryInitial, o.retryMax);
      const level = outcome.status >= 400 && outcome.status < 500 && outcome.status !== 429 ? "error" : "warn";
      o.log[level]("InfluxDB write failed; retrying", {
        status: outcome.status,
        error: outcome.message.slice(0, 300),
        retry_in_ms: Math.round(wait),
      });
      o.stats.count("retries");
      if (!await sleep(wait, o.signal)) throw new InfluxUnavailable(todo.flat(), outcome);
    }
    if (outcome.kind === "ok") {
      o.stats.bytes += outcome.bytes;
      // One record is one point: records count as written only when InfluxDB took them (not when spooled).
      o.stats.records += chunk.length;
      o.stats.count("points_written", chunk.length);
      todo.shift();
      continue;
    }
    o.stats.errors++;
    if (chunk.length === 1) {
      drop(chunk[0], outcome.kind === "too_large" ? "too_large" : "bad_point", outcome.message);
      todo.shift();
      continue;
    }
    if (outcome.kind === "bad") {
      const bad = namedLines(chunk, outcome.message, outcome.v3Lines);
      if (bad.size > 0) {
        const rest: string[] = [];
        chunk.forEach((line, i) => bad.has(i) ? drop(line, "bad_point", outcome.message) : rest.push(line));
        if (rest.length > 0) todo[0] = rest;
        else todo.shift();
        continue;
      }
    }
    // Too large, or a refusal that names no line: halve and try each half.
    const half = chunk.length >> 1;
    todo.splice(0, 1, chunk.slice(0, half), chunk.slice(half));
    o.stats.count("splits");
  }
  return dropped;
}

/** Bytes of the lines as a request body (one newline each; line protocol is mostly ASCII, so this is close enough). */
function byteLength(lines: readonly string[]): number {
  let b = 0;
  for (const l of lines) b += l.length + 1;
  return b;
}

/** The output. */
export class InfluxdbOutput implements Output {
  /** `records` counts what InfluxDB confirmed (see {@linkcode deliverLines}); spooled points count apart. */
  readonly countsRecords = true;
  readonly #config: InfluxdbConfig;
  readonly #ctx: OutputContext;
  readonly #writer: InfluxWriter;
  readonly #thread?: PostThread;
  readonly #spool: Spool;
  readonly #mapping: RecordMapping;
  readonly #counts: EncodeCounts = { skippedFields: 0 };
  readonly #rejects: RecordRejects;
  readonly #closing = new AbortController();
  #lines: string[] = [];
  #bytes = 0;
  /** Records whose acknowledgement waits for their points, with the index of their line in `#lines`. */
  #held: { record: BusRecord; line: number }[] = [];
  #timer?: ReturnType<typeof setTimeout>;
  #chain: Promise<void> = Promise.resolve();
  /** Batches handed to the sender and not yet written or spooled, oldest first. */
  readonly #sends: Promise<void>[] = [];
  #draining?: Promise<void>;
  #closed = false;

  private constructor(config: InfluxdbConfig, ctx: OutputContext, spool: Spool) {
    this.#config = config;
    this.#ctx = ctx;
    this.#rejects = new RecordRejects(ctx.stats, ctx.log);
    this.#spool = spool;
    if (config.send_thread) {
      const thread = this.#thread = new PostThread();
      this.#writer = new InfluxWriter(config, (request) => thread.post(request));
    } else this.#writer = new InfluxWriter(config);
    this.#mapping = {
      measurement: config.measurement,
      tagKeys: config.tag_keys,
      tags: config.tags,
      separator: config.separator,
      numbers: config.numbers,
      precision: config.time_precision,
    };
    const g = ctx.stats.gauges;
    g.set("spool_bytes", () => this.#spool.bytes);
    g.set("spool_batches", () => this.#spool.batches);
    g.set("buffered_points", () => this.#lines.length);
    g.set("skipped_fields", () => this.#counts.skippedFields);
  }

  /** Opens the spool (delivering what an earlier run left) and returns the output. */
  static async create(config: InfluxdbConfig, ctx: OutputContext): Promise<InfluxdbOutput> {
    const spool = await Spool.open(join(ctx.dataDir, "influxdb", ctx.name), config.spool_max);
    const out = new InfluxdbOutput(config, ctx, spool);
    ctx.log.info("InfluxDB", { url: out.#writer.writeUrl.replace(/([?&]p=)[^&]*/, "$1***"), api: config.api });
    if (!spool.empty) {
      ctx.log.info("spooled batches from an earlier run; delivering them first", {
        batches: spool.batches,
        bytes: spool.bytes,
      });
      out.#startDrain();
    }
    return out;
  }

  /** The URL written to. */
  get writeUrl(): string {
    return this.#writer.writeUrl;
  }

  /** The spool's folder. */
  get spoolDir(): string {
    return this.#spool.dir;
  }

  /**
   * Encodes the records into the batch buffer; full batches are handed to the
   * sender. Resolves at once unless as many batches as may wait are waiting
   * (two with the send thread: one on its way, one behind it; else one); then
   * once the oldest is written or spooled (back-pressure). Records whose input
   * asked for an acknowledgement are acknowledged only when their points are
   * written or spooled (their ack is held until then).
   */
  write(records: BusRecord[]): Promise<void> | void {
    for (let i = 0; i < records.length; i++) {
      const r = records[i];
      let line: string;
      try {
        line = encodeRecord(r, this.#mapping, this.#counts);
      } catch (e) {
        // Costs only this record: counted per reason, logged once per reason.
        this.#rejects.reject(r, e instanceof LineProtocolError ? "not_a_point" : limitReasonOf(e), e, {
          source: r.source,
        });
        continue;
      }
      this.#lines.push(line);
      this.#bytes += line.length + 1;
      if (r.ack) {
        r.ack.pending++;
        this.#held.push({ record: r, line: this.#lines.length - 1 });
      }
    }
    const c = this.#config;
    if (this.#lines.length >= c.batch_size || this.#bytes >= c.batch_bytes) this.#flush(true);
    if (this.#lines.length > 0) this.#timer ??= setTimeout(() => this.#flush(), c.flush_interval);
    // Back-pressure. With the sending thread, one batch is on its way while the next is encoded and waits behind it;
    // in one thread, encoding would stall the request in flight (see post_thread.ts), so the bus waits for each.
    if (this.#sends.length >= (this.#thread ? 2 : 1)) return this.#sends[0];
  }

  /**
   * Hands the buffer to the sender; resolves when it was written or spooled.
   * With `fullOnly`, a last batch smaller than `batch_size` and `batch_bytes`
   * stays in the buffer (requests keep their size; the timer sends it).
   */
  #flush(fullOnly = false): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const chunks = this.#chunks(this.#lines);
    let rest: string[] = [];
    if (fullOnly && chunks.length > 0) {
      const last = chunks[chunks.length - 1];
      if (last.length < this.#config.batch_size && byteLength(last) < this.#config.batch_bytes) rest = chunks.pop()!;
    }
    if (chunks.length === 0) return this.#chain;
    const sent = this.#lines.length - rest.length;
    const held: BusRecord[] = [];
    const heldLater: { record: BusRecord; line: number }[] = [];
    for (const h of this.#held) {
      if (h.line < sent) held.push(h.record);
      else heldLater.push({ record: h.record, line: h.line - sent });
    }
    this.#lines = rest;
    this.#held = heldLater;
    this.#bytes = byteLength(rest);
    const p: Promise<void> = this.#chain.then(() => this.#send(chunks, held)).finally(() => {
      this.#sends.splice(this.#sends.indexOf(p), 1);
    });
    this.#sends.push(p);
    this.#chain = p;
    return p;
  }

  /** Splits a buffer into requests of at most `batch_size` points and `batch_bytes` bytes. */
  #chunks(lines: string[]): string[][] {
    const c = this.#config;
    if (lines.length === 0) return [];
    if (lines.length <= c.batch_size && byteLength(lines) <= c.batch_bytes) return [lines];
    const out: string[][] = [];
    let cur: string[] = [], bytes = 0;
    for (const l of lines) {
      if (cur.length > 0 && (cur.length >= c.batch_size || bytes + l.length + 1 > c.batch_bytes)) {
        out.push(cur);
        cur = [], bytes = 0;
      }
      cur.push(l);
      bytes += l.length + 1;
    }
    if (cur.length > 0) out.push(cur);
    return out;
  }

  async #send(chunks: string[][], held: BusRecord[]): Promise<void> {
    const { stats, log } = this.#ctx;
    try {
      for (let i = 0; i < chunks.length; i++) {
        if (!this.#spool.empty || this.#draining) {
          // Older batches wait in the spool: these go behind them, to keep the order.
          await this.#toSpool(chunks.slice(i).flat());
          return;
        }
        try {
          await deliverLines(this.#writer, chunks[i], this.#deliverOptions(this.#config.retries));
        } catch (e) {
          if (!(e instanceof InfluxUnavailable)) throw e;
          log.warn("InfluxDB unavailable; spooling to disk", {
            points: e.remaining.length + chunks.slice(i + 1).reduce((n, c) => n + c.length, 0),
            error: e.message.slice(0, 300),
          });
          await this.#toSpool([...e.remaining, ...chunks.slice(i + 1).flat()]);
          return;
        }
      }
    } catch (e) {
      const points = chunks.reduce((n, c) => n + c.length, 0);
      stats.errors++;
      stats.drop("write_error", points);
      log.error("points lost: neither written nor spooled", { points, error: e });
    } finally {
      ackRecords(held);
    }
  }

  #deliverOptions(attempts: number): DeliverOptions {
    return {
      attempts,
      retryInitial: this.#config.retry_initial,
      retryMax: this.#config.retry_max,
      signal: this.#closing.signal,
      stats: this.#ctx.stats,
      log: this.#ctx.log,
    };
  }

  async #toSpool(lines: string[]): Promise<void> {
    if (lines.length === 0) return;
    const { stats, log } = this.#ctx;
    if (await this.#spool.append(lines.join("\n"))) {
      stats.count("spooled_points", lines.length);
    } else {
      stats.errors++;
      stats.drop("spool_full", lines.length);
      log.error("SPOOL FULL: points dropped while InfluxDB is unavailable", {
        points: lines.length,
        spool_bytes: this.#spool.bytes,
        spool_max: this.#config.spool_max,
        spool: this.#spool.dir,
      });
    }
    this.#startDrain();
  }

  #startDrain(): void {
    if (this.#closing.signal.aborted || this.#draining) return;
    this.#draining = this.#drain().finally(() => this.#draining = undefined);
  }

  /** Delivers spooled batches, oldest first, retrying until InfluxDB takes them or the output closes. */
  async #drain(): Promise<void> {
    const { stats, log } = this.#ctx;
    let delivered = 0;
    while (!this.#closing.signal.aborted) {
      const batch = await this.#spool.first();
      if (!batch) break;
      const lines = batch.body.split("\n").filter((l) => l !== "");
      try {
        await deliverLines(this.#writer, lines, this.#deliverOptions(Infinity));
        await this.#spool.remove(batch.seq);
        stats.count("unspooled_points", lines.length);
        delivered += lines.length;
      } catch (e) {
        if (e instanceof InfluxUnavailable) {
          if (e.remaining.length < lines.length) await this.#spool.replace(batch.seq, e.remaining.join("\n"));
          break;
        }
        stats.errors++;
        log.error("spool delivery failed", { error: e });
        if (!await sleep(this.#config.retry_max, this.#closing.signal)) break;
      }
    }
    if (delivered > 0 && this.#spool.empty) log.info("spool delivered; InfluxDB is back", { points: delivered });
  }

  /** Flushes the buffer (what cannot be written now is spooled) and stops the spool's delivery. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // One attempt each from now on: whatever InfluxDB does not take at once goes to the spool.
    this.#closing.abort();
    await this.#flush();
    await this.#chain;
    await this.#draining;
    this.#thread?.close();
    if (!this.#spool.empty) {
      this.#ctx.log.warn("points left in the spool for the next start", {
        batches: this.#spool.batches,
        bytes: this.#spool.bytes,
        spool: this.#spool.dir,
      });
    }
  }
}

/** The factory the transport registry uses. */
export function createInfluxdbOutput(config: InfluxdbConfig, ctx: OutputContext): Promise<InfluxdbOutput> {
  return InfluxdbOutput.create(config, ctx);
}
