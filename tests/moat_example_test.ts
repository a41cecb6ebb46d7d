/**
 * examples/moat.toml, run as shipped by the real daemon (a subprocess): a
 * peer `pub`s through the MoaT server and subscribes with `sub`, a fake
 * device streams `sensors`, and everything ends up in the .mpack log.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DaemonProcess, freePort, until } from "../testing/mod.ts";
import { decodeMsgpackMultiple } from "../codecs/msgpack.ts";
import { Endpoint, type Request } from "../protocol/moat_cmd/endpoint.ts";
import { runConnection } from "../transports/moat_cmd/connection.ts";
import { connectClient } from "../transports/moat_cmd/test_util.ts";

const CONFIG = new URL("../examples/moat.toml", import.meta.url).pathname;

Deno.test("examples/moat.toml: pub/sub through the server, a device's stream, all logged", async () => {
  const data = await Deno.makeTempDir();
  const serverPort = freePort();
  const devicePort = freePort();
  // The device, as a moat-lib-cmd 0.3.3 peer would be (the example turns credits off for it).
  const devListener = Deno.listen({ hostname: "127.0.0.1", port: devicePort });
  const ac = new AbortController();
  const devConns: Promise<void>[] = [];
  const handler = async (req: Request) => {
    const st = req.streamW("sensors");
    for (let n = 0; n < 3; n++) await st.send({ name: "imu", n, time: 1_700_000_000 + n });
    // Keep the stream open until the daemon goes (the connection's end aborts the signal).
    await new Promise((r) => req.signal.addEventListener("abort", r, { once: true }));
  };
  const devServing = (async () => {
    for await (const c of devListener) {
      devConns.push(runConnection(c, new Endpoint({ handler, credits: false }), { signal: ac.signal }));
    }
  })().catch(() => {});
  const d = await DaemonProcess.start(CONFIG, {
    TELEBUS_MOAT: `127.0.0.1:${serverPort}`,
    MOAT_DEVICE: `127.0.0.1:${devicePort}`,
    TELEBUS_HTTP: "127.0.0.1:0",
    TELEBUS_DATA: data,
  });
  try {
    const c = await connectClient(serverPort);
    const sub = await c.ep.streamR("sub", ["robot/*", "moat/*"]);
    assert.deepEqual(await c.ep.cmd("pub", ["robot/test", { x: 1 }]), [1]);
    // The subscriber sees what is published after it subscribed. (The device's three items may reach the bus before
    // the subscription exists, so they are checked in the log file below, not here: waiting for them could hang.)
    const seen: string[] = [];
    const watch = (async () => {
      for await (const [stream] of sub) {
        seen.push(stream as string);
        if (seen.includes("robot/test")) return;
      }
    })();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) =>
      timer = setTimeout(() => reject(new Error(`sub saw only ${JSON.stringify(seen)}`)), 15_000)
    );
    try {
      await Promise.race([watch, timeout]);
    } finally {
      clearTimeout(timer);
    }
    await until("the device connection logged", () => d.log.includes("streaming sensors"));
    await c.close();
  } finally {
    assert.equal(await d.stop(), 0, d.log);
    ac.abort();
    devListener.close();
    await devServing;
    await Promise.all(devConns);
  }
  const logs = join(data, "logs");
  const records = [];
  for await (const f of Deno.readDir(logs)) {
    records.push(...decodeMsgpackMultiple(await Deno.readFile(join(logs, f.name))));
  }
  const text = JSON.stringify(records);
  assert.match(text, /"x":1/);
  for (let n = 0; n < 3; n++) assert.match(text, new RegExp(`"name":"imu","n":${n}`));
  await Deno.remove(data, { recursive: true });
});
