/** The loader's view of a valibot schema: issues with paths and short messages, every unknown key at once. */
import assert from "node:assert/strict";
import * as v from "npm:valibot@^1.1.0";
import { duration, numeric, table } from "./schema.ts";
import { keysAt } from "./table.ts";
import { processorsSchema } from "../processors/schema.ts";

const sample = table(v.strictObject({
  path: v.string(),
  every: v.optional(duration(), "10s"),
  count: v.optional(v.pipe(numeric(), v.integer(), v.minValue(1)), 3),
  mode: v.optional(v.picklist(["a", "b"]), "a"),
  processors: v.optional(processorsSchema),
}));

function issuesOf(value: unknown) {
  const parsed = sample.safeParse(value);
  assert.equal(parsed.success, false);
  return parsed.success ? [] : parsed.error.issues;
}

Deno.test("table: defaults are written as in TOML and parsed like a value from the file", () => {
  assert.deepEqual(sample.parse({ path: "x" }), { path: "x", every: 10_000, count: 3, mode: "a" });
  assert.deepEqual(sample.parse({ path: "x", every: 2, count: "7" }), { path: "x", every: 2000, count: 7, mode: "a" });
});

Deno.test("table: every unknown key of a table is listed in one issue (valibot names only the first)", () => {
  const issues = issuesOf({ path: "x", bogus: 1, other: 2 });
  assert.deepEqual(issues, [{
    path: [],
    message: "unknown keys",
    code: "unrecognized_keys",
    keys: ["bogus", "other"],
  }]);
});

Deno.test("table: a processor's unknown keys are those of its own type, not of any processor", () => {
  // `keys` belongs to `select`, not to `filter`: it must still be reported for a filter.
  const issues = issuesOf({ path: "x", processors: [{ type: "filter", keys: ["a"] }] });
  assert.deepEqual(issues.map((i) => [i.path, i.keys]), [[["processors", 0], ["keys"]]]);
  assert.deepEqual(keysAt(sample, ["processors", 0], { processors: [{ type: "every" }] }).sort(), ["n", "type"]);
});

Deno.test("table: missing keys, wrong types and failed checks get short messages", () => {
  const byPath = (value: unknown) => Object.fromEntries(issuesOf(value).map((i) => [i.path.join("."), i]));
  const missing = byPath({});
  assert.deepEqual([missing.path.message, missing.path.code], ["expected string", "invalid_type"]);
  const bad = byPath({ path: 1, count: 0, mode: "c", every: "soon" });
  assert.equal(bad.path.message, "expected string");
  assert.equal(bad.count.message, "must be ≥ 1");
  assert.equal(bad.mode.message, 'expected "a" | "b"');
  assert.match(bad.every.message, /bad duration "soon"/);
  assert.equal(byPath({ path: "x", count: 1.5 }).count.message, "must be an integer");
  assert.throws(() => sample.parse({ path: "x", count: 0 }), /count: must be ≥ 1/);
});

Deno.test("table: infinite numbers are refused; a union's own reason is kept", () => {
  const inf = sample.safeParse({ path: "x", count: Infinity, every: Infinity });
  assert.equal(inf.success, false);
  const messages = inf.success ? [] : inf.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
  assert.ok(messages.includes("count: expected a finite number"), messages.join("; "));
  assert.equal(messages.filter((m) => m.startsWith("every:")).length, 1, messages.join("; "));
  const linger = table(v.strictObject({ linger: v.union([v.literal(-1), duration()]) }));
  const bad = linger.safeParse({ linger: "soon" });
  assert.equal(bad.success, false);
  assert.match(bad.success ? "" : bad.error.issues[0].message, /^bad duration "soon"/);
  assert.equal(linger.parse({ linger: -1 }).linger, -1);
  assert.equal(linger.parse({ linger: "2s" }).linger, 2000);
});
