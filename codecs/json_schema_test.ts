import assert from "node:assert/strict";
import { inferSchema, mergeSchema, sameShape, shapeKey } from "./json_schema.ts";

Deno.test("json_schema: the schema of the JSON toJson prints", () => {
  assert.deepEqual(inferSchema({ b: new Uint8Array([1]), f: new Float32Array(2), d: new Date(0), z: null, l: [] }), {
    type: "object",
    properties: {
      b: { type: "object", properties: { $bin: { type: "string" } } },
      f: { type: "array", items: { type: "number" } },
      d: { type: "string" },
      z: { type: "null" },
      l: { type: "array" },
    },
  });
  assert.deepEqual(inferSchema([1, "a"]), { type: "array", items: { type: ["number", "string"] } });
});

Deno.test("json_schema: merging widens (members united, types united, items taken)", () => {
  const a = inferSchema({ x: 1, l: [] });
  const b = inferSchema({ x: null, y: { z: true }, l: [2n] });
  assert.deepEqual(mergeSchema(a, b), {
    type: "object",
    properties: {
      x: { type: ["null", "number"] },
      l: { type: "array", items: { type: "integer" } },
      y: { type: "object", properties: { z: { type: "boolean" } } },
    },
  });
  // Merging what is already covered changes nothing.
  const m = mergeSchema(a, b);
  assert.deepEqual(mergeSchema(m, a), m);
});

Deno.test("json_schema: shape keys differ by shape only", () => {
  assert.equal(shapeKey({ a: 1, b: [1, 2, 3] }), shapeKey({ a: 2.5, b: [4] }));
  assert.notEqual(shapeKey({ a: 1 }), shapeKey({ a: "1" }));
  assert.notEqual(shapeKey({ a: 1 }), shapeKey({ a: 1, b: 1 }));
  assert.notEqual(shapeKey({ a: new Uint8Array(1) }), shapeKey({ a: new Float64Array(1) }));
});

/** A schema's text with members in name order. */
const canonical = (v: unknown): string =>
  JSON.stringify(
    v,
    (_, x) => x && typeof x === "object" && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort()) : x,
  );

Deno.test("json_schema: sameShape is true only for values of one schema, and for the common same-shape cases", () => {
  const values: unknown[] = [
    { a: 1 },
    { a: 2.5 },
    { a: "1" },
    { a: 1, b: 1 },
    { b: 1, a: 1 },
    { a: [1, 2] },
    { a: [3] },
    { a: ["x"] },
    { a: new Uint8Array(1) },
    { a: new Float64Array(1) },
    { a: null },
    { a: { b: true } },
    { a: { b: 0 } },
    { a: 1, u: undefined },
  ];
  for (const x of values) {
    for (const y of values) {
      if (sameShape(x, y)) {
        assert.equal(canonical(inferSchema(x)), canonical(inferSchema(y)), `${shapeKey(x)} vs ${shapeKey(y)}`);
      }
    }
  }
  const pairs = [[0, 1], [3, 4], [5, 6], [0, 13], [11, 11]];
  for (const [i, j] of pairs) assert.ok(sameShape(values[i], values[j]), `${i} and ${j}`);
  assert.equal(sameShape(values[0], values[2]), false);
  assert.equal(sameShape(values[11], values[12]), false);
});
