/** examples/redis_influx.toml as shipped, on a real redis-server and a real influxd. */
import assert from "node:assert/strict";
import { DaemonProcess, Influxd, RedisServer, until } from "../testing/mod.ts";

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
    // Wait for each sink to show data, with a deadline (a fixed sleep was flaky on a loaded machine).
    const streamerRows = async () => {
      const r = await fetch(`${d.url}/data/imu?device_id=robot1&last_entry_id=0&count=5`);
      await r.body?.cancel();
      return r.status === 200 ? JSON.parse(r.headers.get("x-offsets") ?? "[]").length : 0;
    };
    await until("5 entries through the streamer API", async () => (await streamerRows()) === 5, 60_000);
    // Its GraphQL sees the streams in Redis.
    const streamIds = async () => {
      const q = await fetch(`${d.url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query: "{ streams { id length } }" }),
      });
      return ((await q.json()).data?.streams ?? []).map((s: { id: string }) => s.id) as string[];
    };
    await until("both streams in GraphQL", async () => {
      const ids = await streamIds();
      return ids.includes("robot1:imu") && ids.includes("robot1:odometry");
    }, 60_000);
    // InfluxDB has the points.
    const influxCount = async () =>
      Number((await influx.rows('SELECT count("x") FROM "imu"', "telemetry"))[0]?.count ?? 0);
    await until("more than 10 points in InfluxDB", async () => (await influxCount()) > 10, 60_000);
  } finally {
    assert.equal(await d.stop(), 0);
    await influx.stop();
    await redis.close();
    await Deno.remove(dir, { recursive: true });
  }
});
