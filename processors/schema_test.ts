import assert from "node:assert/strict";
import { parseConfig } from "../config/load.ts";
import { ConfigError } from "../config/errors.ts";
import { transports } from "../transports/mod.ts";
import { processorExamples, processorSchemas } from "./schema.ts";

const load = (text: string) => parseConfig(text, { file: "t.toml", registry: transports, env: () => undefined });

async function configError(text: string): Promise<ConfigError> {
  try {
    await load(text);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error("expected a ConfigError");
}

Deno.test("processors: each documented example loads, on an input and on an output", async () => {
  for (const [type, example] of Object.entries(processorExamples)) {
    const table = example.replace(/^\[\[.*\]\]$/m, "");
    const c = await load(
      `[[inputs.generator]]\n[[inputs.generator.processors]]\n${table}\n` +
        `[[outputs.mpack_file]]\npath = "x.mpack"\n[[outputs.mpack_file.processors]]\n${table}\n`,
    );
    assert.equal((c.inputs[0].config.processors as { type: string }[])[0].type, type);
    assert.equal((c.outputs[0].config.processors as { type: string }[])[0].type, type);
  }
  assert.deepEqual(Object.keys(processorExamples), Object.keys(processorSchemas));
});

Deno.test("processors: parsed with defaults, durations in ms, in order", async () => {
  const c = await load(`
[[outputs.mpack_file]]
path = "x.mpack"

[[outputs.mpack_file.processors]]
type = "throttle"
interval = "100ms"

[[outputs.mpack_file.processors]]
type = "aggregate"
window = "2s"
`);
  assert.deepEqual(c.outputs[0].config.processors, [
    { type: "throttle", interval: 100 },
    { type: "aggregate", window: 2000, functions: ["mean", "min", "max"] },
  ]);
});

Deno.test("processors: a bad condition, an unknown type and a bad option are located", async () => {
  const e = await configError(`[[outputs.mpack_file]]
path = "x.mpack"

[[outputs.mpack_file.processors]]
type = "filter"
where = "battery <"

[[outputs.mpack_file.processors]]
type = "throttle"

[[outputs.mpack_file.processors]]
type = "every"
n = 0
`);
  const where = e.problems.find((p) => p.path.endsWith("where"));
  assert.ok(where, e.message);
  assert.equal(where.path, "outputs.mpack_file[0].processors[0].where");
  assert.equal(where.line, 6);
  assert.match(
    e.message,
    /t\.toml:6:\d+: outputs\.mpack_file\[0\]\.processors\[0\]\.where: .*nothing to compare battery/,
  );
  const type = e.problems.find((p) => p.path.includes("processors[1]"));
  assert.ok(type, e.message);
  assert.equal(type.line, 8);
  const n = e.problems.find((p) => p.path.includes("processors[2]"));
  assert.ok(n, e.message);
  assert.equal(n.path, "outputs.mpack_file[0].processors[2].n");
  assert.equal(n.line, 13);
});
