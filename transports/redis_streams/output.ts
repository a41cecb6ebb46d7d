/**
 * The `redis_streams` output: every record becomes one XADD entry (with
 * `MAXLEN ~` trimming) on a key built from a template — `{device}:{stream}` is
 * redis-streamer's layout, so the streamer's clients see telebus's data.
 * A batch goes out as one pipeline (node-redis pipelines the commands of one
 * tick). While Redis is away the batch is retried with backoff for
 * `retry_for`; meanwhile the bus queue in front of this output (bounded, with
 * its `when_full` policy) holds what comes next — there is no other queue.
 *
 * @module
 */
import type { Output, OutputContext } from "../../core/transport.ts";
import type { BusRecord } from "../../core/record.ts";
import { asBuffer, connectRedis, type RedisClient, sleep } from "./client.ts";
import { encodeEntry } from "./codec.ts";
import type { RedisOutputConfig } from "./schema.ts";

/** The output. */
export class RedisStreamsOutput implements Output {
  readonly #stop = new AbortController();

  private constructor(
    readonly client: RedisClient,
    readonly config: RedisOutputConfig,
    readonly ctx: OutputContext,
  ) {}

  /** Connects (so that a wrong URL fails at start-up) and returns the output. */
  static async create(config: RedisOutputConfig, ctx: OutputContext): Promise<RedisStreamsOutput> {
    const client = await connectRedis(config.url, ctx.log);
    ctx.log.info("writing to redis", { url: config.url, key: config.key, codec: config.codec });
    return new RedisStreamsOutput(client, config, ctx);
  }

  #key(r: BusRecord): string {
    return this.config.key.replaceAll("{stream}", r.stream).replaceAll("{device}", this.config.device)
      .replaceAll("{source}", r.source);
  }

  /** Appends the batch; resolves when Redis has every entry. */
  async write(records: BusRecord[]): Promise<void> {
    const { codec, maxlen } = this.config;
    const options = maxlen > 0
      ? { TRIM: { strategy: "MAXLEN" as const, strategyModifier: "~" as const, threshold: maxlen } }
      : undefined;
    const entries = records.map((r) => {
      const cached = codec === "msgpack" ? r.encoded?.msgpack : undefined;
      const fields = encodeEntry(r.data, codec, cached);
      if (codec === "msgpack" && !cached) (r.encoded ??= {}).msgpack = fields.d as Uint8Array;
      let bytes = 0;
      const out: Record<string, string | ReturnType<typeof asBuffer>> = {};
      for (const k in fields) {
        const v = fields[k];
        out[k] = typeof v === "string" ? v : asBuffer(v);
        bytes += v.length;
      }
      return { key: this.#key(r), fields: out, bytes };
    });
    const deadline = Date.now() + this.config.retry_for;
    let delay = 100;
    for (;;) {
      try {
        await Promise.all(entries.map((e) => this.client.xAdd(e.key, "*", e.fields, options)));
        this.ctx.stats.bytes += entries.reduce((n, e) => n + e.bytes, 0);
        return;
      } catch (e) {
        // At-least-once: a retried batch may repeat entries that got in before the connection broke.
        if (Date.now() > deadline || this.#stop.signal.aborted) {
          this.ctx.stats.errors++;
          throw e;
        }
        this.ctx.stats.count("retries");
        await sleep(delay, this.#stop.signal);
        delay = Math.min(delay * 2, 5000);
      }
    }
  }

  /** Disconnects (after the bus has drained this output). */
  async close(): Promise<void> {
    this.#stop.abort();
    try {
      await this.client.close();
    } catch {
      this.client.destroy();
    }
  }
}
