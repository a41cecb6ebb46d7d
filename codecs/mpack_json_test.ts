/**
 * The byte walk of codecs/mpack_json.ts against the decoder: for every record
 * it takes, its text is exactly `toJson(decodeMsgpack(…), python)`; for the
 * records it leaves alone, the caller decodes them.
 */
import assert from "node:assert/strict";
import fc from "npm:fast-check@^4.10.2";
import { appendRecordJson, ByteBuffer, collectRecordPaths, KeyTable } from "./mpack_json.ts";
import { decodeMsgpack, encodeMsgpack } from "./msgpack.ts";
import { toJson } from "./json.ts";
import { collectNewPaths, newPathTree } from "../cli/list.ts";
import type { Dict, Value } from "../core/record.ts";

const dec = new TextDecoder();

function reference(bytes: Uint8Array): string {
  return toJson(decodeMsgpack(bytes, 0, bytes.length, true), { style: "python" }) + "\n";
}

/** The walk's text, or undefined when it leaves the record to the decoder. Pads the bytes to test offsets. */
function fast(bytes: Uint8Array, table?: KeyTable): string | undefined {
  const padded = new Uint8Array(bytes.length + 7);
  padded.set(bytes, 3);
  const sink = new ByteBuffer(16);
  sink.length = 2; // output is appended
  if (!appendRecordJson(sink, padded, 3, 3 + bytes.length, table)) {
    assert.equal(sink.length, 2, "nothing appended when the record is left alone");
    return undefined;
  }
  return dec.decode(sink.bytes.subarray(2, sink.length));
}

const EVERY_TYPE: Dict = {
  ints: [0, 1, 127, 128, 255, 256, 65535, 65536, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, 2 ** 53],
  negative: [-1, -32, -33, -128, -129, -32768, -32769, -(2 ** 31), -(2 ** 31) - 1, -(2 ** 53)],
  big: [2n ** 64n - 1n, -(2n ** 63n), 2n ** 53n + 1n, -(2n ** 53n) - 1n],
  floats: [0.5, -0.0, 0.1 + 0.2, 1e-4, 1e-5, 9.999e-5, 1e15 + 0.5, 1e16, 1.5e16, 1e21, 1e22, 5e-324, 1e300, -1e-7],
  whole_floats: [1e15, -3.0, 2 ** 60],
  special: [NaN, Infinity, -Infinity],
  strings: ["", "plain", 'quote " and \\ backslash', "\x00\x01\x08\t\n\x0b\x0c\r\x1f", "\x7f", "é", "€", "𝄞", "\u2028"],
  long: "x".repeat(300) + "é".repeat(40),
  bytes: [new Uint8Array(0), new Uint8Array([0]), new Uint8Array([1, 2]), new Uint8Array([255, 254, 253])],
  more_bytes: new Uint8Array(70000).map((_, i) => i * 7),
  nested: { a: { b: { c: [1, [2, [3, {}]], { d: null }] } }, empty: {}, list: [] },
  flags: [true, false, null],
  "unicode ключ 🔑": 1,
  "a/b": "slash in a key",
  'key "quoted"': 2,
  "-1": "not an index",
  "01": "not an index either",
};

Deno.test("mpack_json: every value type takes the fast path, text as toJson of the decoded record", () => {
  const bytes = encodeMsgpack(EVERY_TYPE);
  const got = fast(bytes);
  assert.notEqual(got, undefined, "the walk took the record");
  assert.equal(got, reference(bytes));
  // A map 16 header and a map 32 header, too.
  const wide: Dict = {};
  for (let i = 0; i < 40; i++) wide[`k${i}`] = i % 2 ? i / 3 : `v${i}`;
  const w = encodeMsgpack(wide);
  assert.equal(w[0], 0xde);
  assert.equal(fast(w), reference(w));
  const w32 = new Uint8Array(w.length + 2);
  w32.set([0xdf, 0, 0, w[1], w[2]]);
  w32.set(w.subarray(3), 5);
  assert.equal(fast(w32), reference(w32));
});

Deno.test("mpack_json: floats as Python writes them (float32, whole and negative-zero float64) print as decoded", () => {
  const b = new Uint8Array([0x82, 0xa1, 0x66, 0xca, 0, 0, 0, 0, 0xa1, 0x67, 0xca, 0, 0, 0, 0]);
  new DataView(b.buffer).setFloat32(4, 0.1);
  new DataView(b.buffer).setFloat32(11, -1e-7);
  assert.equal(fast(b), reference(b));
  // msgpackr writes whole numbers as integers; mpacklog (Python) writes every float as float64.
  const floats = [-0.0, 1.0, -3.0, 2 ** 60, 1e16, NaN, 0.1];
  const m = [0x81, 0xa1, 0x66, 0x90 | floats.length];
  const bytes = new Uint8Array(m.length + floats.length * 9);
  bytes.set(m);
  floats.forEach((v, i) => {
    bytes[m.length + i * 9] = 0xcb;
    new DataView(bytes.buffer).setFloat64(m.length + i * 9 + 1, v);
  });
  assert.equal(fast(bytes), reference(bytes));
  assert.equal(fast(bytes), '{"f": [-0.0, 1, -3, 1.152921504606847e+18, 1e+16, null, 0.1]}\n');
});

