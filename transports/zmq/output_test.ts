import assert from "node:assert/strict";
import * as zmq from "npm:zeromq@^6.5.0";
import { type BusRecord, type Dict, makeRecord, nowNs } from "../../core/record.ts";
import { MflowDecoder } from "../../codecs/mflow.ts";
import { decodeMsgpack } from "../../codecs/msgpack.ts";
import { decodeCbor } from "../../codecs/cbor.ts";
import { ZmqOutput } from "./output.ts";
import { type ZmqOutputConfig, zmqOutputSchema } from "./schema.ts";
import { receiveMessage } from "../../net/zmq.ts";
import { fixtureMessages, testBothBindings, testOutputContext } from "./test_helpers.ts";
import { bytesEqual, letTimePass } from "../../testing/mod.ts";

function config(extra: Record<string, unknown>): ZmqOutputConfig {
  const r = zmqOutputSchema.safeParse({ address: "tcp://127.0.0.1:*", linger: 0, ...extra });
  if (!r.success) throw new Error(JSON.stringify(r.error.issues));
  return r.data;
}

async function open(extra: Record<string, unknown> = {}) {
  const t = testOutputContext();
  const out = new ZmqOutput(config(extra), t.ctx);
  const [endpoint] = await out.open();
  return { out, endpoint, ...t };
}

/** Receives `n` messages on a PULL socket connected to `endpoint` (closed afterwards). */
async function pull(endpoint: string, n: number, during?: Promise<unknown>): Promise<Uint8Array[][]> {
  const sock = new zmq.Pull({ linger: 0 });
  sock.connect(endpoint);
  const got: Uint8Array[][] = [];
  const timer = setTimeout(() => sock.close(), 3000); // receiveMessage then returns undefined
  try {
    while (got.length < n) {
      const m = await receiveMessage(sock);
      if (!m) throw new Error(`received ${got.length} of ${n}`);
      got.push(m.map((b) => new Uint8Array(b)));
    }
    await during;
  } finally {
    clearTimeout(timer);
    if (!sock.closed) sock.close();
  }
  return got;
}

testBothBindings("zmq output mflow: re-sends the frames that arrived, encodes the rest by htype", async () => {
  const { out, endpoint, stats } = await open();
  const msgs = fixtureMessages();
  const dec = new MflowDecoder();
  // Half the records carry the frames they came with (meta.frames), half only their decoded dictionary.
  const records: BusRecord[] = msgs.map((m, i) => {
    const r = makeRecord("s", nowNs(), dec.decode(m.frames).data, "in");
    if (i % 2 === 0) r.meta = { frames: m.frames };
    return r;
  });
  try {
    const got = await pull(endpoint, msgs.length, out.write(records));
    got.forEach((frames, i) => {
      assert.equal(frames.length, msgs[i].frames.length, msgs[i].htype);
      frames.forEach((f, j) => assert.ok(bytesEqual(f, msgs[i].frames[j]), `${msgs[i].htype} frame ${j}`));
    });
    assert.equal(stats.bytes, 499 + 1010 + 694 + 123 + 243);
    assert.equal(out.statistics.messages_received, 15);
  } finally {
    await out.close();
  }
});

testBothBindings("zmq output mflow: a record with typed arrays becomes array-1.0; one without is counted", async () => {
  const { out, endpoint, stats, lines } = await open();
  try {
    const recs = [
      makeRecord("cam/1", nowNs(), { exposure: 2, pixels: new Uint16Array([1, 2, 3]) }, "in"),
      makeRecord("cam/1", nowNs(), { nothing: "to send" }, "in"),
      makeRecord("cam/1", nowNs(), { pixels: new Float64Array([0.5]) }, "in"),
    ];
    const got = await pull(endpoint, 2, out.write(recs));
    const dec = new MflowDecoder();
    const a = dec.decode(got[0]).data;
    assert.deepEqual(a.header, {
      htype: "array-1.0",
      type: "uint16",
      shape: [3],
      frame: 0,
      source: "cam/1",
      exposure: 2,
    });
    assert.deepEqual(a.data, [new Uint16Array([1, 2, 3])]);
    const b = dec.decode(got[1]).data;
    assert.deepEqual(b.data, [new Float64Array([0.5])]);
    assert.equal((b.header as Dict).frame, 2);
    assert.equal(stats.errors, 0);
    assert.deepEqual(Object.fromEntries(stats.rejected), { unencodable: 1 });
    assert.ok(lines.some((l) => l.includes("no mflow header and no typed array")));
  } finally {
    await out.close();
  }
});

