import assert from "node:assert/strict";
import * as zmq from "npm:zeromq@^6.5.0";
import type { Dict } from "../../core/record.ts";
import { encodeMsgpack } from "../../codecs/msgpack.ts";
import { encodeCbor } from "../../codecs/cbor.ts";
import { MflowDecoder } from "../../codecs/mflow.ts";
import { otherFormat, ZmqInput } from "./input.ts";
import { type ZmqInputConfig, zmqInputSchema } from "./schema.ts";
import { transport } from "./mod.ts";
import { fixtureMessages, testBothBindings, TestInputContext } from "./test_helpers.ts";
import { bytesEqual, letTimePass, until } from "../../testing/mod.ts";

function config(extra: Record<string, unknown>): ZmqInputConfig {
  const r = zmqInputSchema.safeParse({ address: "tcp://127.0.0.1:*", conn_type: "bind", ...extra });
  if (!r.success) throw new Error(JSON.stringify(r.error.issues));
  return r.data;
}

/** Starts an input bound to a free port; returns it, its context, its endpoint and its run promise. */
async function start(extra: Record<string, unknown> = {}) {
  const input = new ZmqInput(config(extra));
  const [endpoint] = await input.open();
  const t = new TestInputContext();
  const running = input.run(t.ctx);
  return { input, t, endpoint, running };
}

async function stop(t: TestInputContext, running: Promise<void>) {
  t.ac.abort();
  await running;
}

const enc = new TextEncoder();

Deno.test("zmq schema: defaults as mflow's connect(), one or several addresses", () => {
  const r = zmqInputSchema.safeParse({ address: "tcp://127.0.0.1:9999" });
  assert.ok(r.success);
  assert.deepEqual(r.data.address, ["tcp://127.0.0.1:9999"]);
  assert.equal(r.data.mode, "pull");
  assert.equal(r.data.conn_type, "connect");
  assert.equal(r.data.queue_size, 100);
  assert.equal(r.data.format, "mflow");
  const many = zmqInputSchema.safeParse({ address: ["tcp://a:1", "tcp://b:2"], mode: "sub", receive_timeout: "1s" });
  assert.ok(many.success);
  assert.deepEqual(many.data.address, ["tcp://a:1", "tcp://b:2"]);
  assert.equal(many.data.receive_timeout, 1000);
  assert.equal(zmqInputSchema.safeParse({ address: "x", mode: "push" }).success, false);
  assert.equal(zmqInputSchema.safeParse({ address: [] }).success, false);
  assert.equal(transport.type, "zmq");
  assert.ok(transport.input && transport.output);
});

testBothBindings("zmq input: every message of the original mflow, sent as it sent them, is decoded", async () => {
  const { t, endpoint, running } = await start({ statistics_key: "statistics" });
  const push = new zmq.Push({ linger: 0 });
  push.connect(endpoint);
  const msgs = fixtureMessages();
  try {
    for (const m of msgs) await push.send(m.frames);
    await until("15 records", () => t.records.length === msgs.length, 3000);
    const dec = new MflowDecoder();
    t.records.forEach((r, i) => {
      const want = dec.decode(msgs[i].frames).data;
      const { statistics, ...data } = r.data;
      assert.deepEqual(data, want, msgs[i].htype);
      assert.equal((statistics as Dict).messages_received, i + 1);
      assert.equal(r.stream, "zin");
      assert.equal(r.source, "zin");
      const frames = r.meta!.frames as Uint8Array[];
      assert.ok(frames.every((f, j) => bytesEqual(f, msgs[i].frames[j])));
      assert.equal(r.meta!.endpoint, endpoint);
    });
    assert.equal(t.stats.records, 15);
    assert.equal(t.stats.bytes, 499 + 1010 + 694 + 123 + 243);
    assert.equal(t.stats.errors, 0);
    assert.ok(t.stats.gauges.has("message_rate"));
  } finally {
    // Receivers first: zeromq.js under Deno can crash when a peer socket of the same process closes first.
    await stop(t, running);
    push.close();
  }
});

