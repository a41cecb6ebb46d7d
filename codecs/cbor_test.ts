/** CBOR as MoaT speaks it (exact integers and floats, bytes, tags, sequences with garbage), and its MessagePack variant. */
import assert from "node:assert/strict";
import { CborError, decodeCbor, decodeCborSequence, encodeCbor } from "./cbor.ts";
import { CborTag, MoatObject, MoatProxy, Path } from "./moat_values.ts";
import { decodeMoatMsgpackAt, encodeMoatMsgpack, MsgpackError, MsgpackIncomplete } from "./moat_msgpack.ts";

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const unhex = (s: string) => new Uint8Array(s.match(/../g)!.map((x) => parseInt(x, 16)));

Deno.test("cbor: integers in the shortest form up to 64 bits, bignums beyond, as cbor2 writes them", () => {
  const cases: [unknown, string][] = [
    [0, "00"],
    [23, "17"],
    [24, "1818"],
    [255, "18ff"],
    [256, "190100"],
    [65536, "1a00010000"],
    [4294967295, "1affffffff"],
    [4294967296, "1b0000000100000000"],
    [-1, "20"],
    [-24, "37"],
    [-25, "3818"],
    [2n ** 63n - 1n, "1b7fffffffffffffff"],
    [-(2n ** 63n), "3b7fffffffffffffff"],
    [2n ** 64n, "c249010000000000000000"],
    [-(2n ** 64n) - 1n, "c349010000000000000000"],
  ];
  for (const [v, h] of cases) {
    assert.equal(hex(encodeCbor(v)), h, String(v));
    const back = decodeCbor(unhex(h));
    assert.equal(back, typeof v === "bigint" && v >= -(2n ** 53n) && v <= 2n ** 53n ? Number(v) : v, h);
  }
  // 64-bit-encoded integers that fit a double come back as numbers.
  assert.equal(decodeCbor(unhex("1b0000000100000000")), 4294967296);
});

Deno.test("cbor: floats are float64, -0 and 1e300 stay floats; strings, bytes, maps, null, booleans", () => {
  assert.equal(hex(encodeCbor(1.5)), "fb3ff8000000000000");
  assert.equal(hex(encodeCbor(-0)), "fb8000000000000000");
  assert.ok(Object.is(decodeCbor(encodeCbor(-0)), -0));
  assert.equal(hex(encodeCbor(1e300)), "fb7e37e43c8800759c");
  assert.ok(Number.isNaN(decodeCbor(encodeCbor(NaN))));
  assert.equal(decodeCbor(encodeCbor(-Infinity)), -Infinity);
  assert.equal(hex(encodeCbor("héllo")), "6668c3a96c6c6f");
  assert.equal(hex(encodeCbor(new Uint8Array([0, 1, 255]))), "430001ff");
  const b = decodeCbor(unhex("430001ff"));
  assert.equal((b as Uint8Array).constructor, Uint8Array, "plain Uint8Array, not a Buffer");
  assert.equal(hex(encodeCbor({ a: { b: [true, false, null] } })), "a16161a1616283f5f4f6");
  assert.equal(hex(encodeCbor({})), "a0");
  assert.equal(hex(encodeCbor(new Map([[1, "x"]]))), "a1016178");
  assert.deepEqual(decodeCbor(encodeCbor({ k: undefined, v: 1 })), { v: 1 });
  assert.deepEqual(decodeCbor(encodeCbor([undefined])), [null]);
});

Deno.test("cbor: MoaT tags — Path 39 (and old 202), proxy 32769 (and 203), object 27, datetime 1, unknown tags", () => {
  assert.equal(hex(encodeCbor(new Path(["sys", 1]))), "d8278263737973" + "01");
  assert.deepEqual(decodeCbor(unhex("d8278263737973" + "01")), new Path(["sys", 1]));
  assert.deepEqual(decodeCbor(unhex("d8ca8163737973")), new Path(["sys"]));
  assert.equal(hex(encodeCbor(new MoatProxy("p1"))), "d98001627031");
  assert.deepEqual(decodeCbor(unhex("d98001627031")), new MoatProxy("p1"));
  assert.deepEqual(decodeCbor(unhex("d8cb627031")), new MoatProxy("p1"));
  const exc = new MoatObject("ValueError", ["Unknown", 42]);
  assert.deepEqual(decodeCbor(encodeCbor(exc)), exc);
  const withKw = new MoatObject("_rErr", ["KeyError", "x"], { trace: "t" });
  assert.deepEqual(decodeCbor(encodeCbor(withKw)), withKw);
  assert.deepEqual(decodeCbor(encodeCbor(new Date(1_700_000_000_500))), new Date(1_700_000_000_500));
  // 55799 (self-described CBOR) is transparent; the "MoaT" file marker is kept as a tag.
  assert.deepEqual(decodeCbor(unhex("d9d9f7a0")), {});
  assert.deepEqual(decodeCbor(unhex("da4d6f6154644d6f6154")), new CborTag(1299145044, "MoaT"));
  assert.deepEqual(decodeCbor(encodeCbor(new CborTag(1299145044, "MoaT"))), new CborTag(1299145044, "MoaT"));
});

