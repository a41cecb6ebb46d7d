import assert from "node:assert/strict";
import { makeRecord } from "../../core/record.ts";
import { freePort, testDaemon, until, upgradeStatus } from "../../testing/mod.ts";
import { BinaryOpcode, Fox, openOutput, RawWs, ServerCapability, StatusLevel } from "./test_util.ts";
import * as ours from "./protocol.ts";

const { SUBPROTOCOL } = ours;

Deno.test("foxglove: the server's constants are the package's", () => {
  assert.equal(ours.BinaryOpcode.MESSAGE_DATA, BinaryOpcode.MESSAGE_DATA);
  assert.equal(ours.BinaryOpcode.TIME, BinaryOpcode.TIME);
  assert.equal(ours.ServerCapability.time, ServerCapability.time);
  for (const k of ["INFO", "WARNING", "ERROR"] as const) assert.equal(ours.StatusLevel[k], StatusLevel[k]);
});

const T0 = 1_700_000_000_123_456_789n;
const rec = (stream: string, data: Record<string, unknown>, time = T0) =>
  makeRecord(stream, time, data as never, "test");

Deno.test("foxglove: serverInfo, channels with JSON Schema, subscribe, messages with the record's time, time", async () => {
  const { out, host, stats } = openOutput({ server_name: "bot" });
  out.write([rec("robot/pose", { x: 1.5, n: 3n, ok: true, tag: "a" })]);
  const fox = await Fox.connect(`ws://${host}/`);
  try {
    assert.equal(fox.info?.name, "bot");
    assert.ok(fox.info?.capabilities.includes("time"));
    assert.deepEqual(fox.info?.supportedEncodings, ["json"]);
    const ch = await fox.channel("robot/pose");
    assert.equal(ch.encoding, "json");
    assert.equal(ch.schemaEncoding, "jsonschema");
    assert.deepEqual(JSON.parse(ch.schema), {
      type: "object",
      properties: { x: { type: "number" }, n: { type: "integer" }, ok: { type: "boolean" }, tag: { type: "string" } },
    });
    const sub = fox.client.subscribe(ch.id);
    // The newest record comes at once on subscribing.
    await until("the newest record", () => fox.of(sub).length === 1);
    assert.deepEqual(fox.of(sub)[0], { sub, time: T0, data: { x: 1.5, n: 3, ok: true, tag: "a" } });
    out.write([rec("robot/pose", { x: 2, n: 4n, ok: false, tag: "b" }, T0 + 1_000_000n)]);
    await until("the next record", () => fox.of(sub).length === 2);
    assert.deepEqual(fox.of(sub)[1], { sub, time: T0 + 1_000_000n, data: { x: 2, n: 4, ok: false, tag: "b" } });
    await until("the newest time", () => fox.times.at(-1) === T0 + 1_000_000n);
    assert.ok(stats.bytes > 2 * 13, `${stats.bytes} bytes counted`);
  } finally {
    await fox.close();
    await out.close();
  }
});

Deno.test("foxglove: a later stream is advertised; a new shape re-advertises; unsubscribe stops delivery", async () => {
  const { out, host, stats } = openOutput();
  out.write([rec("a", { v: 1 })]);
  const fox = await Fox.connect(`ws://${host}/`);
  try {
    const a = await fox.channel("a");
    out.write([rec("b", { w: "x" })]);
    const b = await fox.channel("b");
    assert.notEqual(a.id, b.id);
    const subA = fox.client.subscribe(a.id);
    await until("a's newest record", () => fox.of(subA).length === 1);

    // The same shape: no new channel. A new key: a new channel with the wider schema, the old one withdrawn.
    out.write([rec("a", { v: 2 }), rec("a", { v: 3, extra: [1, 2] })]);
    await until("a re-advertised", () => fox.unadvertised.includes(a.id));
    const a2 = await fox.channel("a");
    assert.notEqual(a2.id, a.id);
    assert.deepEqual(JSON.parse(a2.schema).properties, {
      v: { type: "number" },
      extra: { type: "array", items: { type: "number" } },
    });
    assert.equal(stats.counters.get("readvertised"), 1);
    // A record of the first shape again fits the wider schema: no further channel.
    out.write([rec("a", { v: 4 })]);
    assert.equal((await fox.channel("a")).id, a2.id);

    const subA2 = fox.client.subscribe(a2.id);
    const subB = fox.client.subscribe(b.id);
    await until("a2 and b", () => fox.of(subA2).length === 1 && fox.of(subB).length === 1);
    fox.client.unsubscribe(subA2);
    await until("the unsubscription", () => stats.counters.get("unsubscriptions") === 1);
    // b's record is sent after a's on the one socket: when it arrived, a's would have too.
    out.write([rec("a", { v: 5 }), rec("b", { w: "y" })]);
    await until("b's second record", () => fox.of(subB).length === 2);
    assert.deepEqual(fox.of(subA2).map((m) => m.data.v), [4]);
  } finally {
    await fox.close();
    await out.close();
  }
});

