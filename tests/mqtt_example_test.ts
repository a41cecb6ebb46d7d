/**
 * examples/mqtt.toml as shipped, on a real mosquitto and a real influxd: sensor messages over MQTT reach the full-rate
 * `.mpack` and `.mcap` files and InfluxDB as window aggregates; the generator's telemetry reaches the broker throttled.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DaemonProcess, Influxd, Mosquitto, until } from "../testing/mod.ts";
import { bareClient } from "../transports/mqtt/helpers_test.ts";
import { openIndexedMcap } from "../codecs/mcap_read.ts";

Deno.test("examples/mqtt.toml: MQTT in → mpack_file, MCAP and aggregates in InfluxDB; generator → throttle → MQTT out", async () => {
  const broker = await Mosquitto.start();
  const influx = await Influxd.start();
  await influx.query("CREATE DATABASE telemetry");
  const dir = await Deno.makeTempDir();
  const d = await DaemonProcess.start(new URL("../examples/mqtt.toml", import.meta.url).pathname, {
    MQTT_URL: broker.url,
    INFLUX_URL: influx.url,
    TELEBUS_HTTP: "127.0.0.1:0",
    TELEBUS_DATA: dir,
    TELEBUS_WINDOW: "500ms",
    TELEBUS_UPSTREAM: "200ms",
  });
  const sensor = await bareClient(broker.url);
  const upstream = await bareClient(broker.url);
  try {
    // Upstream: the generator's 100 records/s, thinned to about one per 200 ms.
    const received: number[] = [];
    upstream.on("message", (topic) => {
      if (topic === "telebus/robot/telemetry") received.push(Date.now());
    });
    await upstream.subscribeAsync("telebus/#", { qos: 1 });
    // In: 50 sensor readings with rising temperatures.
    await until("the lab input subscribed", () => Promise.resolve(/subscribed/.test(d.log)), 30_000);
    for (let i = 0; i < 50; i++) {
      await sensor.publishAsync("sensors/room1/temp", JSON.stringify({ time: Date.now() / 1000, temp: 20 + i }), {
        qos: 1,
      });
    }
    await until(
      "50 lab records on the bus",
      async () => (await d.metric('telebus_input_records_total{input="lab"')) >= 50,
      30_000,
    );
    await until("aggregates of lab/room1/temp in InfluxDB", async () => {
      const rows = await influx.rows('SELECT "temp_mean", "temp_max" FROM "lab/room1/temp"', "telemetry");
      return rows.length > 0 && rows.some((r) => Number(r.temp_max) >= 20);
    }, 30_000);
    await until(
      "upstream records for 2 s",
      () => Promise.resolve(received.length >= 2 && received.at(-1)! - received[0] >= 2000),
      30_000,
    );
    // Throttled: about 5 per second (200 ms), far from the generator's 100.
    const span = (received.at(-1)! - received[0]) / 1000;
    const rate = (received.length - 1) / span;
    assert.ok(rate <= 10, `${rate.toFixed(1)} upstream records/s through a 200 ms throttle`);
    assert.equal(await d.stop(), 0, d.log);
    // Full rate in the MCAP file: all 50 readings.
    const mcap = [...Deno.readDirSync(dir)].find((e) => e.name.startsWith("lab-") && e.name.endsWith(".mcap"));
    assert.ok(mcap, "the lab's .mcap file");
    const { reader, close } = await openIndexedMcap(join(dir, mcap.name));
    try {
      assert.equal(reader.statistics?.messageCount, 50n);
    } finally {
      close();
    }
  } finally {
    await d.stop().catch(() => {}); // stopped above unless a check failed first
    await sensor.endAsync();
    await upstream.endAsync();
    await influx.stop();
    await broker.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
