/**
 * The repository is self-contained: a copy of the checkout in an empty folder,
 * with no sibling folders, passes the tests that read test data. (The main
 * test run also limits reads to the checkout; this test covers what the tests
 * hand to subprocesses, which that limit does not see.)
 *
 * @module
 */
import assert from "node:assert/strict";
import { dirname, join } from "node:path";

const ROOT = new URL("..", import.meta.url).pathname;

async function run(cmd: string, args: string[], cwd: string): Promise<{ code: number; out: string }> {
  const o = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" }).output();
  const dec = new TextDecoder();
  return { code: o.code, out: dec.decode(o.stdout) + dec.decode(o.stderr) };
}

Deno.test("self-contained: the tests that read test data pass in a copy with no sibling folders", async () => {
  const outer = await Deno.makeTempDir({ prefix: "telebus-clone-" });
  try {
    const copy = join(outer, "telebus");
    // The files a clone has (tracked, plus new files not ignored), so uncommitted work is tested too.
    const listed = await run("git", ["ls-files", "-co", "--exclude-standard", "-z"], ROOT);
    assert.equal(listed.code, 0, listed.out);
    const files = listed.out.split("\0").filter((f) => f && !f.startsWith("node_modules/"));
    for (const f of files) {
      try {
        await Deno.mkdir(dirname(join(copy, f)), { recursive: true });
        await Deno.copyFile(join(ROOT, f), join(copy, f));
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e; // deleted in the work tree, not yet in git
      }
    }
    const users: string[] = [];
    for (const f of files) {
      if (!f.endsWith("_test.ts") || f === "tests/self_contained_test.ts") continue;
      const text = await Deno.readTextFile(join(copy, f)).catch(() => "");
      if (/testdata|_FIXTURES/.test(text)) users.push(f);
    }
    assert.ok(users.length >= 5, `expected the fixture tests, found ${users.join(", ")}`);
    const tmp = join(outer, "tmp");
    await Deno.mkdir(tmp);
    const args = [
      "test",
      "--allow-run",
      "--allow-net",
      "--allow-env",
      "--allow-write",
      "--allow-sys",
      "--allow-ffi",
      `--allow-read=${copy},${tmp},/usr,/etc,/proc,/sys,/dev`,
      ...users,
    ];
    const o = await new Deno.Command(Deno.execPath(), {
      args,
      cwd: copy,
      env: { TMPDIR: tmp, NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(o.stdout) + new TextDecoder().decode(o.stderr);
    assert.equal(o.code, 0, text.slice(-4000));
    assert.match(text, /ok \| \d+ passed \| 0 failed/);
  } finally {
    await Deno.remove(outer, { recursive: true });
  }
});
