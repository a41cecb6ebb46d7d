/**
 * The `streamer` input: entries pushed (`ws …/push`) or posted (`POST`) to the
 * streamer API enter the bus as records.
 *
 * @module
 */
import type { Input, InputContext } from "../../core/transport.ts";
import type { BusRecord, Dict } from "../../core/record.ts";
import { decodeMsgpack } from "../../codecs/msgpack.ts";
import { parseEntryId } from "../../protocol/streamer/wire.ts";
import type { AddedEntry } from "./api.ts";
import { acquireStreamerApi, releaseStreamerApi } from "./registry.ts";
import type { StreamerInputConfig } from "./schema.ts";

const utf8 = new TextDecoder("utf-8", { fatal: true });

function isDict(v: unknown): v is Dict {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v) && !(v instanceof Date);
}

/**
 * Puts pushed and posted entries on the bus: stream = the store key
 * (`device:prefix+sid`), time = the entry id's milliseconds, data = `{d: bytes}`
 * or the decoded dictionary (`decode`; a non-dictionary value becomes
 * `{value: …}`, undecodable bytes stay `{d: bytes}` and count as
 * `decode_errors`), meta = `{streamer_store, entry_id}`.
 */
export class StreamerInput implements Input {
  /**
   * Creates the input; it attaches to its store when it runs.
   *
   * @param config the validated `[[inputs.streamer]]` table
   */
  constructor(readonly config: StreamerInputConfig) {}

  /** Attaches to the store's API until `ctx.signal` aborts. */
  async run(ctx: InputContext): Promise<void> {
    const config = this.config;
    const api = acquireStreamerApi(ctx.http.shared ?? ctx.http, config, ctx.log);
    try {
      if (api.sink) throw new Error(`streamer store ${JSON.stringify(config.store)} has an input already`);
      const toRecord = (e: AddedEntry): BusRecord => {
        let data: Dict = { d: e.data };
        if (config.decode !== "none") {
          try {
            const v = config.decode === "msgpack" ? decodeMsgpack(e.data) : JSON.parse(utf8.decode(e.data));
            data = isDict(v) ? v : { value: v };
          } catch (err) {
            ctx.stats.errors++;
            ctx.stats.count("decode_errors");
            ctx.log.warn("entry not decodable; kept as {d: bytes}", {
              stream: e.key,
              id: e.id,
              decode: config.decode,
              error: err instanceof Error ? err.message : String(err),
            });
          }
        }
        const ms = parseEntryId(e.id)?.ms ?? Date.now();
        return {
          stream: e.key,
          time: BigInt(ms) * 1_000_000n,
          data,
          source: ctx.name,
          meta: { streamer_store: config.store, entry_id: e.id },
          size: e.data.length,
        };
      };
      const sink = {
        stats: ctx.stats,
        ingest(entries: readonly AddedEntry[]) {
          if (entries.length === 0 || ctx.signal.aborted) return;
          ctx.stats.records += entries.length;
          for (const e of entries) ctx.stats.bytes += e.data.length;
          return ctx.emit(entries.map(toRecord));
        },
      };
      api.sink = sink;
      ctx.stats.gauges.set("push_clients", () => api.clients("push"));
      ctx.stats.gauges.set("pull_clients", () => api.clients("pull"));
      if (config.graphql) ctx.stats.gauges.set("graphql_subscriptions", () => api.graphql?.subscriptions ?? 0);
      try {
        if (!ctx.signal.aborted) {
          await new Promise<void>((r) => ctx.signal.addEventListener("abort", () => r(), { once: true }));
        }
      } finally {
        if (api.sink === sink) api.sink = undefined;
      }
    } finally {
      await releaseStreamerApi(ctx.http.shared ?? ctx.http, config.store);
    }
  }
}
