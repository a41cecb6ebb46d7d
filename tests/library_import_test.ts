/**
 * telebus as a library from a script in another folder: no deno.json, package.json or node_modules there, and
 * no --config or --import-map, only permission flags. The script starts daemons through mod.ts with each kind
 * of `log` option, receives records, and loads every transport (their npm packages, ZeroMQ's native addon
 * and the dashboard's and GraphiQL's text imports included).
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";

const MOD = new URL("../mod.ts", import.meta.url).href;

/** The script a library user would write (telebus's path filled in). */
const SCRIPT = `
import { type Logger, type LogSink, startDaemon, transports } from ${JSON.stringify(MOD)};

/** Starts a daemon with a generator and \`options\`, waits for 10 records, stops it; returns how many came. */
async function run(options: Parameters<typeof startDaemon>[1], logLevel = "info"): Promise<number> {
  const daemon = await startDaemon({
    config: {
      daemon: { http: "off", data_dir: await Deno.makeTempDir(), log_level: logLevel },
      inputs: { generator: [{ name: "robot", rate: 1000 }] },
    },
  }, options);
  let records = 0;
  const enough = Promise.withResolvers<void>();
  const unsubscribe = daemon.subscribe((batch) => {
    records += batch.length;
    if (records >= 10) enough.resolve();
  });
  await enough.promise;
  await unsubscribe();
  await daemon.stop();
  return records;
}

const lines: string[] = [];
const sink: LogSink = { level: "info", write: (line) => lines.push(line) };
const redirected = await run({ log: sink });
const calls: string[] = [];
const logger: Logger = {
  debug: (msg) => calls.push("debug " + msg),
  info: (msg) => calls.push("info " + msg),
  warn: (msg) => calls.push("warn " + msg),
  error: (msg) => calls.push("error " + msg),
  child: () => logger,
};
const ownLogger = await run({ log: logger });
const silenced = await run({ log: false });
const quietByConfig = await run({}, "warn");
const loaded: string[] = [];
for (const [name, load] of Object.entries(transports)) {
  await load();
  loaded.push(name);
}
console.log(JSON.stringify({ redirected, ownLogger, silenced, quietByConfig, lines, calls, loaded }));
`;

Deno.test("library: a script in an empty folder imports mod.ts with no flags but permissions, and owns the logs", async () => {
  const dir = await Deno.makeTempDir({ prefix: "telebus-user-" });
  try {
    await Deno.writeTextFile(join(dir, "main.ts"), SCRIPT);
    const env: Record<string, string> = { PATH: Deno.env.get("PATH") ?? "", TMPDIR: dir, NO_COLOR: "1" };
    // Deno's own cache (npm packages) is found through HOME or DENO_DIR; nothing else of ours is passed on.
    for (const name of ["HOME", "DENO_DIR", "XDG_CACHE_HOME"]) {
      const value = Deno.env.get(name);
      if (value) env[name] = value;
    }
    // ZeroMQ's addon loader reads its package folder (in Deno's npm cache here) and /etc/alpine-release.
    const info = await new Deno.Command(Deno.execPath(), { args: ["info", "--json"], env, clearEnv: true }).output();
    const npmCache = JSON.parse(new TextDecoder().decode(info.stdout)).npmCache as string;
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        `--allow-read=${dir},${npmCache},/etc/alpine-release`,
        `--allow-write=${dir}`,
        // Loading every transport also needs: ZeroMQ's native addon, and graphql reads NODE_ENV.
        "--allow-ffi",
        "--allow-env=NODE_ENV",
        "main.ts",
      ],
      cwd: dir,
      env,
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(60_000),
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, `script failed:\n${stderr}`);
    const result = JSON.parse(stdout.trim().split("\n").at(-1) ?? "");
    for (const run of ["redirected", "ownLogger", "silenced", "quietByConfig"]) assert.ok(result[run] >= 10, stdout);
    // The redirected daemon's lines reached the script's sink, formatted as telebus writes them …
    assert.ok(result.lines.some((l: string) => / INFO telebus: running inputs=1 outputs=0$/.test(l)), stdout);
    assert.ok(result.lines.some((l: string) => / INFO telebus: stopped$/.test(l)), stdout);
    assert.ok(result.calls.includes("info running") && result.calls.includes("info stopped"), stdout);
    // … and none of the four daemons wrote a line to stderr (`log: false`, and `log_level = "warn"` by default).
    assert.doesNotMatch(stderr, /\b(DEBUG|INFO|WARN|ERROR) telebus\b/);
    assert.deepEqual(result.loaded.sort(), Object.keys((await import("../mod.ts")).transports).sort());
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("library: the sources name full npm: specifiers, at deno.json's versions (scripts/npm_specifiers.ts)", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", `--allow-read=${new URL("..", import.meta.url).pathname}`, "scripts/npm_specifiers.ts", "--check"],
    cwd: new URL("..", import.meta.url).pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  assert.equal(out.code, 0, dec.decode(out.stdout) + dec.decode(out.stderr));
});
