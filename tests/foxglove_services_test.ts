/**
 * Device commands in Foxglove: a `moat_cmd` input offers a MoaT device's commands (`services`), the `foxglove`
 * output advertises them as services, and `@foxglove/ws-protocol`'s client calls them and gets the device's answer.
 */
import assert from "node:assert/strict";
import { startDaemon } from "../start.ts";
import { Endpoint, type Request } from "../protocol/moat_cmd/endpoint.ts";
import { runConnection } from "../transports/moat_cmd/connection.ts";
import { Fox } from "../transports/foxglove/test_util.ts";
import { freePort, until } from "../testing/mod.ts";
import { createLogger } from "../core/log.ts";

/** A MoaT device on the real protocol: `sensors` streams until the connection ends; `echo` and `boom` answer. */
function device(port: number) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  const ac = new AbortController();
  const handler = async (req: Request) => {
    if (req.cmd === "sensors") {
      const st = req.streamW("sensors");
      await st.send({ n: 1 });
      await new Promise((r) => ac.signal.addEventListener("abort", r, { once: true }));
      return null;
    }
    if (req.cmd === "echo") return { args: req.args, kw: req.kw };
    if (req.cmd === "boom") throw new Error(`boom ${req.args[0]}`);
    if (req.cmd === "hang") return await new Promise((r) => ac.signal.addEventListener("abort", r, { once: true }));
    throw new Error("unknown");
  };
  const conns: Promise<void>[] = [];
  const serving = (async () => {
    for await (const conn of listener) {
      conns.push(runConnection(conn, new Endpoint({ handler }), { signal: ac.signal }));
    }
  })().catch(() => {});
  return {
    async close() {
      ac.abort();
      listener.close();
      await serving;
      await Promise.all(conns);
    },
  };
}

Deno.test("foxglove services: a client calls a MoaT device's command through the daemon", async () => {
  const devPort = freePort(), onPort = freePort(), offPort = freePort();
  const dev = device(devPort);
  const lines: string[] = [];
  const d = await startDaemon({
    config: {
      daemon: { http: "off", data_dir: await Deno.makeTempDir() },
      inputs: {
        moat_cmd: [{
          name: "dev",
          connect: `127.0.0.1:${devPort}`,
          command: "sensors",
          services: ["echo", "boom", "hang"],
          call_timeout: "300ms",
          reconnect: "10s", // once the device is gone, the test does not want it back
        }],
      },
      outputs: {
        foxglove: [
          { name: "on", listen: `127.0.0.1:${onPort}`, services: true },
          { name: "off", listen: `127.0.0.1:${offPort}` },
        ],
      },
    },
  }, { log: createLogger("test", { level: "debug", write: (l: string) => lines.push(l) }) });
  let devClosed = false;
  const fox = await Fox.connect(`ws://127.0.0.1:${onPort}/`);
  const off = await Fox.connect(`ws://127.0.0.1:${offPort}/`);
  try {
    assert.ok(fox.info?.capabilities.includes("services"));
    assert.deepEqual(
      await fox.call("dev/echo", { args: [1, "two"], kwargs: { x: 3 } }, 1),
      { ok: [{ args: [1, "two"], kw: { x: 3 } }] },
      lines.join("\n"),
    );
    assert.deepEqual(await fox.call("dev/echo", [4], 2), { ok: [{ args: [4], kw: {} }] });
    const boom = await fox.call("dev/boom", [42], 3);
    assert.ok("failed" in boom && /boom 42/.test(boom.failed), JSON.stringify(boom));
    const bad = await fox.call("dev/echo", { argz: [] }, 4);
    assert.ok("failed" in bad && /argz/.test(bad.failed), JSON.stringify(bad));
    const hang = await fox.call("dev/hang", [], 5);
    assert.ok("failed" in hang && /no reply from the device within 300 ms/.test(hang.failed), JSON.stringify(hang));
    assert.deepEqual([...fox.services.values()].map((s) => s.name).sort(), ["dev/boom", "dev/echo", "dev/hang"]);

    // services off: no capability, nothing advertised, and a call is refused (the status comes after anything
    // the server sent on connecting, so an advertisement would have arrived by then).
    assert.ok(!off.info?.capabilities.includes("services"));
    off.client.sendServiceCallRequest({ serviceId: 1, callId: 9, encoding: "json", data: new Uint8Array([91, 93]) });
    await until("refusal", () => off.statuses.some((s) => /not supported/.test(s)));
    assert.equal(off.services.size, 0);
    assert.equal(off.answers.size, 0);

    // The device goes away: its commands are withdrawn.
    await dev.close();
    devClosed = true;
    await until("services withdrawn", () => fox.services.size === 0);
  } finally {
    await fox.close();
    await off.close();
    await d.stop();
    if (!devClosed) await dev.close();
  }
});
