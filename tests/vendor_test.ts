/** The vendored sources (vendor/README.md) are the npm package's files, byte for byte, at the version stated. */
import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);

Deno.test("vendor: cbor-x's decode.js and LICENSE are the npm package's, at the version deno.json pins", async () => {
  // deno.json holds comments (JSONC), so it is searched rather than parsed.
  const denoJson = await Deno.readTextFile(new URL("deno.json", ROOT));
  const pinned = /"cbor-x": "npm:cbor-x@(\d+\.\d+\.\d+)"/.exec(denoJson)?.[1];
  assert.ok(pinned, "deno.json pins an exact cbor-x version");
  const pkg = new URL("node_modules/cbor-x/", ROOT);
  const installed = JSON.parse(await Deno.readTextFile(new URL("package.json", pkg))).version;
  assert.equal(installed, pinned, "node_modules holds the pinned cbor-x (run `deno install`)");
  const readme = await Deno.readTextFile(new URL("vendor/README.md", ROOT));
  assert.match(readme, new RegExp(`\`cbor-x\` ${pinned.replaceAll(".", "\\.")} \\(npm\\)`));
  for (const file of ["decode.js", "LICENSE"]) {
    const ours = await Deno.readFile(new URL(`vendor/cbor-x/${file}`, ROOT));
    const theirs = await Deno.readFile(new URL(file, pkg));
    assert.deepEqual(ours, theirs, `vendor/cbor-x/${file} differs from cbor-x ${pinned}'s`);
  }
});
