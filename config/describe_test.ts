/** A table's options as the docs read them out of its schema. */
import assert from "node:assert/strict";
import * as v from "npm:valibot@^1.1.0";
import { optionDocs } from "./describe.ts";
import { described, duration, FULL_POLICIES, outputCommon, outputCommonSchema, table } from "./schema.ts";

Deno.test("describe: defaults are written as in TOML, with the schema's values", () => {
  const byKey = new Map(optionDocs(outputCommonSchema).map((d) => [d.key, d]));
  assert.equal(byKey.get("queue_records")?.default, "10000");
  assert.equal(byKey.get("queue_bytes")?.default, '"64MiB"');
  assert.equal(byKey.get("when_full")?.default, '"block"');
  assert.equal(byKey.get("streams")?.default, undefined);
});

Deno.test("describe: types, required keys and overridden common keys", () => {
  const docs = optionDocs(table(v.strictObject({
    ...outputCommon,
    when_full: described(v.optional(v.picklist(FULL_POLICIES), "latest"), "newest only"),
    every: described(v.pipe(duration(), v.minValue(1)), "how often"),
    mode: described(v.optional(v.picklist(["a", "b"])), "which"),
    size: described(v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(9)), 3), "how many"),
  })));
  const byKey = new Map(docs.map((d) => [d.key, d]));
  assert.deepEqual(
    [byKey.get("when_full")?.default, byKey.get("when_full")?.description],
    ['"latest"', "newest only"],
  );
  assert.deepEqual(byKey.get("every"), {
    key: "every",
    type: "duration",
    tsType: "number",
    required: true,
    default: undefined,
    defaultValue: undefined,
    description: "how often",
  });
  assert.equal(byKey.get("mode")?.type, '`"a"` | `"b"`');
  assert.equal(byKey.get("mode")?.required, false);
  assert.deepEqual([byKey.get("size")?.type, byKey.get("size")?.default], ["integer 1–9", "3"]);
  assert.throws(() => optionDocs(v.string()), /must be a valibot object/);
});
