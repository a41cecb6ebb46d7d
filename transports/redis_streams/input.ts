/**
 * The `redis_streams` input: reads stream keys (names or patterns; new
 * matching keys are picked up) with XREAD from `$`, `0` or a checkpointed id,
 * or as a consumer group with XREADGROUP: entries are XACKed only once every
 * output has accepted their records, entries a dead consumer left pending are
 * taken over with XAUTOCLAIM, and this consumer's own pending entries are
 * read again after a restart. It survives Redis restarts: reads fail, the
 * client reconnects with backoff, and reading resumes from the last id
 * (at-least-once in group mode; exactly the checkpointed position otherwise).
 *
 * @module
 */
import type { Input, InputContext } from "../../core/transport.ts";
import type { BusRecord } from "../../core/record.ts";
import { EncodedRecord } from "../../codecs/encoded_record.ts";
import { binary, connectRedis, type RedisClient, sleep } from "../../net/redis.ts";
import { checkMsgpackMap, decodeEntry } from "./codec.ts";
import type { RedisInputConfig } from "./schema.ts";

/** What the checkpoint holds (non-group mode): the last accepted id per key. */
interface RedisCheckpoint {
  ids: Record<string, string>;
}

interface RawEntry {
  id: { toString(): string };
  message: Record<string, Uint8Array>;
}

