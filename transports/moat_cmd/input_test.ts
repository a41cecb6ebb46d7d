/** The moat_cmd input in client mode: streams a device's command into records, reconnects with backoff. */
import assert from "node:assert/strict";
import { startDaemon } from "../../start.ts";
import type { BusRecord } from "../../core/record.ts";
import { Endpoint, type Request } from "../../protocol/moat_cmd/endpoint.ts";
import { runConnection } from "./connection.ts";
import { encodeCbor } from "../../codecs/cbor.ts";
import { memoryLogger } from "./test_util.ts";
import { freePort, until } from "../../testing/mod.ts";

/** A MoaT device: `sensors("read")` streams `per` readings, then ends; a new connection gets the next ones. */
function device(port: number, per: number) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  const ac = new AbortController();
  const seen: unknown[] = [];
  let seq = 0;
  const handler = async (req: Request) => {
    seen.push([req.cmd, req.args, req.kw]);
    if (req.cmd !== "sensors") throw new Error("unknown");
    const st = req.streamW("sensors");
    for (let i = 0; i < per; i++) {
      const n = seq++;
      await st.send({ name: n % 2 ? "imu" : "gps", time: 1_700_000_000 + n, n });
    }
    await st.send(7); // not a dictionary: becomes {value: 7}
    return "bye";
  };
  const conns: Promise<void>[] = [];
  const serving = (async () => {
    for await (const conn of listener) {
      conns.push(runConnection(conn, new Endpoint({ handler }), { signal: ac.signal }));
    }
  })().catch(() => {});
  return {
    seen,
    async close() {
      ac.abort();
      listener.close();
      await serving;
      await Promise.all(conns);
    },
  };
}

Deno.test("moat input: each streamed item becomes a record; the input reconnects when the stream ends", async () => {
  const port = freePort();
  const dev = device(port, 5);
  const { log, lines } = memoryLogger();
  const d = await startDaemon({
    config: {
      daemon: { http: "off", data_dir: await Deno.makeTempDir() },
      inputs: {
        moat_cmd: [{
          name: "dev",
          connect: `127.0.0.1:${port}`,
          command: "sensors",
          args: ["read"],
          kw: { rate: 10 },
          stream: "dev/{name}",
          reconnect: "20ms",
        }],
      },
    },
  }, { log });
  const got: BusRecord[] = [];
  const stop = d.subscribe((rs) => void got.push(...rs));
  try {
    await until("two connections' worth of records", () => got.length >= 12).catch((e) => {
      throw new Error(`${e.message}: ${got.length}\n${lines.join("\n")}`);
    });
    assert.deepEqual(dev.seen[0], ["sensors", ["read"], { rate: 10 }]);
    assert.deepEqual(got[0].data, { name: "gps", time: 1_700_000_000, n: 0 });
    assert.equal(got[0].stream, "dev/gps");
    assert.equal(got[0].time, 1_700_000_000_000_000_000n);
    assert.equal(got[1].stream, "dev/imu");
    assert.deepEqual(got[5].data, { value: 7 });
    assert.equal(got[5].stream, "dev/", "a missing key leaves the placeholder empty");
    assert.deepEqual(got[6].data.n, 5, "the second connection goes on");
    assert.ok(lines.some((l) => /stream ended/.test(l)));
  } finally {
    await stop();
    await d.stop();
    await dev.close();
  }
});

Deno.test("moat input: a device that is down is retried with backoff, and the input stops cleanly", async () => {
  const port = freePort();
  const { log, lines } = memoryLogger();
  const d = await startDaemon({
    config: {
      daemon: { http: "off", data_dir: await Deno.makeTempDir() },
      inputs: {
        moat_cmd: [{ name: "dev", connect: `127.0.0.1:${port}`, command: ["sys", "read"], reconnect: "10ms" }],
      },
    },
  }, { log });
  try {
    const input = d.stats.find((p) => p.name === "dev")!;
    await until("retries", () => (input.counters.get("connect_failed") ?? 0) >= 3);
    assert.ok(lines.some((l) => /cannot connect/.test(l) && l.includes(`127.0.0.1:${port}`)));
    // The device comes up: the path command reaches it.
    const dev = device(port, 1);
    await until("a connection", () => dev.seen.length > 0, 10_000);
    assert.deepEqual(dev.seen[0], [["sys", "read"], [], {}]);
    await d.stop();
    await dev.close();
  } finally {
    await d.stop();
  }
});

Deno.test("moat input: a device that ignores credits (moat-lib-cmd 0.4.x) loses no item: 5,000 of 5,000", async () => {
  const N = 5000;
  const port = freePort();
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  const conns: Promise<void>[] = [];
  let served = 0;
  const serving = (async () => {
    for await (const c of listener) {
      const first = served++ === 0;
      conns.push((async () => {
        const buf = new Uint8Array(4096);
        try {
          await c.read(buf); // the opener
          if (first) {
            // All at once, as 0.4.11 does: its credit (flag 7), the start, the items, its final.
            const parts = [encodeCbor([-1, 5]), encodeCbor([-3, "sensors"])];
            for (let i = 0; i < N; i++) parts.push(encodeCbor([-3, { n: i, pad: "x".repeat(200) }]));
            parts.push(encodeCbor([-4, null]));
            for (const p of parts) await c.write(p);
          }
          while (await c.read(buf) !== null) { /* credits, ignored */ }
        } catch { /* closed */ }
        c.close();
      })());
    }
  })().catch(() => {});
  const { log, lines } = memoryLogger();
  const d = await startDaemon({
    config: {
      daemon: { http: "off", data_dir: await Deno.makeTempDir() },
      inputs: { moat_cmd: [{ name: "dev", connect: `127.0.0.1:${port}`, command: "sensors", reconnect: "1s" }] },
    },
  }, { log });
  const got: number[] = [];
  const stop = d.subscribe((rs) => void got.push(...rs.map((r) => r.data.n as number)));
  try {
    await until("every item as a record", () => got.length >= N, 20_000).catch((e) => {
      throw new Error(`${e.message}: ${got.length}\n${lines.join("\n")}`);
    });
    assert.deepEqual(got, [...Array(N).keys()]);
    const input = d.stats.find((p) => p.name === "dev")!;
    assert.equal(input.counters.get("queue_overflow") ?? 0, 0);
    assert.ok(!lines.some((l) => /dropped|queue full/.test(l)), lines.join("\n"));
  } finally {
    await stop();
    await d.stop();
    listener.close();
    await serving;
    await Promise.all(conns);
  }
});
