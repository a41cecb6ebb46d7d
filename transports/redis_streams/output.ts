/**
 * The `redis_streams` output: every record becomes one XADD entry (with
 * `MAXLEN ~` trimming) on a key built from a template — `{device}:{stream}` is
 * redis-streamer's layout, so the streamer's clients see telebus's data.
 * A batch goes out as one pipeline (node-redis pipelines the commands of one
 * tick); while Redis works on it, the next batch is encoded and sent behind
 * it on the same connection (so entries keep their order), and only then does
 * the bus wait. Records are acknowledged once Redis has their entries. While
 * Redis is away a batch is retried with backoff for `retry_for`, batches in
 * order; meanwhile the bus queue in front of this output (bounded, with its
 * `when_full` policy) holds what comes next — there is no other queue.
 *
 * @module
 */
import type { Output, OutputContext } from "../../core/transport.ts";
import type { BusRecord } from "../../core/record.ts";
import { ackRecords } from "../../core/queue.ts";
import { asBuffer, connectRedis, type RedisClient, sleep } from "../../net/redis.ts";
import { encodeEntry } from "./codec.ts";
import { recordMsgpack } from "../../codecs/msgpack.ts";
import { RecordRejects } from "../../core/reject.ts";
import type { RedisOutputConfig } from "./schema.ts";

/** One XADD: key, fields, and their size for the byte counter. */
interface Entry {
  key: string;
  fields: Record<string, string | ReturnType<typeof asBuffer>>;
  bytes: number;
}

/** The output. */
export class RedisStreamsOutput implements Output {
  readonly #stop = new AbortController();
  readonly #rejects: RecordRejects;

  private constructor(
    readonly client: RedisClient,
    readonly config: RedisOutputConfig,
    readonly ctx: OutputContext,
  ) {
    this.#rejects = new RecordRejects(ctx.stats, ctx.log);
  }

  /** Connects (so that a wrong URL fails at start-up) and returns the output. */
  static async create(config: RedisOutputConfig, ctx: OutputContext): Promise<RedisStreamsOutput> {
    const client = await connectRedis(config.url, ctx.log, { tlsCa: config.tls_ca });
    ctx.log.info("writing to redis", { url: config.url, key: config.key, codec: config.codec });
    return new RedisStreamsOutput(client, config, ctx);
  }

  /** Keys by stream and source: a few streams repeat, so each key is built once (bounded). */
  readonly #keys = new Map<string, string>();

  #key(r: BusRecord): string {
    const id = r.stream + "\0" + r.source;
    let key = this.#keys.get(id);
    if (key === undefined) {
      key = this.config.key.replaceAll("{stream}", r.stream).replaceAll("{device}", this.config.device)
        .replaceAll("{source}", r.source);
      if (this.#keys.size >= 10_000) this.#keys.clear();
      this.#keys.set(id, key);
    }
    return key;
  }

  /** Batches sent and not yet confirmed (or given up), oldest first: at most two. */
  readonly #inFlight: Promise<void>[] = [];

  /**
   * Encodes the batch and sends it at once. Resolves at once while no other
   * batch waits for Redis; otherwise when the older one is confirmed
   * (back-pressure: one batch on its way, one behind it). Records whose input
   * asked for an acknowledgement are acknowledged when Redis has their
   * entries (their ack is held until then).
   */
  write(records: BusRecord[]): Promise<void> | void {
    const { codec } = this.config;
    const entries: Entry[] = [];
    for (const r of records) {
      try {
        entries.push(this.#entry(r, codec));
      } catch (e) {
        // One record that cannot be encoded within the codecs' limits costs only itself.
        this.#rejects.rejectError(r, e, { key: this.#key(r) });
      }
    }
    if (entries.length === 0) return;
    const held: BusRecord[] = [];
    for (const r of records) {
      if (r.ack) {
        r.ack.pending++;
        held.push(r);
      }
    }
    const first = this.#send(entries);
    const before = this.#inFlight[this.#inFlight.length - 1];
    const done: Promise<void> = this.#settle(entries, first, before, held).finally(() => {
      this.#inFlight.splice(this.#inFlight.indexOf(done), 1);
    });
    this.#inFlight.push(done);
    if (this.#inFlight.length >= 2) return this.#inFlight[0];
  }

  #entry(r: BusRecord, codec: RedisOutputConfig["codec"]): Entry {
    if (codec === "msgpack") {
      // The common layout, without the generic field loop: one field d of MessagePack, reused when cached.
      const d = recordMsgpack(r);
      return { key: this.#key(r), fields: { d: asBuffer(d) }, bytes: d.length };
    }
    const fields = encodeEntry(r.data, codec);
    let bytes = 0;
    const out: Record<string, string | ReturnType<typeof asBuffer>> = {};
    for (const k in fields) {
      const v = fields[k];
      out[k] = typeof v === "string" ? v : asBuffer(v);
      bytes += v.length;
    }
    return { key: this.#key(r), fields: out, bytes };
  }

  #options() {
    const maxlen = this.config.maxlen;
    return maxlen > 0
      ? { TRIM: { strategy: "MAXLEN" as const, strategyModifier: "~" as const, threshold: maxlen } }
      : undefined;
  }

  #send(entries: Entry[]): Promise<unknown> {
    const options = this.#options();
    return Promise.all(entries.map((e) => this.client.xAdd(e.key, "*", e.fields, options)));
  }

  /**
   * Waits for the first attempt; on failure retries (after the batch before has settled, so batches land in order)
   * until `retry_for` is over. Counts, logs and releases the held acknowledgements; never rejects.
   */
  async #settle(entries: Entry[], first: Promise<unknown>, before: Promise<void> | undefined, held: BusRecord[]) {
    const { stats, log } = this.ctx;
    try {
      let attempt = first;
      const deadline = Date.now() + this.config.retry_for;
      let delay = 100;
      for (;;) {
        try {
          await attempt;
          stats.bytes += entries.reduce((n, e) => n + e.bytes, 0);
          stats.count("entries_written", entries.length);
          return;
        } catch (e) {
          // At-least-once: a retried batch may repeat entries that got in before the connection broke.
          if (Date.now() > deadline || this.#stop.signal.aborted) {
            stats.errors++;
            stats.drop("write_error", entries.length);
            log.error("XADD failed; entries dropped", { entries: entries.length, error: e });
            return;
          }
          stats.count("retries");
          await before;
          await sleep(delay, this.#stop.signal);
          delay = Math.min(delay * 2, 5000);
          attempt = this.#send(entries);
        }
      }
    } finally {
      ackRecords(held);
    }
  }

  /** Waits for the batches on their way, then disconnects (after the bus has drained this output). */
  async close(): Promise<void> {
    await Promise.all(this.#inFlight);
    this.#stop.abort();
    try {
      await this.client.close();
    } catch {
      this.client.destroy();
    }
  }
}
