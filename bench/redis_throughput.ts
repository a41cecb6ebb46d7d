/**
 * Redis Streams: records/s into Redis (XADD) and out of it (XREAD, and
 * XREADGROUP + XACK) through telebus's `redis_streams` output and input,
 * beside bare node-redis loops doing the same work (MessagePack in field `d`,
 * 1000 entries per pipeline or read) in the same run, on a real redis-server.
 * Each round runs every pair, the order of bare and telebus alternating
 * between rounds; prints every round, the ratio of the medians, and the
 * median of the per-round ratios (bare and telebus of a round run back to
 * back, so their ratio is less exposed to the machine's drift).
 *
 *   deno run -A bench/redis_throughput.ts [--records 100000] [--rounds 5]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { createClient } from "npm:redis@^5.8.0";
import { startDaemon } from "../start.ts";
import { createLogger } from "../core/log.ts";
import { type BusRecord, makeRecord } from "../core/record.ts";
import { decodeMsgpack, encodeMsgpack } from "../codecs/msgpack.ts";
import { asBuffer, binary } from "../net/redis.ts";
import { RedisServer, testDaemon } from "../testing/mod.ts";
import { telemetry } from "./fixtures.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { records: { type: "string", default: "100000" }, rounds: { type: "string", default: "5" } },
});
const N = Number(values.records);
const ROUNDS = Number(values.rounds);
const dicts = telemetry(1000);
const log = createLogger("bench", { level: "warn", write: (l) => console.error(l) });
const redis = await RedisServer.start(false);
const c = createClient({ url: redis.url });
await c.connect();
const rate = (ms: number) => Math.round(N / (ms / 1000));

async function bareXadd(key: string): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < N; i += 1000) {
    const ps = [];
    for (let k = 0; k < 1000 && i + k < N; k++) {
      ps.push(c.xAdd(key, "*", { d: asBuffer(encodeMsgpack(dicts[k])) }, {
        TRIM: { strategy: "MAXLEN", strategyModifier: "~", threshold: N },
      }));
    }
    await Promise.all(ps);
  }
  return rate(performance.now() - t0);
}

async function telebusXadd(key: string): Promise<number> {
  const t = await testDaemon(
    {
      daemon: { http: "off" },
      outputs: { redis_streams: [{ url: redis.url, key, maxlen: N }] },
    },
    undefined,
    { log },
  );
  const out = t.daemon.stats.find((s) => s.type === "redis_streams")!;
  // Timed from here: the bare loop's client is connected before its clock starts too.
  const t0 = performance.now();
  for (let i = 0; i < N; i += 1000) {
    const batch: BusRecord[] = [];
    for (let k = 0; k < 1000 && i + k < N; k++) batch.push(makeRecord("s", 0n, dicts[k], "bench"));
    const p = t.emitRecords(batch);
    if (p) await p;
  }
  // Until Redis has confirmed every entry (write() returns before the last batch is confirmed).
  while ((out.counters.get("entries_written") ?? 0) < N) await new Promise((r) => setTimeout(r, 1));
  const ms = performance.now() - t0;
  await t.close();
  return rate(ms);
}

async function bareXread(key: string, group?: string): Promise<number> {
  const b = binary(c);
  const t0 = performance.now();
  let n = 0, id = "0-0";
  if (group) await c.xGroupCreate(key, group, "0");
  while (n < N) {
    const res = group
      ? await b.xReadGroup(group, "bare", [{ key, id: ">" }], { COUNT: 1000 })
      : await b.xRead([{ key, id }], { COUNT: 1000 });
    const msgs = (res as unknown as { messages: { id: Uint8Array; message: { d: Uint8Array } }[] }[])[0].messages;
    for (const m of msgs) decodeMsgpack(m.message.d);
    n += msgs.length;
    id = msgs[msgs.length - 1].id.toString();
    if (group) await c.xAck(key, group, msgs.map((m) => m.id.toString()));
  }
  return rate(performance.now() - t0);
}

async function telebusXread(key: string, group?: string): Promise<number> {
  const dir = await Deno.makeTempDir();
  // Timed from the start: the input connects and starts reading at once (about 10 ms).
  const t0 = performance.now();
  const d = await startDaemon({
    config: {
      daemon: { http: "off", data_dir: dir },
      inputs: { redis_streams: [{ name: "in", url: redis.url, streams: [key], from: "0", count: 1000, group }] },
    },
  }, { log });
  let n = 0, keys = 0;
  // Every record's dictionary is read (decoded), as the bare loop decodes every entry.
  const stop = d.subscribe((rs) => {
    n += rs.length;
    for (const r of rs) if (r.data) keys++;
  }, { whenFull: "block" });
  while (n < N) await new Promise((r) => setTimeout(r, 1));
  const ms = performance.now() - t0;
  if (keys < n) throw new Error("records without their dictionaries");
  await stop();
  await d.stop();
  await Deno.remove(dir, { recursive: true });
  return rate(ms);
}

const fmt = (x: number) => x.toLocaleString("en").padStart(9);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results = new Map<string, { bare: number[]; telebus: number[] }>();
for (let r = 0; r < ROUNDS; r++) {
  const rounds: [string, () => Promise<number>, () => Promise<number>][] = [
    ["XADD", () => bareXadd("bare:add"), () => telebusXadd("tb:add")],
    ["XREAD", () => bareXread("bare:add"), () => telebusXread("tb:add")],
    ["XREADGROUP + XACK", () => bareXread("bare:add", `bare${r}`), () => telebusXread("tb:add", `tb${r}`)],
  ];
  for (const [name, bare, telebus] of rounds) {
    const res = results.get(name) ?? { bare: [], telebus: [] };
    results.set(name, res);
    if (r % 2 === 0) res.bare.push(await bare()), res.telebus.push(await telebus());
    else res.telebus.push(await telebus()), res.bare.push(await bare());
  }
}
const k = (x: number) => `${Math.round(x / 1000)}k`;
for (const [name, r] of results) {
  console.log(`${name}: rounds bare ${r.bare.map(k).join(" ")}, telebus ${r.telebus.map(k).join(" ")} (records/s)`);
}
console.log(`${N} records of 20-key telemetry, MessagePack in field d, median of ${ROUNDS} rounds:`);
for (const [name, { bare, telebus }] of results) {
  const b = median(bare), t = median(telebus);
  // Each round runs bare and telebus back to back: their ratio is less exposed to the machine's drift between rounds.
  const paired = telebus.map((x, i) => 100 * x / bare[i]);
  const pct = (x: number) => `${x.toFixed(0)} %`;
  console.log(
    `${name.padEnd(22)} bare ${fmt(b)}/s   telebus ${fmt(t)}/s   = ${pct(100 * t / b)}   (paired rounds: median ${
      pct(median(paired))
    }, ${pct(Math.min(...paired))}–${pct(Math.max(...paired))})`,
  );
}
await c.close();
await redis.close();
