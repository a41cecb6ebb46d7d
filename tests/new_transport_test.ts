/**
 * A transport is its folder plus one registry line: `tests/fixtures/text_lines/` (a definition, a schema and a
 * README, nothing else) registered in a registry gets `telebus check`, `telebus permissions`, `telebus transports`,
 * the README's option table and the JSON Schema, with no other file touched.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { TransportRegistry } from "../core/transport.ts";
import { transports } from "../transports/mod.ts";
import { checkCommand } from "../cli/run.ts";
import { permissionsCommand } from "../cli/permissions.ts";
import { transportList, transportOptions } from "../cli/transports.ts";
import { configJsonSchema, generateDocs } from "../scripts/docs.ts";

const registry: TransportRegistry = { ...transports, text_lines: () => import("./fixtures/text_lines/mod.ts") };
const FIXTURE = new URL("./fixtures/text_lines/", import.meta.url).pathname;

/** Runs `fn` with console.log and console.error captured; returns its result and what it printed. */
async function captured<T>(fn: () => Promise<T>): Promise<{ result: T; out: string; err: string }> {
  const out: string[] = [], err: string[] = [];
  const { log, error } = console;
  console.log = (...a: unknown[]) => out.push(a.join(" "));
  console.error = (...a: unknown[]) => err.push(a.join(" "));
  try {
    return { result: await fn(), out: out.join("\n"), err: err.join("\n") };
  } finally {
    console.log = log;
    console.error = error;
  }
}

Deno.test("new transport: check and permissions work from its definition alone", async () => {
  const dir = await Deno.makeTempDir({ prefix: "telebus_new_transport_" });
  try {
    const good = join(dir, "good.toml");
    await Deno.writeTextFile(
      good,
      `[daemon]\nhttp = "off"\ndata_dir = "${dir}/data"\n[[inputs.text_lines]]\nname = "notes"\npath = "notes.txt"\n`,
    );
    const check = await captured(() => checkCommand(["--config", good], registry));
    assert.equal(check.result, 0, check.err);
    assert.match(check.out, /notes \(text_lines\)/);
    // Its schema validates: a misspelt key is located and gets a suggestion.
    const bad = join(dir, "bad.toml");
    await Deno.writeTextFile(bad, `[[inputs.text_lines]]\npath = "x"\nmax_line = 3\n`);
    const refused = await captured(() => checkCommand(["--config", bad], registry));
    assert.equal(refused.result, 1);
    assert.match(
      refused.err,
      /bad\.toml:3:\d+: inputs\.text_lines\[0\]\.max_line: unknown key \(did you mean "max_lines"\?\)/,
    );
    // Its permission rule: read the file, relative to the daemon's working directory.
    const perms = await captured(() => permissionsCommand(["--config", good, "--cwd", dir, "--json"], registry));
    assert.equal(perms.result, 0, perms.err);
    assert.ok(JSON.parse(perms.out).read.includes(join(dir, "notes.txt")), perms.out);
    // The built-in registry does not know it.
    assert.equal((await captured(() => checkCommand(["--config", good]))).result, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("new transport: telebus transports, README tables and JSON Schema come from its schema", async () => {
  assert.match(await transportList(registry), /^text_lines\s+input\s+every line of a text file as a record$/m);
  const options = await transportOptions(registry, "text_lines");
  assert.match(options ?? "", /\[\[inputs\.text_lines\]\]/);
  assert.match(options ?? "", /max_lines: integer ≥ 1; default 1000\n\s+Most lines read\./);
  assert.match(options ?? "", /path: string; required/);

  const root = await Deno.makeTempDir({ prefix: "telebus_new_transport_docs_" });
  try {
    const readme = "transports/text_lines/README.md";
    await Deno.mkdir(join(root, "transports/text_lines"), { recursive: true });
    await Deno.copyFile(join(FIXTURE, "README.md"), join(root, readme));
    const only: TransportRegistry = { text_lines: registry.text_lines };
    const opts = { registry: only, root, repository: false };
    assert.deepEqual(await generateDocs({ ...opts, check: true }), [readme], "the fixture's table is empty");
    assert.deepEqual(await generateDocs(opts), [readme]);
    const text = await Deno.readTextFile(join(root, readme));
    assert.match(text, /\| `path` +\| string +\| required +\| The text file whose lines become records\. +\|/);
    assert.match(text, /\| `stream` +\| string +\| `"text\/lines"` +\| Stream name of the records\. +\|/);
    assert.match(text, /\[common input keys\]\(\.\.\/\.\.\/docs\/common_options\.md#every-input\)/);
    assert.deepEqual(await generateDocs({ ...opts, check: true }), [], "written docs are up to date");
  } finally {
    await Deno.remove(root, { recursive: true });
  }

  const schema = await configJsonSchema(registry) as {
    properties: {
      inputs: { properties: Record<string, { items: { properties: Record<string, { default?: unknown }> } }> };
    };
  };
  const table = schema.properties.inputs.properties.text_lines.items;
  assert.equal(table.properties.max_lines.default, 1000);
  assert.deepEqual(Object.keys(table.properties).sort(), ["max_lines", "name", "path", "processors", "stream"]);
});
