/** The README's library example must run as printed. */
import assert from "node:assert/strict";
import { join } from "node:path";

const ROOT = new URL("../", import.meta.url);

Deno.test("README: the library example runs and sees both streams", async () => {
  const readme = await Deno.readTextFile(new URL("README.md", ROOT));
  const section = readme.slice(readme.indexOf("## Library"));
  const code = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(code, "README has a ts example under ## Library");
  const dir = await Deno.makeTempDir();
  const file = join(dir, "example.ts");
  await Deno.writeTextFile(file, code.replaceAll('"./mod.ts"', JSON.stringify(new URL("mod.ts", ROOT).href)));
  const out = await new Deno.Command(Deno.execPath(), {
    // No --config: a script outside the repository imports mod.ts as it is (see README, "Library").
    args: ["run", "-A", file],
    cwd: dir,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.equal(stdout.trim(), "lab/temperature robot/telemetry");
  await Deno.remove(dir, { recursive: true });
});
