import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import type { Dict } from "../core/record.ts";
import {
  decodeArray,
  encodeArrayMessage,
  encodeMflow,
  MflowDecoder,
  MflowError,
  parseDtype,
  registerMflowType,
} from "./mflow.ts";

const FIXTURES = new URL("../testdata/mflow/", import.meta.url).pathname;

interface FixtureMessage {
  htype: string;
  i: number;
  frames: [string, boolean][];
}

function b64(s: string): Uint8Array {
  return Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
}

/** The messages of frames.jsonl, as the original mflow sent them. */
export function fixtureMessages(): { htype: string; frames: Uint8Array[] }[] {
  const text = Deno.readTextFileSync(FIXTURES + "frames.jsonl");
  return text.trim().split("\n").map((l) => {
    const m = JSON.parse(l) as FixtureMessage;
    return { htype: m.htype, frames: m.frames.map(([f]) => b64(f)) };
  });
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

Deno.test("mflow fixtures: frames.jsonl matches summary.json (counts and sha256)", () => {
  const summary = JSON.parse(Deno.readTextFileSync(FIXTURES + "summary.json"));
  const by = new Map<string, Uint8Array[][]>();
  for (const m of fixtureMessages()) by.set(m.htype, [...(by.get(m.htype) ?? []), m.frames]);
  for (const [htype, s] of Object.entries(summary.per_htype) as [string, Record<string, unknown>][]) {
    const msgs = by.get(htype)!;
    const h = createHash("sha256");
    let frames = 0, bytes = 0;
    for (const m of msgs) {
      for (const f of m) {
        const len = new Uint8Array(8);
        new DataView(len.buffer).setBigUint64(0, BigInt(f.length));
        h.update(len), h.update(f);
        frames++, bytes += f.length;
      }
    }
    assert.equal(msgs.length, s.messages, htype);
    assert.equal(frames, s.frames, htype);
    assert.equal(bytes, s.bytes, htype);
    assert.equal(h.digest("hex"), s.sha256, htype);
  }
});

Deno.test("mflow fixtures: every message of the original decodes, and re-encodes byte for byte", () => {
  const dec = new MflowDecoder();
  const seen = new Set<string>();
  for (const m of fixtureMessages()) {
    const r = dec.decode(m.frames);
    assert.equal(r.htype, m.htype);
    assert.equal((r.data.header as Dict).htype, m.htype);
    seen.add(r.htype);
    const again = encodeMflow(r.data);
    assert.equal(again.length, m.frames.length, m.htype);
    again.forEach((f, i) => assert.ok(bytesEqual(f, m.frames[i]), `${m.htype} frame ${i} differs`));
  }
  assert.deepEqual([...seen].sort(), ["array-1.0", "dheader-1.0", "dimage-1.0", "dseries_end-1.0", "raw-1.0"]);
});

Deno.test("mflow fixtures: decoded values", () => {
  const msgs = fixtureMessages();
  const dec = new MflowDecoder();
  const d = msgs.map((m) => dec.decode(m.frames).data);
  // array-1.0: int32 [4], float64 [2,3], uint16 [3,2,2]
  assert.deepEqual(d[0].data, [new Int32Array([0, 1, 2, 3])]);
  assert.deepEqual((d[0].header as Dict).tags, ["tést"]);
  assert.deepEqual(d[5].data, [new Float64Array([1, 2, 3, 4, 5, 6])]);
  assert.deepEqual(d[10].data, [new Uint16Array([2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13])]);
  // dheader-1.0 all with appendix, basic, all without appendix
  assert.equal((d[1].header as Dict).header_detail, "all");
  assert.deepEqual(d[1].part_2, { htype: "dconfig-1.0", beam_center_x: 512.5, nimages: 0, det: "EIGER" });
  assert.deepEqual(d[1].part_3, { htype: "dflatfield-1.0", shape: [4, 2], type: "float32" });
  assert.deepEqual(new Float32Array((d[1].part_4_raw as Uint8Array).slice().buffer), new Float32Array(8).fill(1));
  assert.equal((d[1].part_6_raw as Uint8Array).length, 32);
  assert.equal((d[1].part_8_raw as Uint8Array).length, 24);
  assert.deepEqual(d[1].appendix, { user: "interop", n: 0 });
  assert.deepEqual(Object.keys(d[6]), ["header", "part_2"]);
  assert.equal(d[11].appendix, undefined);
  assert.ok(d[11].part_8_raw instanceof Uint8Array);
  // dimage-1.0
  assert.deepEqual(d[2].part_2, { htype: "dimage_d-1.0", shape: [3, 2], type: "uint16", encoding: "<" });
  assert.deepEqual(d[2].data, new Uint16Array([0, 1, 2, 3, 4, 5]));
  assert.deepEqual(d[2].part_4, { htype: "dconfig-1.0", start_time: 0, stop_time: 5, real_time: 5 });
  // dseries_end-1.0
  assert.deepEqual(d[3], { header: { htype: "dseries_end-1.0", series: 0 } });
  // raw-1.0: bytes as they came (16, 17, 18 bytes)
  assert.deepEqual((d[4].data as Uint8Array[]).map((x) => x.length), [16]);
  assert.deepEqual((d[14].data as Uint8Array[]).map((x) => x.length), [18]);
});

Deno.test("mflow dheader-1.0: header_detail none, and errors", () => {
  const dec = new MflowDecoder();
  const enc = new TextEncoder();
  const none = dec.decode([enc.encode('{"htype": "dheader-1.0", "header_detail": "none"}')]);
  assert.deepEqual(none.data, { header: { htype: "dheader-1.0", header_detail: "none" } });
  // mflow's own sender adds part_2 even for "none": it is read as the appendix, as mflow does.
  const withPart2 = dec.decode([
    enc.encode('{"htype": "dheader-1.0", "header_detail": "none"}'),
    enc.encode('{"htype": "dconfig-1.0"}'),
  ]);
  assert.deepEqual(withPart2.data.appendix, { htype: "dconfig-1.0" });
  assert.throws(
    () => dec.decode([enc.encode('{"htype": "dheader-1.0", "header_detail": "some"}')]),
    (e: MflowError) => e.kind === "bad_header",
  );
  assert.throws(
    () => dec.decode([enc.encode('{"htype": "dheader-1.0", "header_detail": "all"}'), enc.encode("{}")]),
    (e: MflowError) => e.kind === "frame_count" && /2 frames, expected 8 or 9/.test(e.message),
  );
});

Deno.test("mflow dtypes: names, codes, byte orders", () => {
  const cases: [string, string, number, boolean][] = [
    ["uint16", "u", 2, true],
    ["<u2", "u", 2, true],
    [">u2", "u", 2, false],
    ["!i4", "i", 4, false],
    ["=f8", "f", 8, true],
    ["|u1", "u", 1, true],
    ["bool", "b", 1, true],
    ["?", "b", 1, true],
    ["H", "u", 2, true],
    ["d", "f", 8, true],
    ["float16", "f", 2, true],
    ["complex64", "c", 8, true],
    [">c16", "c", 16, false],
    ["S5", "S", 5, true],
    ["<U3", "U", 12, true],
    ["V4", "V", 4, true],
    ["<M8[ns]", "M", 8, true],
    ["timedelta64[s]", "m", 8, true],
    ["int", "i", 8, true],
  ];
  for (const [t, kind, size, little] of cases) assert.deepEqual(parseDtype(t), { kind, size, little }, t);
  for (const bad of ["float128", "object", "O", "u3", "x"]) assert.throws(() => parseDtype(bad), Error, bad);
});

Deno.test("mflow arrays: every dtype in both byte orders", () => {
  const be = (bytes: number[]) => new Uint8Array(bytes);
  assert.deepEqual(decodeArray(be([0, 1, 0, 2]), ">u2", [2]), new Uint16Array([1, 2]));
  assert.deepEqual(decodeArray(be([1, 0, 2, 0]), "<u2", [2]), new Uint16Array([1, 2]));
  assert.deepEqual(decodeArray(be([0xff, 0xff, 0xff, 0xfe]), ">i4", [1]), new Int32Array([-2]));
  assert.deepEqual(decodeArray(be([0x3f, 0xf0, 0, 0, 0, 0, 0, 0]), ">f8", []), new Float64Array([1]));
  assert.deepEqual(decodeArray(be([0x3f, 0x80, 0, 0, 0x40, 0, 0, 0]), ">c8", [1]), new Float32Array([1, 2]));
  assert.deepEqual(decodeArray(be([0, 0, 0, 0, 0, 0, 0, 7]), ">u8", [1]), new BigUint64Array([7n]));
  assert.deepEqual(decodeArray(be([255, 1]), "int8", [2]), new Int8Array([-1, 1]));
  assert.deepEqual(decodeArray(be([1, 0]), "bool", [2]), new Uint8Array([1, 0]));
  const h = decodeArray(be([0x00, 0x3c]), "<f2", [1]) as unknown as ArrayLike<number>;
  assert.equal(h[0], 1);
  // shape with -1, and a frame that does not fit
  assert.deepEqual(decodeArray(be([1, 0, 2, 0, 3, 0]), "uint16", [-1]), new Uint16Array([1, 2, 3]));
  assert.throws(
    () => decodeArray(be([1, 0, 2]), "uint16", [2]),
    (e: MflowError) => e.kind === "frame_size" && /3 bytes but uint16 × \[2\] needs 4/.test(e.message),
  );
  // an unaligned frame is copied, not viewed
  const buf = new Uint8Array(9);
  buf.set([1, 0, 0, 0, 2, 0, 0, 0], 1);
  assert.deepEqual(decodeArray(buf.subarray(1), "int32", [2]), new Int32Array([1, 2]));
});

Deno.test("mflow array-1.0: big-endian round trip and encodeArrayMessage", () => {
  const dec = new MflowDecoder();
  const enc = new TextEncoder();
  const m = dec.decode([
    enc.encode('{"htype": "array-1.0", "type": ">i2", "shape": [2]}'),
    new Uint8Array([0, 5, 1, 0]),
  ]);
  assert.deepEqual(m.data.data, [new Int16Array([5, 256])]);
  const frames = encodeMflow(m.data);
  assert.deepEqual([...frames[1]], [0, 5, 1, 0]);
  const built = encodeArrayMessage([new Float32Array([1.5, 2])], 3, { source: "x" });
  assert.equal(
    new TextDecoder().decode(built[0]),
    '{"htype": "array-1.0", "type": "float32", "shape": [2], "frame": 3, "source": "x"}',
  );
  assert.deepEqual(dec.decode(built).data.data, [new Float32Array([1.5, 2])]);
  // empty frames become null, as numpy gives None
  assert.deepEqual(dec.decode([built[0], new Uint8Array(0)]).data.data, [null]);
});

Deno.test("mflow raw-1.0: the broken sender's split messages are continuations", () => {
  const dec = new MflowDecoder();
  const hdr = new TextEncoder().encode('{"htype": "raw-1.0"}');
  const a = dec.decode([hdr, new Uint8Array([1])]);
  assert.deepEqual(a.data.data, [new Uint8Array([1])]);
  const b = dec.decode([new Uint8Array([2, 3])]);
  assert.equal(b.continuation, true);
  assert.deepEqual(b.data, { header: { htype: "raw-1.0" }, data: [new Uint8Array([2, 3])] });
  // without a raw-1.0 message before, the same frame is a bad header
  assert.throws(() => new MflowDecoder().decode([new Uint8Array([2, 3])]), (e: MflowError) => e.kind === "bad_header");
});

Deno.test("mflow bsr_m-1.0: channels and timestamps, big and little endian, hash cache", () => {
  const enc = new TextEncoder();
  const dec = new MflowDecoder();
  const dataHeader = enc.encode(JSON.stringify({
    htype: "bsr_d-1.0",
    channels: [
      { name: "A", type: "double", encoding: "big" },
      { name: "B", type: "integer", encoding: "little" },
      { name: "S", type: "string" },
      { name: "W", type: "ushort", encoding: "little" },
    ],
  }));
  const f64be = new Uint8Array(8);
  new DataView(f64be.buffer).setFloat64(0, 2.5, false);
  const i32le = new Uint8Array(4);
  new DataView(i32le.buffer).setInt32(0, -7, true);
  const ts = (sec: number, ns: number, little: boolean) => {
    const b = new Uint8Array(16);
    const v = new DataView(b.buffer);
    v.setBigUint64(0, BigInt(sec), little), v.setBigUint64(8, BigInt(ns), little);
    return b;
  };
  const frames = [
    enc.encode('{"htype": "bsr_m-1.0", "pulse_id": 5, "hash": "h1"}'),
    dataHeader,
    f64be,
    ts(100, 5, false),
    i32le,
    ts(101, 6, true),
    enc.encode("hello"),
    ts(102, 7, true),
    new Uint8Array([1, 0, 2, 0]),
    new Uint8Array(0),
  ];
  const m = dec.decode(frames).data;
  assert.deepEqual(m.values, { A: 2.5, B: -7, S: "hello", W: new Uint16Array([1, 2]) });
  assert.deepEqual(m.timestamps, { A: [100, 5], B: [101, 6], S: [102, 7], W: null });
  // same hash: the data header frame is not parsed again (here: garbage is ignored)
  const again = dec.decode([frames[0], new Uint8Array([0xff]), ...frames.slice(2)]).data;
  assert.deepEqual(again.values, m.values);
  assert.throws(() => dec.decode(frames.slice(0, 5)), (e: MflowError) => e.kind === "frame_count");
});

Deno.test("mflow: bad headers and unknown htypes are MflowErrors; user types can be registered", () => {
  const dec = new MflowDecoder();
  const enc = new TextEncoder();
  assert.throws(() => dec.decode([enc.encode("{not json")]), (e: MflowError) => e.kind === "bad_header");
  assert.throws(() => dec.decode([enc.encode('{"type": 1}')]), (e: MflowError) => e.kind === "bad_header");
  assert.throws(() => dec.decode([enc.encode("[1]")]), (e: MflowError) => e.kind === "bad_header");
  assert.throws(
    () => dec.decode([enc.encode('{"htype": "mine-1.0"}'), enc.encode("x")]),
    (e: MflowError) => e.kind === "unknown_htype" && /mine-1.0/.test(e.message),
  );
  assert.throws(
    () => dec.decode([enc.encode('{"htype": "array-1.0", "type": "uint8", "shape": [2]}')]),
    (e: MflowError) => e.kind === "frame_count",
  );
  registerMflowType("mine-1.0", {
    decode: (frames, header) => ({ header, text: new TextDecoder().decode(frames[1]) }),
  });
  assert.deepEqual(dec.decode([enc.encode('{"htype": "mine-1.0"}'), enc.encode("x")]).data, {
    header: { htype: "mine-1.0" },
    text: "x",
  });
});
