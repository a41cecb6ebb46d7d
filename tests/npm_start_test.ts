/**
 * The README's start command as a user runs it: `npm start -- --config FILE --http ADDR` gets the
 * permissions of the arguments given, one Ctrl-C (SIGINT to the terminal's whole process group)
 * drains and exits 0, and SIGTERM to the npm process stops the daemon instead of orphaning it.
 *
 * @module
 */
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { freePort, until } from "../testing/mod.ts";

const ROOT = new URL("..", import.meta.url).pathname;

/** `npm start -- ARGS` in a session of its own (as a terminal's foreground job), its stderr collected. */
function npmStart(args: string[], env: Record<string, string>) {
  const child = new Deno.Command("setsid", {
    args: ["npm", "start", "--", ...args],
    cwd: ROOT,
    env: { ...env, PATH: `${dirname(Deno.execPath())}:${Deno.env.get("PATH")}` },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let log = "";
  const dec = new TextDecoder();
  const reading = Promise.all([
    (async () => {
      for await (const c of child.stderr) log += dec.decode(c, { stream: true });
    })(),
    (async () => {
      for await (const c of child.stdout) log += dec.decode(c, { stream: true });
    })(),
  ]);
  return { child, reading, log: () => log };
}

async function answers(url: string): Promise<boolean> {
  try {
    const r = await fetch(url);
    await r.body?.cancel();
    return true;
  } catch {
    return false;
  }
}

async function setUp() {
  const dir = await Deno.makeTempDir({ prefix: "telebus-npm-start-" });
  const config = join(dir, "elsewhere.toml"); // not telemetry.toml: permissions must follow --config
  await Deno.writeTextFile(
    config,
    `[daemon]\nhttp = "127.0.0.1:1"\ndata_dir = "${dir}/data"\n\n` +
      `[[inputs.generator]]\nname = "robot"\nrate = 200\n\n` +
      `[[outputs.mpack_file]]\nname = "log"\npath = "${dir}/logs/t.mpack"\n`,
  );
  const port = freePort();
  return { dir, config, http: `127.0.0.1:${port}` };
}

Deno.test("npm start -- --config FILE --http ADDR: least privilege from the arguments; one Ctrl-C drains, exit 0", async () => {
  const { dir, config, http } = await setUp();
  try {
    const p = npmStart(["--config", config, "--http", http], {});
    await until("the daemon on --http", () => answers(`http://${http}/health`), 30_000);
    // (The port answers from the start of the start-up, /health with 503: wait for the first records on disk.)
    const log = join(dir, "logs", "t.mpack");
    await until("records on disk", async () => ((await Deno.stat(log).catch(() => null))?.size ?? 0) > 0, 30_000);
    // A terminal's Ctrl-C: SIGINT to every process of the foreground group (setsid made npm its leader).
    const kill = await new Deno.Command("kill", { args: ["-INT", "--", `-${p.child.pid}`] }).output();
    assert.equal(kill.code, 0);
    const status = await p.child.status;
    await p.reading;
    assert.equal(status.code, 0, p.log());
    assert.match(p.log(), /signal received: stopping/);
    assert.match(p.log(), /INFO telebus: stopped/);
    assert.doesNotMatch(p.log(), /second signal|Requires (read|net) access/);
    assert.ok((await Deno.stat(join(dir, "logs", "t.mpack"))).size > 0, "records were written");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("npm start: SIGTERM to the npm process stops the daemon (no orphan left serving)", async () => {
  const { dir, config, http } = await setUp();
  try {
    const p = npmStart(["--config", config, "--http", http], {});
    await until("the daemon on --http", () => answers(`http://${http}/health`), 30_000);
    p.child.kill("SIGTERM");
    const status = await p.child.status;
    await p.reading;
    assert.equal(status.code, 0, p.log());
    assert.match(p.log(), /INFO telebus: stopped/);
    // npm is gone; the daemon it started must be too.
    await until("the daemon's port to close", async () => !(await answers(`http://${http}/health`)), 10_000);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