const hasWildcard = (s: string) => /[*?[]/.test(s);

let lastMs = "", lastNs = 0n;

/** Nanoseconds since the epoch of an entry id's millisecond part (entries of one read mostly share it). */
function idTime(id: string): bigint {
  const ms = id.slice(0, id.indexOf("-"));
  if (ms !== lastMs) lastMs = ms, lastNs = BigInt(ms) * 1_000_000n;
  return lastNs;
}

/** The input. */
export class RedisStreamsInput implements Input {
  /**
   * Creates the input; nothing connects before `run`.
   *
   * @param config the validated table
   */
  constructor(readonly config: RedisInputConfig) {}

  /** Reads until `ctx.signal` aborts; resolves once the last acks and checkpoint are written (bounded wait). */
  async run(ctx: InputContext): Promise<void> {
    const cfg = this.config;
    const log = ctx.log;
    const group = cfg.group;
    const consumer = cfg.consumer ?? `${Deno.hostname()}-${Deno.pid}`;
    const reader = await connectRedis(cfg.url, log, { tlsCa: cfg.tls_ca });
    const control = await connectRedis(cfg.url, log, { tlsCa: cfg.tls_ca });
    // A blocking read holds its connection: stopping must interrupt it (quietly: this is no lost connection).
    const onAbort = () => {
      reader.removeAllListeners("error");
      reader.on("error", () => {});
      reader.destroy();
    };
    ctx.signal.addEventListener("abort", onAbort, { once: true });

    const saved = cfg.from === "checkpoint" ? await ctx.checkpoints.load<RedisCheckpoint>(ctx.name) : undefined;
    const positions = new Map<string, string>(); // key → last id read (non-group), or "0"/">" (group)
    const pending = new Set<Promise<unknown>>();
    let accepted: Record<string, string> = { ...saved?.ids };
    let saving: Promise<void> | undefined;
    let dirty = false;
    const saveCheckpoint = () => {
      dirty = true;
      if (saving) return;
      saving = (async () => {
        while (dirty) {
          dirty = false;
          try {
            await ctx.checkpoints.save(ctx.name, { ids: { ...accepted } } satisfies RedisCheckpoint);
          } catch (e) {
            log.error("cannot save the checkpoint", { error: e });
          }
        }
        saving = undefined;
      })();
    };

    const startId = async (key: string, atStartup: boolean): Promise<string> => {
      if (saved?.ids[key]) return saved.ids[key];
      if (cfg.from === "0" || !atStartup) return "0-0"; // a key that appears later is new: read it all
      const last = await control.xRevRange(key, "+", "-", { COUNT: 1 });
      return last[0]?.id ?? "0-0";
    };
    const addKey = async (key: string, atStartup: boolean) => {
      if (positions.has(key)) return;
      if (group) {
        try {
          await control.xGroupCreate(key, group, cfg.from === "0" ? "0" : "$", { MKSTREAM: true });
          log.info("consumer group created", { key, group });
        } catch (e) {
          if (!String((e as Error).message).includes("BUSYGROUP")) throw e;
        }
        positions.set(key, "0"); // first our own pending entries (after a crash), then new ones
      } else positions.set(key, await startId(key, atStartup));
      log.info("reading stream", { key, from: positions.get(key), group });
    };
    const discover = async (atStartup: boolean) => {
      for (const s of cfg.streams) {
        if (!hasWildcard(s)) await addKey(s, atStartup);
        else {
          for await (const keys of control.scanIterator({ TYPE: "stream", MATCH: s, COUNT: 1000 })) {
            for (const k of keys) await addKey(String(k), atStartup);
          }
        }
      }
    };

    const toRecords = (key: string, entries: RawEntry[]): BusRecord[] => {
      const stream = key.startsWith(cfg.strip_prefix) ? key.slice(cfg.strip_prefix.length) : key;
      const out: BusRecord[] = [];
      for (const e of entries) {
        const id = e.id.toString();
        let size = 0;
        for (const f in e.message) size += f.length + e.message[f].length;
        ctx.stats.bytes += size;
        try {
          const meta = { redis_key: key, redis_id: id };
          if (cfg.codec === "msgpack") {
            // Checked, not decoded: the bytes travel on as they are (an mpack file, Redis or ZeroMQ output writes
            // them unchanged) and are decoded once, if an output reads the dictionary.
            const r = new EncodedRecord(stream, idTime(id), checkMsgpackMap(e.message.d), ctx.name);
            r.size = size;
            r.meta = meta;
            out.push(r);
          } else {
            out.push({
              stream,
              time: idTime(id),
              data: decodeEntry(e.message, cfg.codec),
              source: ctx.name,
              size,
              meta,
            });
          }
        } catch (err) {
          ctx.stats.errors++;
          log.warn("entry skipped: it does not hold a record", {
            key,
            id,
            codec: cfg.codec,
            reason: (err as Error).message,
          });
        }
      }
      ctx.stats.records += out.length;
      return out;
    };

    const emitGroup = async (key: string, entries: RawEntry[]) => {
      if (entries.length === 0) return;
      const ids = entries.map((e) => e.id.toString());
      const records = toRecords(key, entries);
      const ack = () => {
        const p = control.xAck(key, group!, ids).catch((e) =>
          log.warn("XACK failed; entries stay pending", { key, error: e })
        )
          .finally(() => pending.delete(p));
        pending.add(p);
      };
      if (records.length === 0) return ack(); // undecodable entries: acknowledged so they do not come back forever
      const p = ctx.emit(records, ack);
      if (p) await p;
    };

    type ReadReply = { name: { toString(): string }; messages: RawEntry[] }[];
    /**
     * One XREAD or XREADGROUP of every known key, positions advanced from its reply at once (so the next read can
     * go out before this one's entries are emitted). In group mode a key reads its own pending entries ("0", then
     * past the last one returned) until none are left, then new ones (">"), which block.
     */
    const read = async (): Promise<{ streams: ReadReply }> => {
      const streams = [...positions].map(([key, id]) => ({ key, id }));
      if (group) {
        const history = streams.some((s) => s.id !== ">");
        const res = await binary(reader).xReadGroup(group, consumer, streams, {
          COUNT: cfg.count,
          ...(history ? {} : { BLOCK: cfg.block }),
        }) as unknown as ReadReply | null;
        const got = new Set<string>();
        for (const s of res ?? []) {
          if (s.messages.length === 0) continue;
          const key = s.name.toString();
          got.add(key);
          if (positions.get(key) !== ">") positions.set(key, s.messages[s.messages.length - 1].id.toString());
        }
        for (const s of streams) if (s.id !== ">" && !got.has(s.key)) positions.set(s.key, ">");
        return { streams: (res ?? []).filter((s) => s.messages.length > 0) };
      }
      const res = await binary(reader).xRead(streams, { COUNT: cfg.count, BLOCK: cfg.block }) as unknown as
        | ReadReply
        | null;
      const out = (res ?? []).filter((s) => s.messages.length > 0);
      for (const s of out) positions.set(s.name.toString(), s.messages[s.messages.length - 1].id.toString());
      return { streams: out };
    };
    let nextRead: Promise<{ streams: ReadReply }> | undefined;

    const emitPlain = async (key: string, entries: RawEntry[]) => {
      const last = entries[entries.length - 1].id.toString();
      const records = toRecords(key, entries);
      const onAccepted = () => {
        accepted = { ...accepted, [key]: last };
        saveCheckpoint();
      };
      if (records.length === 0) onAccepted();
      else {
        const p = ctx.emit(records, onAccepted);
        if (p) await p;
      }
    };

    let lastScan = 0;
    let lastClaim = Date.now();
    let backoff = 100;
    try {
      await discover(true);
      lastScan = Date.now();
      while (!ctx.signal.aborted) {
        try {
          if (Date.now() - lastScan > cfg.scan_interval) {
            await discover(false);
            lastScan = Date.now();
          }
          if (positions.size === 0) {
            await sleep(cfg.scan_interval, ctx.signal);
            continue;
          }
          if (group) {
            if (cfg.claim_idle > 0 && Date.now() - lastClaim > cfg.claim_idle / 2) {
              lastClaim = Date.now();
              for (const key of positions.keys()) {
                const claimed = await binary(control).xAutoClaim(key, group, consumer, cfg.claim_idle, "0-0", {
                  COUNT: cfg.count,
                });
                const messages = (claimed.messages ?? []).filter((m) => m !== null) as unknown as RawEntry[];
                if (messages.length > 0) {
                  ctx.stats.count("claimed", messages.length);
                  log.info("took over entries left pending by another consumer", { key, entries: messages.length });
                  await emitGroup(key, messages);
                }
              }
            }
          }
          // Read ahead: the next read is sent before this batch is decoded and emitted, so that Redis prepares it
          // meanwhile (one batch of `count` entries per key at most is held; the loop still waits for the bus).
          const thisRead = nextRead ?? read();
          nextRead = undefined;
          const batch = await thisRead;
          if (batch.streams.length > 0 && !ctx.signal.aborted) {
            nextRead = read();
            // Its failure is handled when it is awaited, on the next turn.
            nextRead.catch(() => {});
          }
          for (const s of batch.streams) {
            const key = s.name.toString();
            if (group) await emitGroup(key, s.messages);
            else await emitPlain(key, s.messages);
          }
          backoff = 100;
        } catch (e) {
          if (ctx.signal.aborted) break;
          ctx.stats.count("read_errors");
          log.warn("read failed; retrying", { url: cfg.url, error: (e as Error).message, retry_ms: backoff });
          await sleep(backoff, ctx.signal);
          backoff = Math.min(backoff * 2, 5000);
        }
      }
    } finally {
      ctx.signal.removeEventListener("abort", onAbort);
      // The daemon drains the outputs after the inputs stopped: wait (bounded) for their acks and checkpoints.
      const until = Date.now() + 10_000;
      while ((pending.size > 0 || saving) && Date.now() < until) {
        await Promise.race([Promise.all([...pending, saving]), sleep(50)]);
      }
      if (reader.isOpen) reader.destroy();
      try {
        await control.close();
      } catch {
        if (control.isOpen) control.destroy();
      }
    }
  }
}

/** Creates the input (the transport's factory). */
export function createRedisInput(config: RedisInputConfig): Input {
  return new RedisStreamsInput(config);
}

export type { RedisClient };
