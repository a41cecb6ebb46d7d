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
import { freePort, until } from "../testing/mod.ts";

const ROOT = new URL("..", import.meta.url).pathname;

async function run(cmd: string, args: string[], cwd: string): Promise<{ code: number; out: string }> {
  const o = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" }).output();
  const dec = new TextDecoder();
  return { code: o.code, out: dec.decode(o.stdout) + dec.decode(o.stderr) };
}

Deno.test("self-contained: in a copy with no sibling folders, the tests that read test data pass and npm start runs", async () => {
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

    // The README's start command runs there too: `npm start` on the shipped telemetry.toml.
    const port = freePort();
    const start = new Deno.Command("npm", {
      args: ["start", "--", "--http", `127.0.0.1:${port}`],
      cwd: copy,
      env: {
        TMPDIR: tmp,
        TELEBUS_DATA: join(tmp, "data"),
        PATH: `${dirname(Deno.execPath())}:${Deno.env.get("PATH")}`,
      },
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const stderr = new Response(start.stderr).text();
    try {
      await until("npm start to become healthy", async () => {
        const r = await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined);
        await r?.body?.cancel();
        return r?.status === 200;
      }, 60_000);
    } catch (e) {
      start.kill("SIGKILL");
      throw new Error(`${(e as Error).message}:\n${await stderr}`);
    }
    start.kill("SIGTERM");
    assert.equal((await start.status).code, 0, await stderr);
  } finally {
    await Deno.remove(outer, { recursive: true });
  }
});