Deno.test("foxglove: a client that stops reading gets the newest record of a rare channel while a busy one floods", async () => {
  const { out, host, stats } = openOutput({ max_buffered: "64KiB" });
  out.write([rec("busy", { i: 0, blob: "" }), rec("rare", { v: 0 })]);
  const raw = await RawWs.connect(host);
  try {
    const info = await raw.json();
    assert.equal(info.op, "serverInfo");
    const adv = await raw.json() as { channels: { id: number; topic: string }[] };
    const id = (t: string) => adv.channels.find((c) => c.topic === t)!.id;
    await raw.send(JSON.stringify({ op: "subscribe", subscriptions: [{ id: 7, channelId: id("busy") }] }));
    await raw.send(JSON.stringify({ op: "subscribe", subscriptions: [{ id: 9, channelId: id("rare") }] }));
    await until("both subscriptions", () => stats.counters.get("subscriptions") === 2);
    out.write([rec("rare", { v: 1 }, T0 + 1n)]);
    // The client reads nothing now: the busy channel floods until the server holds its records back.
    const blob = "x".repeat(100_000);
    let i = 1;
    await until("busy records superseded", () => {
      for (let k = 0; k < 10; k++) out.write([rec("busy", { i: i++, blob }, T0 + BigInt(i))]);
      return (stats.gauges.get("client_drops_latest")?.() ?? 0) > 2;
    }, 60_000);
    out.write([rec("rare", { v: 2 }, T0 + 1_000_000n)]);
    for (let k = 0; k < 5; k++) out.write([rec("busy", { i: i++, blob }, T0 + BigInt(i))]);
    const lastBusy = i - 1;

    // It reads again: the backlog, then the newest record of each channel.
    const seen = new Map<number, number[]>();
    while ((seen.get(9)?.at(-1) ?? -1) !== 2 || (seen.get(7)?.at(-1) ?? -1) !== lastBusy) {
      const f = await raw.frame();
      if (f.opcode !== 2 || f.payload[0] !== 1) continue;
      const v = new DataView(f.payload.buffer, f.payload.byteOffset);
      const sub = v.getUint32(1, true);
      const data = JSON.parse(new TextDecoder().decode(f.payload.subarray(13)));
      seen.set(sub, [...seen.get(sub) ?? [], sub === 9 ? data.v : data.i]);
    }
    assert.deepEqual(seen.get(9), [0, 1, 2]);
    const busy = seen.get(7)!;
    assert.ok(busy.length < lastBusy + 1, `busy records were dropped (${busy.length} of ${lastBusy + 1})`);
  } finally {
    raw.close();
    await out.close();
  }
});

Deno.test("foxglove: a foreign origin is refused (403), the Foxglove web app's is not; subprotocol required", async () => {
  const { out, host, stats } = openOutput();
  try {
    const proto = { "Sec-WebSocket-Protocol": SUBPROTOCOL };
    assert.equal(await upgradeStatus(host, "/", { ...proto, Origin: "https://evil.example" }), 403);
    assert.equal(stats.gauges.get("refused_origin")?.(), 1);
    assert.equal(await upgradeStatus(host, "/", { ...proto, Origin: "https://app.foxglove.dev" }), 101);
    assert.equal(await upgradeStatus(host, "/", {}), 400);
  } finally {
    await out.close();
  }
});

Deno.test("foxglove: with [daemon] token a client must send it", async () => {
  const { out, host, stats } = openOutput({}, "s3cret");
  try {
    const proto = { "Sec-WebSocket-Protocol": SUBPROTOCOL };
    assert.equal(await upgradeStatus(host, "/", proto), 401);
    assert.equal(await upgradeStatus(host, "/?token=wrong", proto), 401);
    assert.equal(stats.gauges.get("refused_unauthorized")?.(), 2);
    assert.equal(await upgradeStatus(host, "/", { ...proto, Authorization: "Bearer s3cret" }), 101);
    const fox = await Fox.connect(`ws://${host}/?token=s3cret`);
    await fox.close();
  } finally {
    await out.close();
  }
});

Deno.test("foxglove: [[outputs.foxglove]] in a daemon serves the bus", async () => {
  const port = freePort();
  const d = await testDaemon({ outputs: { foxglove: [{ listen: `127.0.0.1:${port}` }] } });
  try {
    // The table's name is the common key's default, not the server's name.
    assert.ok(d.daemon.stats.some((s) => s.name === "foxglove0" && s.type === "foxglove"));
    await d.emit("robot/state", { mode: "idle" });
    const fox = await Fox.connect(`ws://127.0.0.1:${port}`);
    const ch = await fox.channel("robot/state");
    const sub = fox.client.subscribe(ch.id);
    await until("the state", () => fox.of(sub).length === 1);
    assert.deepEqual(fox.of(sub)[0].data, { mode: "idle" });
    await fox.close();
  } finally {
    await d.close();
  }
});
