/** examples/redis_influx.toml as shipped, on a real redis-server and a real influxd. */
import assert from "node:assert/strict";
import { DaemonProcess } from "./helpers/daemon_process.ts";
import { RedisServer } from "./helpers/redis_server.ts";
import { Influxd } from "./helpers/influxd.ts";

Deno.test("examples/redis_influx.toml: generator → Redis (streamer layout) and InfluxDB; streamer API and GraphQL on Redis", async () => {
  const redis = await RedisServer.start();
  const influx = await Influxd.start();
  const dir = await Deno.makeTempDir();
  await influx.query("CREATE DATABASE telemetry");
  const d = await DaemonProcess.start(new URL("../examples/redis_influx.toml", import.meta.url).pathname, {
    REDIS_URL: redis.url,
    INFLUX_URL: influx.url,
    TELEBUS_HTTP: "127.0.0.1:0",
    TELEBUS_DATA: dir,
  });
  try {
    await new Promise((r) => setTimeout(r, 1500));
    // The streamer API reads what the redis_streams output wrote.
    const got = await fetch(`${d.url}/data/imu?device_id=robot1&last_entry_id=0&count=5`);
    assert.equal(got.status, 200);
    assert.equal(JSON.parse(got.headers.get("x-offsets")!).length, 5);
    await got.body?.cancel();
    // Its GraphQL sees the streams in Redis.
    const q = await fetch(`${d.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "{ streams { id length } }" }),
    });
    const ids = (await q.json()).data.streams.map((s: { id: string }) => s.id);
    assert.ok(ids.includes("robot1:imu") && ids.includes("robot1:odometry"), JSON.stringify(ids));
    // InfluxDB has the points.
    // (Polled: on a loaded machine the first batch may still be on its way.)
    let rows: { count?: unknown }[] = [];
    for (const end = Date.now() + 15_000; Date.now() < end; await new Promise((r) => setTimeout(r, 100))) {
      rows = await influx.rows('SELECT count("x") FROM "imu"', "telemetry");
      if (Number(rows[0]?.count ?? 0) > 10) break;
    }
    assert.ok(Number(rows[0]?.count ?? 0) > 10, JSON.stringify(rows));
  } finally {
    assert.equal(await d.stop(), 0);
    await influx.stop();
    await redis.close();
    await Deno.remove(dir, { recursive: true });
  }
});
