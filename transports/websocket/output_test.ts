import assert from "node:assert/strict";
import type { Daemon } from "../../core/daemon.ts";
import { letTimePass, testDaemon, until } from "../../testing/mod.ts";
import { decodeMsgpack } from "../../codecs/msgpack.ts";
import { makeRecord } from "../../core/record.ts";

/** A daemon with the given websocket outputs and an input the test drives. */
async function daemonWith(outputs: Record<string, unknown>[]) {
  const t = await testDaemon({ outputs: { websocket: outputs } });
  return {
    daemon: t.daemon,
    url: t.url,
    emit: (stream: string, data: Record<string, unknown>) => t.emit(stream, data, 1_700_000_000_000_000_000n),
    close: () => t.close(),
  };
}

/** Opens a WebSocket and collects its messages. */
async function client(url: string) {
  const ws = new WebSocket(url);
  ws.binaryType = "arraybuffer";
  const messages: (string | ArrayBuffer)[] = [];
  ws.onmessage = (e) => messages.push(e.data);
  await new Promise((r, j) => (ws.onopen = r, ws.onerror = j));
  const closed = new Promise((r) => ws.onclose = r);
  return {
    ws,
    messages,
    async waitFor(n: number) {
      await until(() => `${n} messages (got ${messages.length})`, () => messages.length >= n);
      return messages;
    },
    async close() {
      ws.close();
      await closed;
    },
  };
}

/** Waits until the outputs' loops have taken every queued record. */
async function settle(d: Daemon) {
  await until(
    "the outputs' queues to drain",
    () => !d.stats.some((s) => s.kind === "output" && (s.gauges.get("queue_records")?.() ?? 0) > 0),
  );
}

/** A counter or gauge of the output `name` (the only websocket output when not given). */
function outputValue(d: Daemon, key: string, name?: string): number {
  const s = d.stats.find((s) => s.kind === "output" && (name === undefined || s.name === name))!;
  return s.gauges.get(key)?.() ?? s.counters.get(key) ?? 0;
}

Deno.test("websocket datart: points echoed unchanged as Python json.dumps text; /status; /ws/echo", async () => {
  const d = await daemonWith([{ protocol: "datart" }]);
  const c = await client(`ws://${d.url}/ws/client`);
  await until("the client registered", () => outputValue(d.daemon, "clients") === 1);
  const status = await (await fetch(`http://${d.url}/status`)).json();
  assert.equal(status.clients, 1);
  assert.equal(status.status, "up");
  await d.emit("points", {
    measurement: "test",
    tags: { tester: "basic" },
    fields: { value: 2, f: 1.5, s: "é" },
    time: "2024-01-01T00:00:00Z",
  });
  const [frame] = await c.waitFor(1);
  assert.equal(
    frame,
    '{"measurement": "test", "tags": {"tester": "basic"}, "fields": {"value": 2, "f": 1.5, "s": "\\u00e9"}, "time": "2024-01-01T00:00:00Z"}',
  );
  const echo = await client(`ws://${d.url}/ws/echo`);
  echo.ws.send("hello");
  assert.deepEqual(await echo.waitFor(1), ["got: hello"]);
  await echo.close();
  await c.close();
  await d.close();
});

Deno.test("websocket telebus: msgpack and json frames, streams by URL glob and by subscribe message, batching", async () => {
  const d = await daemonWith([{ name: "one" }, { name: "batched", path: "/ws/batched", batch: 3, format: "json" }]);
  const all = await client(`ws://${d.url}/ws/records`);
  const robot = await client(`ws://${d.url}/ws/records?streams=robot/*&format=json`);
  const sub = await client(`ws://${d.url}/ws/records?format=json`);
  sub.ws.send(JSON.stringify({ subscribe: ["lab/*"] }));
  const batched = await client(`ws://${d.url}/ws/batched`);
  await until(
    "the clients registered and the subscribe message taken",
    () =>
      outputValue(d.daemon, "clients", "one") === 3 && outputValue(d.daemon, "clients", "batched") === 1 &&
      outputValue(d.daemon, "subscriptions", "one") === 1,
  );
  for (let i = 0; i < 3; i++) await d.emit("robot/imu", { i });
  await d.emit("lab/temp", { c: 21.5 });
  await settle(d.daemon);
  const frames = await all.waitFor(4);
  const first = decodeMsgpack(new Uint8Array(frames[0] as ArrayBuffer)) as Record<string, unknown>;
  assert.equal(first.stream, "robot/imu");
  assert.equal(first.time, 1_700_000_000_000_000_000n);
  assert.deepEqual(first.data, { i: 0 });
  const robotFrames = (await robot.waitFor(3)).map((f) => JSON.parse(f as string));
  assert.deepEqual(robotFrames.map((f) => f.data.i), [0, 1, 2]);
  assert.equal(robotFrames[0].time_ns, "1700000000000000000");
  assert.deepEqual((await sub.waitFor(1)).map((f) => JSON.parse(f as string).stream), ["lab/temp"]);
  const b = (await batched.waitFor(2)).map((f) => JSON.parse(f as string));
  assert.equal(b.flat().length, 4);
  assert.ok(b.some((f) => Array.isArray(f) && f.length > 1), "several records share a frame");
  for (const c of [all, robot, sub, batched]) await c.close();
  await d.close();
});

