/**
 * The generated docs cannot drift from the schemas (`deno task docs --check` finds nothing to change), and the
 * JSON Schema accepts every shipped configuration and refuses what the loader refuses.
 */
import assert from "node:assert/strict";
import { parse } from "npm:smol-toml@^1.4.2";
import { Ajv } from "npm:ajv@^8.17.1";
import { generateDocs, JSON_SCHEMA } from "./docs.ts";

const ROOT = new URL("../", import.meta.url);

Deno.test("docs: the generated files match the schemas (run `deno task docs` after changing a schema)", async () => {
  assert.deepEqual(await generateDocs({ check: true }), []);
});

Deno.test("docs: a changed description or default makes the check fail", async () => {
  const root = await Deno.makeTempDir({ prefix: "telebus_docs_" });
  try {
    const readme = "transports/generator/README.md";
    await Deno.mkdir(`${root}/transports/generator`, { recursive: true });
    const text = await Deno.readTextFile(new URL(readme, ROOT));
    await Deno.writeTextFile(`${root}/${readme}`, text.replace("Records per second", "Records per minute"));
    const { transports } = await import("../transports/mod.ts");
    const opts = { registry: { generator: transports.generator }, root, repository: false, check: true };
    assert.deepEqual(await generateDocs(opts), [readme]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("docs: the JSON Schema accepts the shipped configurations and refuses unknown keys and bad values", async () => {
  const schema = JSON.parse(await Deno.readTextFile(new URL(JSON_SCHEMA, ROOT)));
  delete schema.$schema; // draft 4 for Taplo; the keywords it uses mean the same to Ajv's default draft
  const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
  const files = [
    "telemetry.toml",
    ...[...Deno.readDirSync(new URL("examples/", ROOT))].map((e) => `examples/${e.name}`),
  ]
    .filter((f) => f.endsWith(".toml"));
  assert.ok(files.length >= 4, files.join());
  for (const f of files) {
    const ok = validate(parse(await Deno.readTextFile(new URL(f, ROOT))));
    assert.ok(ok, `${f}: ${JSON.stringify(validate.errors)}`);
  }
  const bad = [
    `[[outputs.mpack_file]]\npath = "x.mpack"\nsreams = ["a"]\n`,
    `[[outputs.mpack_file]]\npath = "x.mpack"\nwhen_full = "sometimes"\n`,
    `[[inputs.generator]]\nrate = "fast"\n`,
    `[[inputs.no_such_type]]\n`,
    `[daemon]\nhttp = 8080\n`,
  ];
  for (const text of bad) assert.equal(validate(parse(text)), false, text);
  assert.ok(validate(parse(`[[inputs.generator]]\nrate = "\${RATE:-100}"\n`)), "a ${VAR} is accepted");
});
