/**
 * SIGHUP reload, run with exactly the printed permissions: a valid new config
 * is applied (the changed output swapped, the rest kept); a bad one, or one
 * needing permissions the process lacks, is logged, counted, and the running
 * configuration kept.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { mpackFiles, printedFlags, startWithFlags, until } from "../testing/mod.ts";

const config = (out: string) =>
  `[daemon]
http = "127.0.0.1:0"
data_dir = "state"
[[inputs.generator]]
name = "robot"
rate = 200
[[outputs.mpack_file]]
name = "log"
path = "${out}/t-{seq}.mpack"
fsync = "never"
`;

Deno.test("reload: SIGHUP applies a valid config, keeps running on a bad or unpermitted one", async () => {
  const dir = await Deno.makeTempDir({ prefix: "telebus_reload_" });
  try {
    const file = join(dir, "t.toml");
    await Deno.writeTextFile(file, config("state/a"));
    // Grant state/ (data_dir) only: state/b is allowed, other/ is not.
    const flags = await printedFlags("t.toml", dir, {});
    const d = await startWithFlags(flags, "t.toml", dir, {});
    try {
      await until("records in state/a", async () => (await mpackFiles(join(dir, "state/a"))).some((f) => f.size > 0));

      await Deno.writeTextFile(file, config("state/b"));
      d.signal("SIGHUP");
      await until("reloaded", () => Promise.resolve(/INFO telebus: reloaded/.test(d.log())));
      await until("records in state/b", async () => (await mpackFiles(join(dir, "state/b"))).some((f) => f.size > 0));
      const url = d.url;
      assert.equal((await fetch(url + "/health")).status, 200);
      // Only the output whose table changed was swapped; the HTTP server and the generator ran on.
      assert.match(d.log(), /reloading kept="input\.robot,output\.dashboard" changed=output\.log added=- removed=-/);
      assert.doesNotMatch(d.log(), /INFO telebus: stopped/);

      await Deno.writeTextFile(file, config("state/b") + "\nbogus = 1\n");
      d.signal("SIGHUP");
      await until(
        "reload failed",
        () => Promise.resolve(/reload failed: keeping the running configuration/.test(d.log())),
      );
      assert.match(d.log(), /bogus/);

      await Deno.writeTextFile(file, config("other"));
      d.signal("SIGHUP");
      await until("reload refused", () => Promise.resolve(/reload refused/.test(d.log())));
      assert.match(d.log(), /missing="[^"]*write [^"]*\/other"/);
      const health = await (await fetch(url + "/health")).json();
      assert.equal(health.reload.result, "failed");
      assert.match(health.reload.error, /permissions missing: .*write .*\/other/);
      const metrics = await (await fetch(url + "/metrics")).text();
      assert.match(metrics, /^telebus_reload_total\{result="failed"\} 2$/m);
      assert.match(metrics, /^telebus_reload_total\{result="ok"\} 1$/m);

      const before = (await mpackFiles(join(dir, "state/b"))).reduce((n, f) => n + f.size, 0);
      assert.equal((await fetch(url + "/health")).status, 200);
      await until(
        "state/b still growing",
        async () => (await mpackFiles(join(dir, "state/b"))).reduce((n, f) => n + f.size, 0) > before,
      );
    } finally {
      assert.equal(await d.stop(), 0, d.log());
    }
    assert.equal((d.log().match(/INFO telebus: reloaded/g) ?? []).length, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
