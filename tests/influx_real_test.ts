/**
 * The `influxdb` output against a real `influxd` 1.x (Debian package
 * `influxdb`), started on free loopback ports in a temporary folder.
 */
import assert from "node:assert/strict";
import { Influxd, letTimePass, testDaemon, until } from "../testing/mod.ts";
import { type Dict, makeRecord } from "../core/record.ts";

const T = 1_704_067_200_000_000_000n;

/** A daemon with one influxdb output and an input the test drives. */
async function daemonWith(output: Record<string, unknown>) {
  const t = await testDaemon({ daemon: { http: "off", stop_timeout: "60s" }, outputs: { influxdb: [output] } });
  return {
    daemon: t.daemon,
    emit: (stream: string, time: bigint, data: Dict) => t.emit(stream, data, time),
    emitMany: (records: ReturnType<typeof makeRecord>[]) => t.emitRecords(records),
    stats: () => t.daemon.stats.find((s) => s.kind === "output" && s.type === "influxdb")!,
    close: () => t.close(),
  };
}

Deno.test({
  name: "influxdb output → real influxd 1.x: values, types, ns times and escapes read back exactly",
  sanitizeResources: false,
  async fn() {
    const influx = await Influxd.start();
    try {
      await influx.query('CREATE DATABASE "tele bus"');
      const d = await daemonWith({
        url: influx.url,
        database: "tele bus",
        tag_keys: ["robot"],
        tags: { site: "lab 1" },
        flush_interval: "50ms",
      });
      try {
        await d.emit("ignored", T, {
          measurement: "cpu load,x",
          tags: { "host name": "a,b=c d", path: "C:\\temp" },
          fields: {
            f: 1.25,
            neg: -1e-7,
            big: 9_007_199_254_740_993n,
            min: -(2n ** 63n),
            yes: true,
            no: false,
            s: 'say "hi" \\ ok\nline two, é ✓',
            "odd key=1,2": 7.5,
          },
          time: "2024-01-01T00:00:00.123456789Z",
        });
        await d.emit("robot/imu", T + 1n, { robot: "r 1", acc: { x: 0.5, y: 2 }, list: [1, 2] });
        await until(
          "the points",
          async () => (await influx.rows('SELECT * FROM "robot/imu"', "tele bus")).length === 1,
          60_000,
        );
        const cpu = await influx.rows('SELECT * FROM "cpu load,x"', "tele bus");
        assert.deepEqual(cpu, [{
          time: T + 123_456_789n,
          f: 1.25,
          neg: -1e-7,
          big: 9_007_199_254_740_993n,
          min: -(2n ** 63n),
          yes: true,
          no: false,
          s: 'say "hi" \\ ok\nline two, é ✓',
          "odd key=1,2": 7.5,
          "host name": "a,b=c d",
          path: "C:\\temp",
          site: "lab 1",
        }]);
        const fieldTypes = await influx.query('SHOW FIELD KEYS FROM "cpu load,x"', "tele bus");
        assert.deepEqual(
          Object.fromEntries(fieldTypes.results[0].series![0].values as [string, string][]),
          {
            big: "integer",
            f: "float",
            min: "integer",
            neg: "float",
            no: "boolean",
            "odd key=1,2": "float",
            s: "string",
            yes: "boolean",
          },
        );
        const imu = await influx.rows('SELECT * FROM "robot/imu"', "tele bus");
        assert.deepEqual(imu, [{ time: T + 1n, "acc/x": 0.5, "acc/y": 2, robot: "r 1", site: "lab 1" }]);

        // A field-type conflict drops only that point; the others of the batch arrive.
        await d.emitMany([
          makeRecord("conf", T + 10n, { v: 1.5 }, "test"),
          makeRecord("conf", T + 11n, { v: "not a float" }, "test"),
          makeRecord("conf", T + 12n, { v: 2.5 }, "test"),
        ]);
        await until("the conflict to be handled", () => (d.stats().counters.get("bad_points") ?? 0) === 1, 60_000);
        await until("the rest", async () => (await influx.rows("SELECT * FROM conf", "tele bus")).length === 2, 60_000);
        assert.deepEqual(await influx.rows("SELECT * FROM conf", "tele bus"), [
          { time: T + 10n, site: "lab 1", v: 1.5 },
          { time: T + 12n, site: "lab 1", v: 2.5 },
        ]);
      } finally {
        await d.close();
      }
    } finally {
      await influx.stop();
    }
  },
});

Deno.test({
  name: "influxdb output → real influxd: outage under steady load; restart; every point arrives once, in order",
  sanitizeResources: false,
  async fn() {
    const influx = await Influxd.start();
    try {
      await influx.query("CREATE DATABASE out");
      const d = await daemonWith({
        url: influx.url,
        database: "out",
        flush_interval: "50ms",
        batch_size: 200,
        retries: 2,
        retry_initial: "50ms",
        retry_max: "300ms",
        timeout: "2s",
      });
      let n = 0;
      const load = async (ms: number) => {
        const end = Date.now() + ms;
        while (Date.now() < end) {
          const batch = Array.from(
            { length: 50 },
            () => makeRecord("load", T + BigInt(n) * 1000n, { seq: n++ }, "test"),
          );
          await d.emitMany(batch);
          await letTimePass(20); // a steady load of 2,500 points/s, not a synchronisation
        }
      };
      try {
        await load(1000);
        await influx.halt();
        await load(2000);
        const spooledWhileDown = d.stats().counters.get("spooled_points") ?? 0;
        await influx.restart();
        await load(1000);
        const total = n;
        const count = async () => {
          const r = await influx.rows("SELECT count(seq) FROM load", "out");
          return Number(r[0]?.count ?? 0);
        };
        await until(`all ${total} points`, async () => await count() === total, 120_000);
        const rows = await influx.rows("SELECT seq FROM load", "out");
        assert.equal(rows.length, total);
        rows.forEach((r, i) => {
          assert.equal(r.seq, i);
          assert.equal(r.time, T + BigInt(i) * 1000n);
        });
        assert.ok(spooledWhileDown > 0, "points were spooled during the outage");
        assert.equal(d.stats().droppedTotal, 0);
        // A request cut by the stop may have been written yet be sent again: InfluxDB keeps one point per
        // series and time, so the database holds each point once (checked above) even then.
        assert.ok((d.stats().counters.get("points_written") ?? 0) >= total);
      } finally {
        await d.close();
      }
    } finally {
      await influx.stop();
    }
  },
});