/** A client that completes the WebSocket handshake over raw TCP, then reads nothing until told. */
async function stalledClient(host: string, path: string) {
  const [hostname, port] = host.split(":");
  const conn = await Deno.connect({ hostname, port: Number(port) });
  await conn.write(new TextEncoder().encode(
    `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  ));
  return {
    /** Reads everything until the socket has been quiet for `quietMs`; returns the text frames' payloads. */
    async readAll(quietMs = 300): Promise<string[]> {
      const chunks: number[] = [];
      const buf = new Uint8Array(1 << 16);
      for (;;) {
        const n = await Promise.race([
          conn.read(buf),
          new Promise<"quiet">((r) => setTimeout(() => r("quiet"), quietMs)),
        ]);
        if (n === "quiet" || n === null) break;
        chunks.push(...buf.subarray(0, n));
      }
      const bytes = new Uint8Array(chunks);
      let p = new TextDecoder().decode(bytes.subarray(0, 400)).indexOf("\r\n\r\n") + 4;
      const texts: string[] = [];
      while (p + 2 <= bytes.length) {
        const op = bytes[p] & 0x0f;
        let len = bytes[p + 1] & 0x7f, h = 2;
        if (len === 126) len = (bytes[p + 2] << 8) | bytes[p + 3], h = 4;
        else if (len === 127) len = Number(new DataView(bytes.buffer).getBigUint64(p + 2)), h = 10;
        if (p + h + len > bytes.length) break;
        if (op === 1) texts.push(new TextDecoder().decode(bytes.subarray(p + h, p + h + len)));
        p += h + len;
      }
      return texts;
    },
    close: () => conn.close(),
  };
}

Deno.test("websocket: a stalled client never slows a fast one, stays bounded, and gets the newest values when it wakes", async () => {
  const d = await daemonWith([{ format: "json", max_buffered: "1MiB", slow_client: "latest", client_queue: 100 }]);
  const fast = await client(`ws://${d.url}/ws/records`);
  const stalled = await stalledClient(d.url, "/ws/records");
  await until("both clients registered", () => outputValue(d.daemon, "clients") === 2);
  // 30 MB in all, at a pace a live client keeps up with, and far more than socket buffers hold for the stalled one.
  const pad = "x".repeat(10_000);
  const N = 3000;
  for (let i = 0; i < N; i++) {
    await d.emit("busy", { i, pad });
    if (i % 500 === 0) await d.emit("rare", { i });
    if (i % 10 === 0) await letTimePass(1); // the pace, not a synchronisation
  }
  await d.emit("rare", { i: N });
  await settle(d.daemon);
  const got = await fast.waitFor(N + 7);
  assert.equal(got.length, N + 7, "the fast client got every record");
  const stats = d.daemon.stats.find((s) => s.name === "websocket0")!.toJSON() as { gauges: Record<string, number> };
  assert.ok(stats.gauges.client_drops_latest > 0, "the stalled client's older values were replaced, not queued");
  // Wake up: everything buffered arrives, then the newest value of each stream.
  const texts = await stalled.readAll();
  const last = texts.slice(-2).map((t) => JSON.parse(t));
  assert.deepEqual(last.map((f) => f.stream).sort(), ["busy", "rare"]);
  assert.equal(last.find((f) => f.stream === "busy").data.i, N - 1);
  assert.equal(last.find((f) => f.stream === "rare").data.i, N);
  assert.ok(texts.length < N, `the stalled client got ${texts.length} frames, not all ${N}`);
  stalled.close();
  await fast.close();
  await d.close();
});

Deno.test("websocket: a record whose frame cannot be encoded costs only itself, counted once for all clients", async () => {
  const t = await testDaemon({
    outputs: { websocket: [{ name: "ws", format: "msgpack" }, { name: "wsb", path: "/ws/batched", batch: 3 }] },
  });
  try {
    const single = await client(`ws://${t.url}/ws/records`);
    const batched = await client(`ws://${t.url}/ws/batched`);
    const json = await client(`ws://${t.url}/ws/records?format=json`);
    const clients = (name: string) => t.daemon.stats.find((s) => s.name === name)!.gauges.get("clients")!();
    await until("the clients' open events to reach the outputs", () => clients("ws") >= 2 && clients("wsb") >= 1);
    const time = 1_700_000_000_000_000_000n;
    // A bigint beyond 64 bits has no MessagePack form (JSON prints it).
    await t.emitRecords(
      [0, 1, 2, 3].map((i) => makeRecord(`s/${i}`, time, i === 1 ? { i, big: 2n ** 64n } : { i }, "test")),
    );
    const ids = (frames: (string | ArrayBuffer)[]) =>
      frames.flatMap((f) => {
        const v = typeof f === "string" ? JSON.parse(f) : decodeMsgpack(new Uint8Array(f));
        return (Array.isArray(v) ? v : [v]).map((x: { data: { i: number } }) => x.data.i);
      });
    assert.deepEqual(ids(await single.waitFor(3)), [0, 2, 3]);
    assert.deepEqual(ids(await batched.waitFor(1)), [0, 2, 3]); // one frame of three
    assert.deepEqual(ids(await json.waitFor(4)), [0, 1, 2, 3]);
    for (const name of ["ws", "wsb"]) {
      const stats = t.daemon.stats.find((s) => s.name === name)!;
      assert.deepEqual(Object.fromEntries(stats.rejected), { unencodable: 1 }, name);
    }
    await single.close();
    await batched.close();
    await json.close();
  } finally {
    await t.close();
  }
});