Deno.test("cbor: sequences stop at an incomplete item or at garbage and say which", () => {
  const items: unknown[] = [];
  const a = encodeCbor([0, "Test", 123]);
  const seq = new Uint8Array([...a, ...a, ...a.subarray(0, 3)]);
  assert.deepEqual(decodeCborSequence(seq, (v) => items.push(v)), { consumed: 2 * a.length });
  assert.equal(items.length, 2);
  const g = decodeCborSequence(new Uint8Array([...a, 0xff, ...a]), () => {});
  assert.equal(g.consumed, a.length);
  assert.match(g.garbage!, /break/);
  assert.deepEqual(decodeCborSequence(new Uint8Array(), () => {}), { consumed: 0 });
  assert.throws(() => decodeCbor(unhex("8301")), CborError);
  assert.throws(() => decodeCbor(unhex("0000")), CborError);
});

Deno.test("moat msgpack: plain values as msgpack writes them; MoaT's ext types 2–6 both ways", () => {
  assert.equal(hex(encodeMoatMsgpack([-4, "Foo", 234])), "93fca3466f6fccea", "the spec's msgpack vector");
  assert.equal(hex(encodeMoatMsgpack([3, 10])), "92030a");
  assert.equal(
    hex(encodeMoatMsgpack({ a: 1.5, b: null, c: new Uint8Array([1]) })),
    "83a161cb3ff8000000000000a162c0a163c40101",
  );
  const values: unknown[] = [
    0,
    -1,
    -33,
    127,
    128,
    65535,
    65536,
    2 ** 32,
    -(2 ** 31) - 1,
    2n ** 63n,
    -(2n ** 63n),
    2n ** 70n,
    1.5,
    -0,
    "x".repeat(40),
    [],
    {},
    true,
    false,
    null,
    new Path(["sys", 1]),
    new MoatProxy("p"),
    new MoatObject("ValueError", ["bad", 42]),
    new MoatObject("O", [], { k: 1 }),
  ];
  for (const v of values) {
    const b = encodeMoatMsgpack(v);
    const { value, end } = decodeMoatMsgpackAt(b);
    assert.equal(end, b.length);
    assert.deepEqual(value, v, `${hex(b)}`);
  }
  // Path: ext 3 of its elements back to back ("sys" then 1); a marked Path (6) decodes as a Path too.
  assert.equal(hex(encodeMoatMsgpack(new Path(["sys", 1]))), "c70503a373797301");
  assert.deepEqual(decodeMoatMsgpackAt(unhex("c70506a373797301")).value, new Path(["sys", 1]));
  assert.throws(() => decodeMoatMsgpackAt(unhex("93fca3466f")), MsgpackIncomplete);
  assert.throws(() => decodeMoatMsgpackAt(unhex("c1")), /bad MessagePack/);
  assert.throws(() => decodeMoatMsgpackAt(unhex("d5039201")), /cut-off/);
  const proto = decodeMoatMsgpackAt(encodeMoatMsgpack(JSON.parse('{"__proto__": {"x": 1}}'))).value as object;
  assert.equal(Object.getPrototypeOf(proto), Object.prototype, "a __proto__ key stays data");
});

// Regressions found by fuzz/moat_fuzz_test.ts: bad bytes throw MsgpackError.

Deno.test("MoaT msgpack (fuzz regression): a string that is not UTF-8 is a MsgpackError, not a TypeError", () => {
  assert.throws(() => decodeMoatMsgpackAt(Uint8Array.from([0xa1, 0xc0])), MsgpackError);
  assert.throws(() => decodeMoatMsgpackAt(Uint8Array.from([0xd4, 0x04, 0xff])), MsgpackError); // proxy name
});

Deno.test("MoaT msgpack (fuzz regression): exts nested inside exts count towards the depth limit", () => {
  // 20000 Path exts, each holding the next: the decoder recursed once per ext without a limit.
  const levels = 20000;
  const bytes = new Uint8Array(levels * 6 + 1);
  for (let i = 0; i < levels; i++) {
    const inner = bytes.length - (i + 1) * 6;
    bytes.set([0xc9, 0, 0, 0, 0, 3], i * 6);
    new DataView(bytes.buffer).setUint32(i * 6 + 1, inner);
  }
  bytes[bytes.length - 1] = 0xc0;
  assert.throws(() => decodeMoatMsgpackAt(bytes), MsgpackError);
});
