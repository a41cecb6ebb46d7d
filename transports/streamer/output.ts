/**
 * The `streamer` output: bus records appended to the streamer store, so that
 * `ws …/pull` and `GET` read them.
 *
 * @module
 */
import type { Output, OutputContext } from "../../core/transport.ts";
import type { BusRecord } from "../../core/record.ts";
import { recordMsgpack } from "../../codecs/msgpack.ts";
import { assertWithinDepth } from "../../core/limits.ts";
import { RecordRejects } from "../../core/reject.ts";
import { toJson } from "../../codecs/json.ts";
import { streamKey } from "../../protocol/streamer/wire.ts";
import type { StreamerApi } from "./api.ts";
import { acquireStreamerApi, releaseStreamerApi } from "./registry.ts";
import { MemoryStreamStore } from "./store.ts";
import type { StreamerOutputConfig } from "./schema.ts";

const utf8 = new TextEncoder();

/** JSON bytes of a record within the codecs' depth limit (the streamer input would refuse a deeper one). */
function jsonOf(r: BusRecord): Uint8Array {
  assertWithinDepth(r.data);
  return utf8.encode(toJson(r.data));
}

/**
 * Appends each record's data, encoded once as MessagePack or JSON, as one
 * entry of key `{device_id}:{stream}` (`{stream}` without device prefixing).
 * Records the same store's input put on the bus are in the store already and
 * are skipped.
 */
export class StreamerOutput implements Output {
  readonly #api: StreamerApi;
  readonly #ctx: OutputContext;
  readonly #config: StreamerOutputConfig;
  readonly #rejects: RecordRejects;

  /**
   * Attaches to (or creates) the store named by `config.store`.
   *
   * @param config the validated `[[outputs.streamer]]` table
   * @param ctx the daemon's output context
   */
  constructor(config: StreamerOutputConfig, ctx: OutputContext) {
    this.#config = config;
    this.#ctx = ctx;
    this.#rejects = new RecordRejects(ctx.stats, ctx.log);
    this.#api = acquireStreamerApi(ctx.http.shared ?? ctx.http, config, ctx.log);
    this.#api.outputStats = ctx.stats;
    const store = this.#api.store;
    if (store instanceof MemoryStreamStore) {
      ctx.stats.gauges.set("store_streams", () => store.size.streams);
      ctx.stats.gauges.set("store_entries", () => store.size.entries);
      ctx.stats.gauges.set("store_bytes", () => store.size.bytes);
    }
    if (config.graphql) {
      ctx.stats.gauges.set("graphql_subscriptions", () => this.#api.graphql?.subscriptions ?? 0);
    }
  }

  /** The API this output feeds (its store is readable by GraphQL and programs). */
  get api(): StreamerApi {
    return this.#api;
  }

  /** Appends the records to the store. */
  async write(records: BusRecord[]): Promise<void> {
    const c = this.#config, stats = this.#ctx.stats;
    const adds: Promise<string>[] = [];
    const keys: string[] = [];
    for (const r of records) {
      if (r.meta?.streamer_store === c.store) {
        stats.count("own_entries_skipped");
        continue;
      }
      let bytes: Uint8Array;
      try {
        bytes = c.format === "msgpack" ? recordMsgpack(r) : jsonOf(r);
      } catch (e) {
        this.#rejects.rejectError(r, e); // costs only this record
        continue;
      }
      const key = streamKey({ device: c.device_id, prefix: "" }, r.stream, c.device_prefixing);
      stats.bytes += bytes.length;
      keys.push(key);
      adds.push(this.#api.store.add(key, bytes));
    }
    const results = await Promise.allSettled(adds);
    for (let i = 0; i < results.length; i++) {
      const res = results[i];
      if (res.status === "rejected") {
        stats.errors++;
        stats.count("store_errors");
        this.#ctx.log.warn("record not stored", { stream: keys[i], error: String(res.reason) });
      }
    }
  }

  /** Detaches from the store; the last user closes it and its sockets. */
  async close(): Promise<void> {
    this.#api.outputStats = undefined;
    await releaseStreamerApi(this.#ctx.http.shared ?? this.#ctx.http, this.#config.store);
  }
}
