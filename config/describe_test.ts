/** A table's options as the docs read them out of its schema. */
import assert from "node:assert/strict";
import { z } from "npm:zod@^4.1.12";
import { formatDuration, formatSize, optionDocs } from "./describe.ts";
import { duration, outputCommon, outputCommonSchema } from "./schema.ts";

Deno.test("describe: defaults are written as in TOML, with the schema's values", () => {
  assert.equal(formatDuration(10_000), "10s");
  assert.equal(formatDuration(250), "250ms");
  assert.equal(formatDuration(3_600_000), "1h");
  assert.equal(formatSize(64 * 1024 * 1024), "64MiB");
  assert.equal(formatSize(1000), 1000);
  const byKey = new Map(optionDocs(outputCommonSchema).map((d) => [d.key, d]));
  assert.equal(byKey.get("queue_records")?.default, "10000");
  assert.equal(byKey.get("queue_bytes")?.default, '"64MiB"');
  assert.equal(byKey.get("when_full")?.default, '"block"');
  assert.equal(byKey.get("streams")?.default, undefined);
});

Deno.test("describe: types, required keys and overridden common keys", () => {
  const docs = optionDocs(z.strictObject({
    ...outputCommon,
    when_full: outputCommon.when_full.default("latest").describe("newest only"),
    every: duration().pipe(z.number().min(1)).describe("how often"),
    mode: z.enum(["a", "b"]).optional().describe("which"),
  }));
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
  assert.throws(() => optionDocs(z.string()), /must be a zod object/);
});
