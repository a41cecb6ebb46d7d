import assert from "node:assert/strict";
import { parseConfig } from "./load.ts";
import { ConfigError } from "./errors.ts";
import { substitute } from "./env.ts";
import { parseDuration, parseSize } from "./units.ts";
import { transports } from "../transports/mod.ts";

const env = (vars: Record<string, string>) => (n: string) => vars[n];

async function configError(text: string, vars: Record<string, string> = {}): Promise<ConfigError> {
  try {
    await parseConfig(text, { file: "t.toml", registry: transports, env: env(vars) });
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error("expected a ConfigError");
}

const GOOD = `
[daemon]
http = "off"
data_dir = "\${DATA:-/tmp/x}"

[[inputs.generator]]
name = "robot"
rate = "\${RATE:-5}"

[[outputs.mpack_file]]
name = "log"
inputs = ["robot"]
path = "\${DATA:-/tmp/x}/log.mpack"
when_full = "latest"
`;

Deno.test("config: a valid file gets defaults, names and substitutions", async () => {
  const c = await parseConfig(GOOD, { file: "t.toml", registry: transports, env: env({ RATE: "250" }) });
  assert.equal(c.daemon.data_dir, "/tmp/x");
  assert.equal(c.daemon.stop_timeout, 10_000);
  assert.equal(c.inputs[0].name, "robot");
  assert.equal(c.inputs[0].config.rate, 250);
  assert.equal(c.outputs[0].config.when_full, "latest");
  assert.equal(c.outputs[0].config.queue_records, 10000);
  assert.equal(c.outputs[0].config.path, "/tmp/x/log.mpack");
});

Deno.test("config: TOML syntax errors name file, line and column", async () => {
  const e = await configError(`[daemon]\nhttp = "x"\nbad = = 1\n`);
  assert.equal(e.problems[0].line, 3);
  assert.match(e.message, /^t\.toml:3:\d+: TOML syntax error/);
});

Deno.test("config: an unknown key is named with its path and line", async () => {
  const e = await configError(GOOD.replace('when_full = "latest"', 'when_full = "latest"\nflush_every = 3'));
  assert.equal(e.problems.length, 1);
  assert.equal(e.problems[0].path, "outputs.mpack_file[0].flush_every");
  assert.match(e.message, /t\.toml:15:\d+: outputs\.mpack_file\[0\]\.flush_every: unknown key/);
});

Deno.test("config: a wrong type and a bad value are named with the value", async () => {
  const e = await configError(
    GOOD.replace('when_full = "latest"', 'when_full = "sometimes"').replace('rate = "${RATE:-5}"', "rate = true"),
  );
  const byPath = Object.fromEntries(e.problems.map((p) => [p.path, p]));
  assert.match(byPath["outputs.mpack_file[0].when_full"].message, /bad value "sometimes"/);
  assert.match(byPath["outputs.mpack_file[0].when_full"].message, /block/);
  assert.equal(byPath["outputs.mpack_file[0].when_full"].line, 14);
  assert.match(byPath["inputs.generator[0].rate"].message, /bad value true/);
});

Deno.test("config: unknown transport types, duplicate names, unknown inputs", async () => {
  const e = await configError(`
[[inputs.nosuch]]
name = "a"
[[inputs.generator]]
name = "g"
[[inputs.generator]]
name = "g"
[[outputs.mpack_file]]
path = "x.mpack"
inputs = ["nobody"]
`);
  const msgs = e.problems.map((p) => `${p.path}: ${p.message}`).join("\n");
  assert.match(msgs, /inputs\.nosuch: unknown input type "nosuch" \(input types: .*generator/);
  assert.match(msgs, /inputs\.generator\[1\]\.name: duplicate name "g"/);
  assert.match(msgs, /outputs\.mpack_file\[0\]\.inputs\[0\]: no input is named "nobody"/);
});

Deno.test("config: ${VAR:?message} and unset ${VAR} are errors naming the key", async () => {
  const e = await configError(`[daemon]\ndata_dir = "\${DATA:?set DATA to the data folder}"\nhttp = "\${HTTP}"\n`);
  const msgs = e.message;
  assert.match(msgs, /t\.toml:2:\d+: daemon\.data_dir: DATA: set DATA to the data folder/);
  assert.match(msgs, /daemon\.http: \$\{HTTP\} is not set/);
});

Deno.test("config: only root causes: a bad input is not blamed again on the outputs that name it", async () => {
  const e = await configError(GOOD.replace('rate = "${RATE:-5}"', 'rate = "fast"'));
  assert.deepEqual(e.problems.map((p) => `${p.path}: ${p.message}`), [
    'inputs.generator[0].rate: bad value "fast": expected a number',
  ]);
  // An input of an unknown type, too.
  const t = await configError(
    GOOD.replace("[[inputs.generator]]", "[[inputs.generatr]]").replace(/\nrate = .*\n/, "\n"),
  );
  assert.equal(t.problems.length, 1, t.message);
  assert.match(t.message, /inputs\.generatr: unknown input type "generatr" \(did you mean "generator"\?\)/);
});

Deno.test("config: only root causes: an unset ${VAR} is reported once, not again by the value's own check", async () => {
  const e = await configError(GOOD.replace('path = "${DATA:-/tmp/x}/log.mpack"', 'path = "${NOPE_VAR}/log.mpack"'));
  assert.deepEqual(e.problems.map((p) => `${p.path}: ${p.message}`), [
    "outputs.mpack_file[0].path: ${NOPE_VAR} is not set (write ${NOPE_VAR:-} to allow an empty value)",
  ]);
});

Deno.test("config: unknown keys and types get a did-you-mean; an unknown input type lists input types only", async () => {
  const e = await configError(
    GOOD.replace('when_full = "latest"', 'when_full = "latest"\nsreams = ["a/*"]').replace(
      'http = "off"',
      'htp = "off"',
    )
      .replace('inputs = ["robot"]', 'inputs = ["robt"]') +
      '\n[[output.zmq]]\naddress = "tcp://127.0.0.1:1"\n' +
      '[[inputs.mpack_fil]]\npath = "x.mpack"\n',
  );
  const byPath = Object.fromEntries(e.problems.map((p) => [p.path, p]));
  assert.equal(byPath["outputs.mpack_file[0].sreams"].message, 'unknown key (did you mean "streams"?)');
  assert.equal(byPath["daemon.htp"].message, 'unknown key (did you mean "http"?)');
  assert.match(byPath["output"].message, /unknown top-level key \(did you mean "outputs"\?\)/);
  assert.equal(byPath["output"].line, 17);
  const type = byPath["inputs.mpack_fil"].message;
  assert.match(type, /^unknown input type "mpack_fil" \(did you mean "mpack_tail"\?\) \(input types: generator, /);
  // mpack_file and dashboard are outputs only: not offered as input types.
  assert.doesNotMatch(type, /mpack_file|dashboard|influxdb/);
  const input = await configError(GOOD.replace('inputs = ["robot"]', 'inputs = ["robt"]'));
  assert.match(input.problems[0].message, /^no input is named "robt" \(did you mean "robot"\?\)/);
  // Far from every key: no guess.
  const far = await configError(GOOD.replace('when_full = "latest"', 'when_full = "latest"\nzzzzzz = 1'));
  assert.equal(far.problems[0].message, "unknown key");
});

Deno.test("substitute: defaults, empty values, escapes", () => {
  const look = env({ A: "1", E: "" });
  assert.equal(substitute("${A}-${B:-two}-${E:-three}-${E-four}", look), "1-two-three-");
  assert.equal(substitute("$${A} costs $5", look), "${A} costs $5");
  assert.throws(() => substitute("${B:?need B}", look), /B: need B/);
});

Deno.test("units: durations and sizes", () => {
  assert.equal(parseDuration("250ms"), 250);
  assert.equal(parseDuration("1h30m"), 5_400_000);
  assert.equal(parseDuration(2), 2000);
  assert.equal(parseSize("64MiB"), 64 * 1024 * 1024);
  assert.equal(parseSize("10kB"), 10_000);
  assert.throws(() => parseDuration("soon"), /bad duration "soon"/);
  assert.throws(() => parseSize("12 parsecs"), /bad size/);
});

// Regressions found by fuzz/config_fuzz_test.ts.

Deno.test("config (fuzz regression): a table named after an Object method is an unknown type, not a TypeError", async () => {
  for (const type of ["toString", "constructor", "hasOwnProperty", "__proto__"]) {
    const e = await configError(`[[inputs.${type}]]\nname = "x"\n`);
    assert.match(e.message, new RegExp(`unknown input type "${type}"`));
  }
});