testBothBindings("zmq output: msgpack, cbor, json and raw formats, with the stream as topic frame", async () => {
  const rec = makeRecord("robot/imu", nowNs(), { x: 1.5, n: [1, 2], s: "é" }, "in");
  for (const format of ["msgpack", "cbor", "json", "raw"]) {
    const { out, endpoint } = await open({ format, topic_stream: true });
    try {
      const r = format === "raw" ? makeRecord("robot/imu", nowNs(), { frames: [new Uint8Array([9, 8])] }, "in") : rec;
      const [m] = await pull(endpoint, 1, out.write([r]));
      assert.equal(new TextDecoder().decode(m[0]), "robot/imu");
      const body = m[1];
      const decoded = format === "msgpack"
        ? decodeMsgpack(body)
        : format === "cbor"
        ? decodeCbor(body)
        : format === "json"
        ? JSON.parse(new TextDecoder().decode(body))
        : [...body];
      assert.deepEqual(decoded, format === "raw" ? [9, 8] : rec.data, format);
    } finally {
      await out.close();
    }
  }
});

testBothBindings("zmq output: when_full = block waits for a PUSH peer; other policies drop (no_peer)", async () => {
  const blocking = await open({ queue_size: 1 });
  try {
    let done = false;
    const w = Promise.resolve(blocking.out.write([makeRecord("s", nowNs(), { a: new Int8Array([1]) }, "in")]))
      .then(() => done = true);
    // Nothing shows that a write waits for a peer; this is a window in which it must not return.
    await letTimePass(150);
    assert.equal(done, false, "write returned without a peer");
    const got = await pull(blocking.endpoint, 1, w);
    assert.equal(got.length, 1);
    assert.equal(done, true);
  } finally {
    await blocking.out.close();
  }
  const dropping = await open({ when_full: "drop_newest" });
  try {
    const t0 = performance.now();
    await dropping.out.write([makeRecord("s", nowNs(), { a: new Int8Array([1]) }, "in")]);
    assert.ok(performance.now() - t0 < 100);
    assert.equal(dropping.stats.dropped.get("no_peer"), 1);
  } finally {
    await dropping.out.close();
  }
  const patient = await open({ when_full: "drop_newest", send_timeout: "80ms" });
  try {
    const t0 = performance.now();
    await patient.out.write([makeRecord("s", nowNs(), { a: new Int8Array([1]) }, "in")]);
    assert.ok(performance.now() - t0 >= 75);
    assert.equal(patient.stats.dropped.get("no_peer"), 1);
  } finally {
    await patient.out.close();
  }
});

testBothBindings(
  "zmq output: a record beyond the codecs' limits or not encodable costs only itself, in every format",
  async () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100; i++) deep = [deep]; // its 1 at level 101: telebus's zmq input would refuse it
    for (const format of ["msgpack", "cbor", "json", "mflow"]) {
      const { out, endpoint, stats, lines } = await open({ format });
      try {
        const good = (i: number) =>
          makeRecord("s", nowNs(), format === "mflow" ? { i, a: new Float32Array([i]) } : { i }, "in");
        const recs = [
          good(0),
          makeRecord("bad/deep", nowNs(), { a: new Float32Array([1]), deep: deep as number }, "in"),
          good(1),
          makeRecord("bad/big", nowNs(), { a: new Float32Array([1]), big: 2n ** 64n }, "in"),
          good(2),
        ];
        const got = await pull(endpoint, format === "msgpack" ? 3 : 4, out.write(recs));
        const expected = format === "msgpack" ? { too_deep: 1, unencodable: 1 } : { too_deep: 1 };
        assert.deepEqual(Object.fromEntries(stats.rejected), expected, format);
        assert.equal(lines.filter((l) => l.includes("record refused")).length, Object.keys(expected).length);
        if (format === "msgpack") assert.deepEqual(got.map((m) => (decodeMsgpack(m[0]) as Dict).i), [0, 1, 2]);
      } finally {
        await out.close();
      }
    }
  },
);
