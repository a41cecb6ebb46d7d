import assert from "node:assert/strict";
import { join } from "node:path";
import { makeTestCerts, Mosquitto, printedFlags, startWithFlags, until } from "../../testing/mod.ts";
import { bareClient } from "./helpers_test.ts";

Deno.test("mqtt: in and out over TLS with exactly the flags `telebus permissions` prints", async () => {
  const dir = await Deno.makeTempDir({ prefix: "telebus-mqtt-perm-" });
  const certs = await makeTestCerts(dir);
  const broker = await Mosquitto.start({
    tls: { caFile: certs.caFile, certFile: certs.certFile, keyFile: certs.keyFile },
  });
  const c = await bareClient(broker.url);
  try {
    await Deno.writeTextFile(
      join(dir, "t.toml"),
      `
[daemon]
http = "127.0.0.1:0"
data_dir = "state"
dashboard = false
[[inputs.mqtt]]
name = "mq"
url = "${broker.tlsUrl}"
ca = "ca.pem"
topics = ["in/#"]
[[outputs.mqtt]]
url = "${broker.tlsUrl}"
ca = "ca.pem"
topic = "out/{stream}"
protocol_version = 5
content_type = "application/json"
message_expiry = "1h"
`,
    );
    const flags = await printedFlags("t.toml", dir, {});
    assert.ok(flags.some((f) => f.startsWith("--allow-net=") && f.includes(`127.0.0.1:${broker.tlsPort}`)));
    assert.ok(flags.some((f) => f.startsWith("--allow-read=") && f.includes(join(dir, "ca.pem"))), flags.join(" "));
    const got: { topic: string; payload: string; contentType?: string; expiry?: number }[] = [];
    const v5 = await bareClient(broker.url, { protocolVersion: 5 });
    v5.on("message", (topic, payload, packet) =>
      got.push({
        topic,
        payload: new TextDecoder().decode(payload),
        contentType: packet.properties?.contentType,
        expiry: packet.properties?.messageExpiryInterval,
      }));
    await v5.subscribeAsync("out/#", { qos: 1 });
    const d = await startWithFlags(flags, "t.toml", dir, {});
    try {
      await until("a record through the daemon", async () => {
        await c.publishAsync("in/a", JSON.stringify({ x: 1 }), { qos: 1 });
        return got.length > 0;
      }, 20_000);
      assert.equal(got[0].topic, "out/in/a");
      assert.deepEqual(JSON.parse(got[0].payload), { x: 1 });
      assert.equal(got[0].contentType, "application/json");
      assert.ok(got[0].expiry! > 3500 && got[0].expiry! <= 3600, String(got[0].expiry));
      assert.equal(await d.stop(), 0, d.log());
      assert.doesNotMatch(d.log(), /NotCapable|Requires .* access|PermissionDenied/);
    } finally {
      await v5.endAsync();
    }
  } finally {
    await c.endAsync();
    await broker.close();
    await Deno.remove(dir, { recursive: true });
  }
});
