/**
 * Fault suite: a server the daemon writes to goes away for 20 s under steady load (stopped with SIGTERM,
 * then started again on the same port and data). The daemon runs as its own process with a generator
 * input; the queue is bounded, `when_full = "block"` holds the generator back during the outage. Nothing
 * may be lost; figures go to test-output/faults/ (see docs/reliability.md).
 *
 * The outage lasts `TELEBUS_FAULT_OUTAGE_MS` milliseconds (default 20000).
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createClient } from "npm:redis@^5.8.0";
import { DaemonProcess, Influxd, letTimePass, RedisServer, until } from "../../testing/mod.ts";
import { decodeMsgpack } from "../../codecs/msgpack.ts";
import { binary } from "../../net/redis.ts";
import { lostAndDuplicated, recordFigures } from "./figures.ts";

const OUTAGE_MS = Number(Deno.env.get("TELEBUS_FAULT_OUTAGE_MS") ?? 20_000);
const RATE = 2000;
const COUNT = 40_000;

/** A daemon with a generator of COUNT records at RATE/s and the given output table. */
async function daemonWith(dir: string, output: string): Promise<DaemonProcess> {
  const config = join(dir, "fault.toml");
  await Deno.writeTextFile(
    config,
    `[daemon]\nhttp = "127.0.0.1:0"\ndata_dir = "${dir}/data"\nstop_timeout = "60s"\n\n` +
      `[[inputs.generator]]\nname = "robot"\nrate = ${RATE}\ncount = ${COUNT}\nkeys = 6\n\n` +
      output,
  );
  return await DaemonProcess.start(config);
}

/**
 * The outage itself: waits until the daemon is under load, stops the server, waits OUTAGE_MS, starts it again.
 * Returns when it came back and how many records the input had produced by then (what must arrive to recover).
 */
async function outage(d: DaemonProcess, server: { down(): Promise<void>; up(): Promise<void> }) {
  await until(
    "records before the outage",
    async () => (await d.metric("telebus_input_records_total")) > 2 * RATE,
    30_000,
  );
  await server.down();
  await letTimePass(OUTAGE_MS); // the outage is a stretch of time on purpose
  await server.up();
  return { upAt: Date.now(), backlog: await d.metric("telebus_input_records_total") };
}

Deno.test({
  name: "fault: Redis stopped 20 s under load, then back: nothing lost (redis_streams output, at-least-once)",
  sanitizeResources: false,
  async fn() {
    const redis = await RedisServer.start();
    const dir = await Deno.makeTempDir({ prefix: "telebus-fault-redis-" });
    const client = createClient({ url: redis.url });
    try {
      const d = await daemonWith(
        dir,
        `[[outputs.redis_streams]]\nname = "redis"\nurl = "${redis.url}"\nmaxlen = 0\nretry_for = "5m"\n`,
      );
      try {
        const { upAt, backlog } = await outage(d, { down: () => redis.stop(), up: () => redis.restart() });
        await client.connect();
        await until("the backlog", async () => (await client.xLen("robot/telemetry")) >= backlog, 120_000);
        const recover = Date.now() - upAt;
        await until(`all ${COUNT} entries`, async () => (await client.xLen("robot/telemetry")) >= COUNT, 120_000);
        const entries = await binary(client).xRange("robot/telemetry", "-", "+");
        const seqs = entries.map((e) => (decodeMsgpack(e.message.d) as { seq: number }).seq);
        const { lost, duplicated } = lostAndDuplicated(seqs, COUNT);
        const peak = await d.peakRss();
        await recordFigures("redis_outage_20s", {
          records: COUNT,
          lost,
          duplicated,
          outage_ms: OUTAGE_MS,
          recover_ms: recover,
          peak_rss_mib: Math.round(peak / 1048576),
        });
        assert.equal(lost, 0, "records lost");
        // At-least-once (transports/redis_streams/README.md): an XADD whose reply was cut by the stop is sent again.
        assert.ok(duplicated <= 2000, `${duplicated} duplicated: more than the two batches in flight`);
        assert.equal(await d.stop("SIGTERM"), 0, d.log);
      } catch (e) {
        throw new Error(`${(e as Error).message}\n--- daemon log (end) ---\n${d.log.slice(-3000)}`);
      } finally {
        await d.stop("SIGKILL").catch(() => {});
      }
    } finally {
      await client.quit().catch(() => {});
      await redis.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "fault: influxd stopped 20 s under load, then back: every point arrives (influxdb output, spool)",
  sanitizeResources: false,
  async fn() {
    const influx = await Influxd.start(); // throws when influxd cannot start: never a silent skip
    const dir = await Deno.makeTempDir({ prefix: "telebus-fault-influx-" });
    try {
      await influx.query("CREATE DATABASE out");
      const d = await daemonWith(
        dir,
        `[[outputs.influxdb]]\nname = "influx"\nurl = "${influx.url}"\ndatabase = "out"\nflush_interval = "100ms"\n` +
          `batch_size = 1000\nretries = 2\nretry_initial = "100ms"\nretry_max = "1s"\ntimeout = "2s"\n`,
      );
      try {
        const { upAt, backlog } = await outage(d, { down: () => influx.halt(), up: () => influx.restart() });
        const count = async () => {
          const r = await influx.rows(`SELECT count(seq) FROM "robot/telemetry"`, "out");
          return Number(r[0]?.count ?? 0);
        };
        await until("the backlog", async () => (await count()) >= backlog, 180_000);
        const recover = Date.now() - upAt;
        await until(`all ${COUNT} points`, async () => (await count()) >= COUNT, 180_000);
        const rows = await influx.rows(`SELECT seq FROM "robot/telemetry"`, "out");
        // InfluxDB keeps one point per series and time: a point sent twice is stored once, so only loss shows.
        const { lost, duplicated } = lostAndDuplicated(rows.map((r) => Number(r.seq)), COUNT);
        const peak = await d.peakRss();
        await recordFigures("influxd_outage_20s", {
          records: COUNT,
          lost,
          duplicated,
          outage_ms: OUTAGE_MS,
          recover_ms: recover,
          peak_rss_mib: Math.round(peak / 1048576),
        });
        assert.equal(lost, 0, "points lost");
        assert.equal(duplicated, 0, "points duplicated");
        assert.equal(await d.stop("SIGTERM"), 0, d.log);
      } catch (e) {
        throw new Error(`${(e as Error).message}\n--- daemon log (end) ---\n${d.log.slice(-3000)}`);
      } finally {
        await d.stop("SIGKILL").catch(() => {});
      }
    } finally {
      await influx.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
