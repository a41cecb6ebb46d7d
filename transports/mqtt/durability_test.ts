import assert from "node:assert/strict";
import { join } from "node:path";
import { makeRecord } from "../../core/record.ts";
import { DaemonProcess, freePort, Mosquitto, until } from "../../testing/mod.ts";
import { bareClient, collectingDaemon, range, seqs } from "./helpers_test.ts";

Deno.test("mqtt input: QoS 1 is acknowledged only after the outputs accepted; a killed daemon gets it again", async () => {
  const broker = await Mosquitto.start();
  const dir = await Deno.makeTempDir({ prefix: "telebus-mqtt-kill-" });
  const config = (output: string) => `
[daemon]
http = "127.0.0.1:0"
data_dir = "${dir}/state"
dashboard = false
[[inputs.mqtt]]
name = "mq"
url = "${broker.url}"
client_id = "telebus-kill-test"
clean = false
topics = ["in/#"]
qos = 1
[[outputs.mqtt]]
name = "out"
url = "${output}"
topic = "out/{stream}"
qos = 1
`;
  const publisher = await bareClient(broker.url);
  const watcher = await bareClient(broker.url);
  const seen = new Set<number>();
  watcher.on("message", (_t, payload) => seen.add(JSON.parse(new TextDecoder().decode(payload)).seq));
  await watcher.subscribeAsync("out/#", { qos: 1 });
  try {
    // First run: the output's broker is not there, so nothing is ever accepted.
    await Deno.writeTextFile(join(dir, "a.toml"), config(`mqtt://127.0.0.1:${freePort()}`));
    const first = await DaemonProcess.start(join(dir, "a.toml"));
    await until("the session", async () => await first.metric('telebus_input_connects_total{input="mq"') >= 1);
    const n = 50;
    for (const i of range(n)) await publisher.publishAsync(`in/s${i % 2}`, JSON.stringify({ seq: i }), { qos: 1 });
    // mosquitto sends 20 unacknowledged messages at most: those are what the daemon holds.
    await until("records read", async () => await first.metric('telebus_input_records_total{input="mq"') >= 20);
    assert.equal(await first.stop("SIGKILL"), 137);
    assert.equal(seen.size, 0);

    // Second run, same session, a reachable output: every message comes (again).
    await Deno.writeTextFile(join(dir, "b.toml"), config(broker.url));
    const second = await DaemonProcess.start(join(dir, "b.toml"));
    try {
      await until(`${n} messages out`, () => seen.size === n, 20_000);
      assert.deepEqual([...seen].sort((a, b) => a - b), range(n));
    } finally {
      await second.stop();
    }
  } finally {
    await publisher.endAsync();
    await watcher.endAsync();
    await broker.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("mqtt: a broker restart under load loses nothing at QoS 1, out and in", async () => {
  const broker = await Mosquitto.start();
  const t = await collectingDaemon({
    outputs: {
      mqtt: [{ url: broker.url, streams: ["src/*"], topic: "load/{stream}", qos: 1, reconnect_period: "50ms" }],
    },
    inputs: {
      mqtt: [{
        name: "mq",
        url: broker.url,
        topics: ["load/#"],
        client_id: "telebus-restart-test",
        clean: false,
        reconnect_period: "50ms",
      }],
    },
  }, ["mq"]);
  try {
    await until("the subscription", async () => {
      await t.emit("src/probe", { seq: -1 });
      return t.got.length > 0;
    }, 15_000);
    const n = 3000;
    let restarted: Promise<void> | undefined;
    for (let i = 0; i < n; i += 100) {
      await t.emitRecords(range(100).map((j) => makeRecord("src/x", BigInt(i + j), { seq: i + j }, "test")));
      if (i === 1000) {
        restarted = (async () => {
          await broker.stop();
          await broker.restart();
        })();
      }
      if (i === 2000) await restarted; // the rest goes to the broker that came back
    }
    await until(`${n} records`, () => seqs(t.got).filter((s) => s >= 0).length === n, 60_000);
    assert.deepEqual(seqs(t.got).filter((s) => s >= 0), range(n));
    const input = t.daemon.stats.find((p) => p.name === "mq")!;
    assert.ok((input.counters.get("connects") ?? 0) >= 2, "the input reconnected");
  } finally {
    await t.stop();
    await broker.close();
  }
});
