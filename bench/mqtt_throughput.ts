/**
 * MQTT: records/s out of telebus (the `mqtt` output publishing) and into it
 * (the `mqtt` input subscribed, acknowledging QoS 1 after acceptance), beside
 * bare mqtt.js loops doing the same work (20-key telemetry as JSON, QoS 1 by
 * default) in the same run, on a real mosquitto. "In" is timed from the
 * first publish of a separate publishing client to the last record taken:
 * the bare subscriber and telebus get the same publisher. Each round runs
 * both pairs, the order of bare and telebus alternating between rounds;
 * prints every round, the ratio of the medians and the median of the
 * per-round ratios.
 *
 *   deno run -A bench/mqtt_throughput.ts [--records 20000] [--rounds 5] [--qos 1] [--inflight 20]
 *
 * `--inflight` is mosquitto's `max_inflight_messages` (its default is 20): how many QoS 1 messages the broker
 * sends a subscriber before it waits for acknowledgements.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { Buffer } from "node:buffer";
import mqtt from "npm:mqtt@^5.16.0";
import { createLogger } from "../core/log.ts";
import { type BusRecord, makeRecord } from "../core/record.ts";
import { Mosquitto, testDaemon } from "../testing/mod.ts";
import { telemetry } from "./fixtures.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    records: { type: "string", default: "20000" },
    rounds: { type: "string", default: "5" },
    qos: { type: "string", default: "1" },
    inflight: { type: "string", default: "20" },
  },
});
const N = Number(values.records);
const ROUNDS = Number(values.rounds);
const QOS = Number(values.qos) as 0 | 1;
const dicts = telemetry(1000);
const log = createLogger("bench", { level: "warn", write: (l) => console.error(l) });
const broker = await Mosquitto.start({ maxInflight: Number(values.inflight) });
const rate = (ms: number) => Math.round(N / (ms / 1000));
const json = (d: unknown) => Buffer.from(JSON.stringify(d));

/** Publishes N messages, 1000 at a time (each thousand confirmed before the next, as the output's batches). */
async function publishAll(c: mqtt.MqttClient, topic: string): Promise<void> {
  for (let i = 0; i < N; i += 1000) {
    const ps = [];
    for (let k = 0; k < 1000 && i + k < N; k++) ps.push(c.publishAsync(topic, json(dicts[k]), { qos: QOS }));
    await Promise.all(ps);
  }
}

async function bareOut(): Promise<number> {
  const c = await mqtt.connectAsync(broker.url);
  const t0 = performance.now();
  await publishAll(c, "bench/bare");
  const ms = performance.now() - t0;
  await c.endAsync();
  return rate(ms);
}

async function telebusOut(): Promise<number> {
  const t = await testDaemon(
    { daemon: { http: "off" }, outputs: { mqtt: [{ url: broker.url, topic: "bench/{stream}", qos: QOS }] } },
    undefined,
    { log },
  );
  const out = t.daemon.stats.find((s) => s.type === "mqtt")!;
  while ((out.counters.get("connects") ?? 0) === 0) await new Promise((r) => setTimeout(r, 1));
  // Timed from here: the bare loop's client is connected before its clock starts too.
  const t0 = performance.now();
  for (let i = 0; i < N; i += 1000) {
    const batch: BusRecord[] = [];
    for (let k = 0; k < 1000 && i + k < N; k++) batch.push(makeRecord("tb", 0n, dicts[k], "bench"));
    const p = t.emitRecords(batch);
    if (p) await p;
  }
  // Until the broker confirmed every message (the bus counts a record once write resolved).
  while (out.records < N) await new Promise((r) => setTimeout(r, 1));
  const ms = performance.now() - t0;
  await t.close();
  return rate(ms);
}

/** Times `until N taken` from the first publish of a separate client. */
async function timedIn(topic: string, taken: () => number): Promise<number> {
  const pub = await mqtt.connectAsync(broker.url);
  const t0 = performance.now();
  await publishAll(pub, topic);
  while (taken() < N) await new Promise((r) => setTimeout(r, 1));
  const ms = performance.now() - t0;
  await pub.endAsync();
  return rate(ms);
}

async function bareIn(): Promise<number> {
  const c = await mqtt.connectAsync(broker.url);
  let n = 0;
  // Every payload is decoded, as telebus decodes every message.
  c.on("message", (_t, payload) => {
    if (JSON.parse(payload.toString())) n++;
  });
  await c.subscribeAsync("in/bare", { qos: QOS });
  const r = await timedIn("in/bare", () => n);
  await c.endAsync();
  return r;
}

async function telebusIn(): Promise<number> {
  const t = await testDaemon(
    { daemon: { http: "off" }, inputs: { mqtt: [{ name: "in", url: broker.url, topics: ["in/tb"], qos: QOS }] } },
    undefined,
    { log },
  );
  let n = 0;
  const stop = t.daemon.subscribe((rs) => void (n += rs.length), { whenFull: "block", inputs: ["in"] });
  // Subscribed once a probe comes through (untimed).
  const probe = await mqtt.connectAsync(broker.url);
  while (n === 0) {
    await probe.publishAsync("in/tb", "{}", { qos: 1 });
    await new Promise((r) => setTimeout(r, 20));
  }
  await probe.endAsync();
  const probes = n;
  const r = await timedIn("in/tb", () => n - probes);
  await stop();
  await t.close();
  return r;
}

const fmt = (x: number) => x.toLocaleString("en").padStart(9);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results = new Map<string, { bare: number[]; telebus: number[] }>();
for (let r = 0; r < ROUNDS; r++) {
  const pairs: [string, () => Promise<number>, () => Promise<number>][] = [
    ["out (publish)", bareOut, telebusOut],
    ["in (subscribe)", bareIn, telebusIn],
  ];
  for (const [name, bare, telebus] of pairs) {
    const res = results.get(name) ?? { bare: [], telebus: [] };
    results.set(name, res);
    if (r % 2 === 0) res.bare.push(await bare()), res.telebus.push(await telebus());
    else res.telebus.push(await telebus()), res.bare.push(await bare());
  }
}
const k = (x: number) => `${(x / 1000).toFixed(1)}k`;
for (const [name, r] of results) {
  console.log(`${name}: rounds bare ${r.bare.map(k).join(" ")}, telebus ${r.telebus.map(k).join(" ")} (records/s)`);
}
console.log(
  `${N} records of 20-key telemetry as JSON, QoS ${QOS}, mosquitto max_inflight_messages ${values.inflight}, ` +
    `median of ${ROUNDS} rounds:`,
);
for (const [name, { bare, telebus }] of results) {
  const b = median(bare), t = median(telebus);
  const paired = telebus.map((x, i) => 100 * x / bare[i]);
  const pct = (x: number) => `${x.toFixed(0)} %`;
  console.log(
    `${name.padEnd(16)} bare ${fmt(b)}/s   telebus ${fmt(t)}/s   = ${pct(100 * t / b)}   (paired rounds: median ${
      pct(median(paired))
    }, ${pct(Math.min(...paired))}–${pct(Math.max(...paired))})`,
  );
}
await broker.close();
