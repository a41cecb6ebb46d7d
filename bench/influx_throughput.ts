/**
 * Points/s into a real `influxd` (Debian package `influxdb`, started on a free
 * loopback port in a temporary folder) through the daemon — an input emitting
 * records → bus → `influxdb` output (encoding, batching, acknowledgement) —
 * and, in the same run, through two bare loops that POST the same line
 * protocol in batches of the same size with `fetch`, one request at a time:
 * one with the lines encoded beforehand (the transport alone), one encoding
 * each batch with the same codec just before sending it. Each run writes
 * into a database of its own; the order alternates between rounds. Prints the
 * median points/s of each and the ratios.
 *
 *   deno run -A bench/influx_throughput.ts [--points 200000] [--rounds 3] [--batch 5000] [--gzip] [--no-send-thread]
 *
 * `--no-send-thread` runs the output with `send_thread = false` (requests
 * sent from the daemon's own thread, so encoding and sending do not overlap).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { Influxd, testDaemon } from "../testing/mod.ts";
import { createLogger } from "../core/log.ts";
import { type BusRecord, makeRecord } from "../core/record.ts";
import { encodeRecord } from "../codecs/line_protocol.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    points: { type: "string", default: "200000" },
    rounds: { type: "string", default: "3" },
    batch: { type: "string", default: "5000" },
    gzip: { type: "boolean", default: false },
    "no-send-thread": { type: "boolean", default: false },
  },
});
const N = Number(values.points);
const ROUNDS = Number(values.rounds);
const BATCH = Number(values.batch);
const GZIP = values.gzip;
const SEND_THREAD = !values["no-send-thread"];

const T0 = 1_704_067_200_000_000_000n;
/** Telemetry of 8 robots: a tag and ten float fields, 1 ms apart. */
function records(): BusRecord[] {
  return Array.from({ length: N }, (_, i) =>
    makeRecord("robot/imu", T0 + BigInt(i) * 1_000_000n, {
      robot: `r${i % 8}`,
      ax: Math.sin(i) * 9.81,
      ay: Math.cos(i) * 9.81,
      az: 9.81 + i / 1e6,
      gx: i * 0.001,
      gy: -i * 0.002,
      gz: 0.5,
      temp: 20 + (i % 100) / 10,
      volt: 12.6 - (i % 50) / 100,
      roll: (i % 360) * 0.1,
      pitch: -(i % 180) * 0.1,
    }, "bench"));
}
const mapping = { tagKeys: ["robot"] };

const influx = await Influxd.start();
const log = createLogger("bench", { level: "warn", write: (l) => console.error(l) });

async function count(db: string): Promise<number> {
  const r = await influx.rows('SELECT count(ax) FROM "robot/imu"', db);
  return Number(r[0]?.count ?? 0);
}

/**
 * The bare loop: the same lines POSTed in batches of BATCH with fetch, one request at a time. With `recs`, each
 * batch is encoded (with the same codec) just before it is sent; without, `lines` were encoded beforehand.
 */
async function bare(db: string, lines: string[], recs?: BusRecord[]): Promise<number> {
  await influx.query(`CREATE DATABASE ${db}`);
  const url = `${influx.url}/write?db=${db}&precision=n`;
  const t0 = performance.now();
  for (let i = 0; i < lines.length; i += BATCH) {
    const batch = recs ? recs.slice(i, i + BATCH).map((r) => encodeRecord(r, mapping)) : lines.slice(i, i + BATCH);
    let body: Uint8Array = new TextEncoder().encode(batch.join("\n"));
    const headers: Record<string, string> = { "content-type": "text/plain; charset=utf-8" };
    if (GZIP) {
      const s = new Blob([body as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new CompressionStream("gzip"));
      body = new Uint8Array(await new Response(s).arrayBuffer());
      headers["content-encoding"] = "gzip";
    }
    const r = await fetch(url, { method: "POST", body: body as Uint8Array<ArrayBuffer>, headers });
    await r.body?.cancel();
    if (r.status !== 204) throw new Error(`bare write: ${r.status}`);
  }
  return performance.now() - t0;
}

/** The daemon: records emitted in bus batches of 1000 → influxdb output; timed until every point is written. */
async function daemon(db: string, recs: BusRecord[]): Promise<number> {
  await influx.query(`CREATE DATABASE ${db}`);
  const dataDir = await Deno.makeTempDir({ prefix: "telebus-bench-influx-" });
  const t = await testDaemon(
    {
      daemon: { http: "off", stop_timeout: "120s" },
      outputs: {
        influxdb: [{
          name: "influx",
          url: influx.url,
          database: db,
          tag_keys: ["robot"],
          batch_size: BATCH,
          gzip: GZIP,
          queue_records: 50_000,
          batch_records: BATCH,
          send_thread: SEND_THREAD,
        }],
      },
    },
    dataDir,
    { log },
  );
  const d = t.daemon;
  const stats = d.stats.find((s) => s.name === "influx")!;
  const t0 = performance.now();
  for (let i = 0; i < recs.length; i += 1000) await t.emitRecords(recs.slice(i, i + 1000));
  while ((stats.counters.get("points_written") ?? 0) < N) await new Promise((r) => setTimeout(r, 1));
  const ms = performance.now() - t0;
  await t.close();
  return ms;
}

try {
  const bareTimes: number[] = [], encTimes: number[] = [], outTimes: number[] = [];

  for (let r = 0; r < ROUNDS; r++) {
    // Fresh records each round: the output caches nothing on them, so every round encodes again.
    const lines = records().map((rec) => encodeRecord(rec, mapping));
    // Alternate the order, and let influxd settle in between: the run after a write burst pays for its compaction.
    const recs = records(), recs2 = records();
    const runs = [
      async () => bareTimes.push(await bare(`bare${r}`, lines)),
      async () => encTimes.push(await bare(`enc${r}`, lines, recs2)),
      async () => outTimes.push(await daemon(`out${r}`, recs)),
    ];
    if (r % 2 === 1) runs.reverse();
    for (const run of runs) {
      await run();
      await new Promise((res) => setTimeout(res, 1000));
    }
    console.log(
      `round ${r + 1}: bare ${bareTimes[r].toFixed(0)} ms, bare+encoding ${encTimes[r].toFixed(0)} ms, output ${
        outTimes[r].toFixed(0)
      } ms`,
    );
    for (const db of [`bare${r}`, `enc${r}`, `out${r}`]) {
      const n = await count(db);
      if (n !== N) throw new Error(`${db} holds ${n} of ${N} points`);
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const rate = (xs: number[]) => N / (median(xs) / 1000);
  const fmt = (x: number) => Math.round(x).toLocaleString("en").padStart(9);
  const bareRate = rate(bareTimes), encRate = rate(encTimes), outRate = rate(outTimes);
  const setup = `${N} points, batches of ${BATCH}${GZIP ? ", gzip" : ""}${
    SEND_THREAD ? "" : ", no send thread"
  }, median of ${ROUNDS}`;
  const pct = (x: number, of: number) => `${(100 * x / of).toFixed(0)} %`;
  console.log(`bare fetch loop, lines encoded beforehand:    ${fmt(bareRate)} points/s (${setup})`);
  console.log(`bare fetch loop, encoding each batch:         ${fmt(encRate)} points/s`);
  console.log(
    `input → bus → influxdb output:                ${fmt(outRate)} points/s = ${pct(outRate, encRate)} of the ` +
      `encoding bare loop, ${pct(outRate, bareRate)} of the pre-encoded one`,
  );
} finally {
  await influx.stop();
}