testBothBindings(
  "zmq input: bad messages are counted, logged with the endpoint, and the input keeps running",
  async () => {
    const { t, endpoint, running } = await start({ max_message_size: "1MiB" });
    const push = new zmq.Push({ linger: 0 });
    push.connect(endpoint);
    try {
      const arr = enc.encode('{"htype": "array-1.0", "type": "uint32", "shape": [4]}');
      await push.send(enc.encode("{not json")); // invalid JSON header
      await push.send([enc.encode('{"htype": "dimage-1.0"}'), enc.encode("{}")]); // wrong frame count
      await push.send([arr, new Uint8Array(12)]); // frame shorter than dtype × shape
      await push.send([enc.encode('{"htype": "nobody-1.0"}')]); // unknown htype
      await push.send([arr, new Uint8Array(100 * 1024 * 1024)]); // 100 MB with max_message_size 1 MiB
      await push.send([arr, new Uint8Array(16)]); // a good one
      await until(() => `the good message; ${JSON.stringify(t.stats)}`, () => t.records.length === 1, 5000);
      assert.deepEqual(t.records[0].data.data, [new Uint32Array(4)]);
      assert.equal(t.stats.errors, 5);
      assert.deepEqual(Object.fromEntries(t.stats.counters), {
        bad_bad_header: 1,
        bad_frame_count: 1,
        bad_frame_size: 1,
        bad_unknown_htype: 1,
        bad_oversize: 1,
      });
      const log = t.lines.join("\n");
      for (
        const what of ["not JSON", "dimage-1.0 message has 2 frames", "needs 16", "nobody-1.0", "max_message_size"]
      ) {
        assert.ok(log.includes(what), `log lacks ${what}:\n${log}`);
      }
      assert.equal(t.lines.filter((l) => l.includes(endpoint)).length, 5);
    } finally {
      // Receivers first: zeromq.js under Deno can crash when a peer socket of the same process closes first.
      await stop(t, running);
      push.close();
    }
  },
);

testBothBindings("zmq input: several addresses are all read (connect to two PUSH senders)", async () => {
  const a = new zmq.Push({ linger: 0 }), b = new zmq.Push({ linger: 0 });
  await a.bind("tcp://127.0.0.1:*");
  await b.bind("tcp://127.0.0.1:*");
  const input = new ZmqInput(
    config({ address: [a.lastEndpoint, b.lastEndpoint], conn_type: "connect", format: "json" }),
  );
  await input.open();
  const t = new TestInputContext();
  const running = input.run(t.ctx);
  try {
    for (let i = 0; i < 50; i++) {
      await a.send(enc.encode(JSON.stringify({ from: "a", i })));
      await b.send(enc.encode(JSON.stringify({ from: "b", i })));
    }
    await until("100 records", () => t.records.length === 100, 3000);
    assert.equal(t.records.filter((r) => r.data.from === "a").length, 50);
    assert.equal(t.records.filter((r) => r.data.from === "b").length, 50);
    assert.deepEqual(new Set(t.records.map((r) => r.meta)), new Set([undefined]));
  } finally {
    await stop(t, running);
    a.close(), b.close();
  }
});

testBothBindings("zmq input: SUB with topic filters and topic_stream; msgpack, cbor and raw formats", async () => {
  const pub = new zmq.Publisher({ linger: 0 });
  await pub.bind("tcp://127.0.0.1:*");
  const mk = (format: string) =>
    new ZmqInput(
      config({
        address: pub.lastEndpoint,
        conn_type: "connect",
        mode: "sub",
        topics: ["robot/"],
        topic_stream: true,
        format,
      }),
    );
  const inputs = { msgpack: mk("msgpack"), cbor: mk("cbor"), raw: mk("raw") };
  const ctxs: Record<string, TestInputContext> = {};
  const runs: Promise<void>[] = [];
  for (const [k, inp] of Object.entries(inputs)) {
    await inp.open();
    ctxs[k] = new TestInputContext(k);
    runs.push(inp.run(ctxs[k].ctx));
  }
  try {
    // SUB connects asynchronously: publish until every subscriber got something.
    const mp = encodeMsgpack({ x: 1.5, n: 2 });
    await until("every subscriber to get something", async () => {
      if (ctxs.msgpack.records.length && ctxs.raw.records.length && ctxs.cbor.stats.errors) return true;
      await pub.send([enc.encode("robot/imu"), mp]);
      await pub.send([enc.encode("other/imu"), mp]);
      return false;
    });
    const m = ctxs.msgpack.records[0];
    assert.equal(m.stream, "robot/imu");
    assert.deepEqual(m.data, { x: 1.5, n: 2 });
    assert.ok(bytesEqual(m.encoded!.msgpack!, mp)); // passed on without re-encoding
    assert.ok(ctxs.raw.records.every((r) => r.stream === "robot/imu"));
    assert.deepEqual(ctxs.raw.records[0].data, { frames: [new Uint8Array(mp)] });
    // the cbor input got msgpack bytes: counted as bad payloads, then a good CBOR one
    assert.ok(ctxs.cbor.stats.errors > 0);
    const before = ctxs.cbor.records.length;
    await pub.send([enc.encode("robot/cbor"), encodeCbor({ a: [1, 2] })]);
    await until("cbor record", () => ctxs.cbor.records.length > before, 3000);
    const c = ctxs.cbor.records.at(-1)!;
    assert.equal(c.stream, "robot/cbor");
    assert.deepEqual(c.data, { a: [1, 2] });
  } finally {
    for (const c of Object.values(ctxs)) c.ac.abort();
    await Promise.all(runs);
    pub.close();
  }
});

