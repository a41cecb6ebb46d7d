/** toCompactJson prints exactly what toJson prints, whichever way it takes. */
import assert from "node:assert/strict";
import { toJson } from "./json.ts";
import { toCompactJson } from "./json_compact.ts";
import { telemetry } from "../bench/fixtures.ts";

Deno.test("toCompactJson equals toJson on telemetry and on every value JSON.stringify gets wrong", () => {
  const values: unknown[] = [
    ...telemetry(50),
    { a: -0 },
    { a: [1, { b: -0 }] },
    { big: 2n ** 64n - 1n },
    { deep: { er: [1n] } },
    { bin: new Uint8Array([0, 255]) },
    { f32: new Float32Array([1.5, 2]) },
    { view: new DataView(new Uint8Array([1, 2]).buffer) },
    { n: NaN, i: Infinity, m: -Infinity, z: 0, tiny: 5e-324, huge: 1e300 },
    { d: new Date(0), bad: new Date(NaN) },
    { s: 'é "q" \\ \n\u0001 😀', u: undefined, list: [undefined, null, true] },
    [1, -0, "x"],
    -0,
    "plain",
  ];
  for (const v of values) assert.equal(toCompactJson(v), toJson(v), String(toJson(v)));
});
