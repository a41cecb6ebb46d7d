import assert from "node:assert/strict";
import { decodeMsgpack, encodeMsgpack, MsgpackError } from "./msgpack.ts";

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

Deno.test("msgpack: mpacklog's test vectors, byte for byte", () => {
  assert.equal(hex(encodeMsgpack({ foo: 1, something: "else" })), "82a3666f6f01a9736f6d657468696e67a4656c7365");
  assert.equal(
    hex(encodeMsgpack({ time: 0.5, a: { b: [1, 2.5, null], c: true }, n: NaN, bin: new Uint8Array([1, 2]) })),
    "84a474696d65cb3fe0000000000000a16182a1629301cb4004000000000000c0a163c3a16ecb7ff8000000000000a362696ec4020102",
  );
});

Deno.test("msgpack: typed arrays are lists (as mpacklog's tolist), bytes stay bin, 64-bit integers exact", () => {
  assert.deepEqual(decodeMsgpack(encodeMsgpack({ a: new Float32Array([1.5, -2.25]) })), { a: [1.5, -2.25] });
  assert.deepEqual(decodeMsgpack(encodeMsgpack({ a: new Int32Array([-70000, 3]) })), { a: [-70000, 3] });
  assert.deepEqual(decodeMsgpack(encodeMsgpack({ a: new BigUint64Array([18446744073709551615n]) })), {
    a: [18446744073709551615n],
  });
  const b = (decodeMsgpack(encodeMsgpack({ b: new Uint8Array([0, 255]) })) as { b: Uint8Array }).b;
  assert.ok(b instanceof Uint8Array); // a Buffer, which is a Uint8Array
  assert.deepEqual([...b], [0, 255]);
  assert.deepEqual(decodeMsgpack(encodeMsgpack({ i: -9223372036854775808n, u: 18446744073709551615n, s: 5 })), {
    i: -9223372036854775808n,
    u: 18446744073709551615n,
    s: 5,
  });
});

// Regression found by fuzz/msgpack_fuzz_test.ts: msgpackr's own errors (plain Error, RangeError) are wrapped.

Deno.test("msgpack (fuzz regression): bytes that are not MessagePack throw MsgpackError with the offset", () => {
  const e = (() => {
    try {
      decodeMsgpack(Uint8Array.from([0x00, 0x00, 0x92, 0x01]), 2, 4);
    } catch (err) {
      return err;
    }
  })();
  assert.ok(e instanceof MsgpackError, String(e));
  assert.equal(e.offset, 2);
  assert.match(e.message, /offset 2/);
});

Deno.test("msgpack (fuzz regression): a count of billions of elements in five bytes is refused at once", () => {
  // msgpackr trusted the count and looped over millions of missing elements (1.3 s for this input, minutes for 2^32).
  for (
    const bytes of [[0xdd, 0x00, 0x3e, 0x0a, 0x00], [0xdd, 0xff, 0xff, 0xff, 0xff, 0x01], [
      0xdf,
      0xff,
      0xff,
      0xff,
      0xff,
    ]]
  ) {
    const t0 = performance.now();
    assert.throws(() => decodeMsgpack(Uint8Array.from(bytes)), MsgpackError);
    assert.ok(performance.now() - t0 < 100, `${bytes}: ${performance.now() - t0} ms`);
  }
});