/** A map of raw key/value byte pairs. */
function rawMap(...pairs: number[][]): Uint8Array {
  return new Uint8Array([0x80 | pairs.length, ...pairs.flat()]);
}
const str = (s: string) => {
  const b = new TextEncoder().encode(s);
  return [0xa0 | b.length, ...b];
};

Deno.test("mpack_json: records a JavaScript object would reorder, rename or merge are left to the decoder", () => {
  const cases: [string, Uint8Array][] = [
    ["a duplicate key", rawMap([...str("a"), 1], [...str("b"), 2], [...str("a"), 3])],
    ["an array-index key", rawMap([...str("z"), 1], [...str("7"), 2])],
    ["__proto__", rawMap([...str("__proto__"), 1])],
    ["a number key in a nested map", rawMap([...str("m"), 0x81, 0x01, 0x02])],
    ["a key that is not UTF-8", rawMap([0xa1, 0xff, 1])],
    ["a value that is not UTF-8", rawMap([...str("s"), 0xa2, 0xc3, 0x28])],
    ["a timestamp", encodeMsgpack({ t: new Date(1_700_000_000_000) } as Dict)],
  ];
  for (const [what, bytes] of cases) {
    assert.equal(fast(bytes), undefined, what);
    reference(bytes); // and the decoder takes it
  }
  // The same keys inside two different maps of one record are no duplicates.
  const ok = rawMap([...str("a"), 0x81, ...str("a"), 1], [...str("b"), 0x81, ...str("a"), 2]);
  assert.equal(fast(ok), reference(ok));
});

Deno.test("mpack_json: a full key table starts over between records", () => {
  const table = new KeyTable();
  for (let i = 0; i < 20_000; i++) {
    const bytes = encodeMsgpack({ [`key_${i}`]: i, shared: 0.25 });
    const got = fast(bytes, table);
    if (got !== undefined) assert.equal(got, reference(bytes));
  }
  const last = encodeMsgpack({ again: 1, shared: 0.25 });
  assert.equal(fast(last, table), reference(last));
});

/** Values mpacklog's logs hold: what the codec writes for them. */
const value: fc.Arbitrary<Value> = fc.letrec<{ v: Value }>((tie) => ({
  v: fc.oneof(
    { depthSize: "small" },
    fc.integer({ min: -(2 ** 31), max: 2 ** 32 }),
    fc.maxSafeInteger(),
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }),
    fc.double(),
    fc.double({ min: -1e-3, max: 1e-3 }),
    fc.string({ unit: "binary", maxLength: 40 }),
    fc.string({ maxLength: 10 }),
    fc.uint8Array({ maxLength: 20 }),
    fc.constantFrom(null, true, false),
    fc.array(tie("v"), { maxLength: 5 }),
    fc.dictionary(fc.string({ unit: "binary", maxLength: 8 }), tie("v"), { maxKeys: 5 }) as fc.Arbitrary<Value>,
  ),
})).v;
const record = fc.dictionary(fc.string({ unit: "binary", maxLength: 12 }), value, { minKeys: 1, maxKeys: 8 });

Deno.test("mpack_json: any record: the walk's text is the decoder's, or it leaves the record alone", () => {
  let taken = 0;
  let runs = 0;
  fc.assert(
    fc.property(record, (d) => {
      const bytes = encodeMsgpack(d);
      const got = fast(bytes);
      runs++;
      if (got === undefined) return;
      taken++;
      assert.equal(got, reference(bytes));
    }),
    { numRuns: 2000 },
  );
  // Random keys are seldom array indices or duplicates: most records must take the fast path.
  assert.ok(taken > runs * 0.8, `the walk took ${taken} of ${runs} records`);
});

Deno.test("mpack_json: list's key paths from the bytes match collectNewPaths on the decoded records", () => {
  fc.assert(
    fc.property(fc.array(record, { minLength: 1, maxLength: 12 }), (records) => {
      const treeA = newPathTree(), treeB = newPathTree();
      const seenA = new Set<string>(), seenB = new Set<string>();
      for (const d of records) {
        const bytes = encodeMsgpack(d);
        const a: string[] = [];
        const b: string[] = [];
        collectNewPaths(decodeMsgpack(bytes) as Dict, treeA, seenA, a);
        if (!collectRecordPaths(bytes, 0, bytes.length, treeB, seenB, b)) {
          assert.deepEqual(b, [], "nothing added when the record is left alone");
          collectNewPaths(decodeMsgpack(bytes) as Dict, treeB, seenB, b);
        }
        assert.deepEqual(b.sort(), a.sort());
      }
      assert.deepEqual([...seenB].sort(), [...seenA].sort());
    }),
    { numRuns: 300 },
  );
});