testBothBindings("zmq input: receive_timeout is counted; abort closes the sockets and ends run()", async () => {
  const { t, running, input } = await start({ receive_timeout: "50ms" });
  await until("timeouts", () => (t.stats.counters.get("receive_timeouts") ?? 0) >= 2, 2000);
  assert.ok(t.lines.some((l) => l.includes("nothing received within receive_timeout")));
  const t0 = performance.now();
  await stop(t, running);
  assert.ok(performance.now() - t0 < 500);
  assert.equal(input.endpoints.length, 1);
});

testBothBindings("zmq input: back-pressure from emit stops reading (the HWM then holds the sender)", async () => {
  const { t, endpoint, running } = await start({ queue_size: 10, format: "raw" });
  let release!: () => void;
  t.block = new Promise((r) => release = r);
  const push = new zmq.Push({ linger: 0, sendHighWaterMark: 10, sendTimeout: 0 });
  push.connect(endpoint);
  try {
    let sent = 0;
    const deadline = performance.now() + 2000;
    // Send until the socket refuses (sendTimeout 0): the queue between them is bounded.
    while (performance.now() < deadline) {
      try {
        await push.send(new Uint8Array(64 * 1024));
        sent++;
      } catch {
        await letTimePass(20); // a moment for the receiver before the second try
        try {
          await push.send(new Uint8Array(64 * 1024));
          sent++;
        } catch {
          break;
        }
      }
    }
    assert.ok(sent < 5000, `sender was never held back (${sent} sent)`);
    const got = t.records.length;
    assert.ok(got <= 256, `input read ${got} while blocked`);
    t.block = undefined;
    release();
    await until(`${sent} records`, () => t.records.length === sent, 3000);
  } finally {
    // Receivers first: zeromq.js under Deno can crash when a peer socket of the same process closes first.
    await stop(t, running);
    push.close();
  }
});

testBothBindings("zmq input: time spent held back by the bus does not count as a receive timeout", async () => {
  const { t, endpoint, running } = await start({ receive_timeout: "300ms", format: "raw" });
  let release!: () => void;
  t.block = new Promise((r) => release = r);
  const push = new zmq.Push({ linger: 0 });
  push.connect(endpoint);
  try {
    await push.send(new Uint8Array([1]));
    await until("one record", () => t.records.length === 1);
    await letTimePass(700); // held back for more than twice receive_timeout, on purpose
    assert.equal(t.stats.counters.get("receive_timeouts"), undefined);
    t.block = undefined;
    release();
    await until("a timeout once idle", () => (t.stats.counters.get("receive_timeouts") ?? 0) >= 1, 2000);
  } finally {
    await stop(t, running);
    push.close();
  }
});

testBothBindings(
  'zmq input: MessagePack maps into format = "mflow" give one hint to change the format, then counts',
  async () => {
    const { t, endpoint, running } = await start();
    const push = new zmq.Push({ linger: 0 });
    push.connect(endpoint);
    try {
      // What `telebus replay LOG.mpack` sends: one MessagePack map per message.
      const send = async (from: number, n: number) => {
        for (let i = from; i < from + n; i++) await push.send(encodeMsgpack({ time: 1.5 + i, robot: { x: i } }));
      };
      await send(0, 200);
      await until("200 messages counted", () => t.stats.errors === 200, 5000);
      // Past the one-line-per-second limit of other bad messages: still not logged again.
      await letTimePass(1100); // on purpose: past the one-line-per-second limit
      await send(200, 200);
      await until("400 messages counted", () => t.stats.errors === 400, 5000);
      assert.deepEqual(Object.fromEntries(t.stats.counters), { bad_format_mismatch: 400 });
      const lines = t.lines.filter((l) => l.includes(endpoint));
      assert.equal(lines.length, 1, lines.join("\n"));
      assert.match(lines[0], /are msgpack, not mflow .*set format = "msgpack"/);
      assert.doesNotMatch(t.lines.join("\n"), /not JSON/);
    } finally {
      await stop(t, running);
      push.close();
    }
  },
);

Deno.test("otherFormat: whole MessagePack and CBOR maps; not JSON, garbage or a lone marker byte", () => {
  assert.equal(otherFormat(encodeMsgpack({ a: 1 })), "msgpack");
  assert.equal(otherFormat(encodeCbor({ a: 1, b: [1, 2] })), "cbor");
  assert.equal(otherFormat(enc.encode('{"htype": "x"}')), undefined);
  assert.equal(otherFormat(new Uint8Array([0x85])), undefined);
  assert.equal(otherFormat(undefined), undefined);
});
