import assert from "node:assert/strict";
import { formatNumberPython, toJson } from "./json.ts";

const PY = { style: "python" } as const;

Deno.test("toJson: bigints are printed exactly", () => {
  assert.equal(toJson([2n ** 64n - 1n, -(2n ** 63n), 0n]), "[18446744073709551615,-9223372036854775808,0]");
});

Deno.test("toJson: NaN and infinities become null", () => {
  assert.equal(toJson([NaN, Infinity, -Infinity, 1]), "[null,null,null,1]");
  assert.equal(toJson({ n: NaN }, PY), '{"n": null}');
});

Deno.test("toJson: bytes become $bin, other typed arrays become number arrays", () => {
  assert.equal(toJson(new Uint8Array([0, 255, 128])), '{"$bin":"AP+A"}');
  assert.equal(toJson(new Uint8Array(0), PY), '{"$bin": ""}');
  const buf = new Uint8Array([9, 1, 2, 3, 9]);
  assert.equal(toJson(buf.subarray(1, 4)), '{"$bin":"AQID"}', "a view is encoded, not its whole buffer");
  assert.equal(toJson(new DataView(buf.buffer, 1, 3)), '{"$bin":"AQID"}');
  assert.equal(toJson(new Float32Array([1.5, -2])), "[1.5,-2]");
  assert.equal(toJson(new Int8Array([-1, 2]), PY), "[-1, 2]");
  assert.equal(toJson(new BigInt64Array([-5n])), "[-5]");
});

Deno.test("toJson: dates become ISO strings", () => {
  assert.equal(toJson({ d: new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 6)) }), '{"d":"2024-01-02T03:04:05.006Z"}');
  assert.equal(toJson(new Date(NaN)), "null");
});

Deno.test("toJson: python style separators and ensure_ascii", () => {
  const v = { a: [1, { b: true }], "ключ": "é😀\x7f", e: [], f: {}, g: null };
  assert.equal(
    toJson(v, PY),
    '{"a": [1, {"b": true}], "\\u043a\\u043b\\u044e\\u0447": "\\u00e9\\ud83d\\ude00\\u007f", "e": [], "f": {}, "g": null}',
  );
  assert.equal(toJson(v), '{"a":[1,{"b":true}],"ключ":"é😀\x7f","e":[],"f":{},"g":null}');
});

Deno.test("toJson: string escapes match JSON.stringify and Python", () => {
  const s = 'q"b\\s/\n\r\t\b\f\x00\x1f';
  assert.equal(toJson(s), JSON.stringify(s));
  assert.equal(toJson(s, PY), '"q\\"b\\\\s/\\n\\r\\t\\b\\f\\u0000\\u001f"');
  assert.equal(toJson("\ud800x", PY), '"\\ud800x"', "a lone surrogate stays escaped");
});

Deno.test("toJson: undefined members are absent, undefined items are null", () => {
  assert.equal(toJson({ a: undefined, b: 1 }), '{"b":1}');
  assert.equal(toJson([undefined]), "[null]");
});

Deno.test("toJson: compact output parses back to the same plain value", () => {
  const v = { a: 1.25, b: [-3, "x\u2028y", { c: false }], "d/e": 5e-324, f: -1e300, g: "" };
  assert.deepEqual(JSON.parse(toJson(v)), v);
  assert.equal(toJson(v), JSON.stringify(v));
  assert.ok(Object.is(JSON.parse(toJson(-0)), -0));
});

Deno.test("formatNumberPython: repr notation", () => {
  const cases: [number, string][] = [
    [0, "0"],
    [-0, "-0.0"],
    [1, "1"],
    [-731.271512, "-731.271512"],
    [0.0001, "0.0001"],
    [0.00001, "1e-05"],
    [1.5e-7, "1.5e-07"],
    [5e-324, "5e-324"],
    [1e300, "1e+300"],
    [1e16, "1e+16"],
    [1.5e16, "1.5e+16"],
    [1e22, "1e+22"],
    [123456789012.5, "123456789012.5"],
    [NaN, "nan"],
    [Infinity, "inf"],
    [-Infinity, "-inf"],
  ];
  for (const [v, want] of cases) assert.equal(formatNumberPython(v), want, String(v));
  assert.equal(toJson([1e-5, 1e16, -0], PY), "[1e-05, 1e+16, -0.0]");
});
