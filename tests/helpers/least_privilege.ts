/**
 * Runs the daemon as a subprocess with exactly the flags `telebus permissions`
 * prints (no `-A`), for the least-privilege and reload tests.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";

/** The repository root. */
export const ROOT: string = new URL("../..", import.meta.url).pathname;
const MAIN = join(ROOT, "main.ts");

/** Runs `main.ts permissions` in `cwd` with `env`; returns the flags it printed. */
export async function printedFlags(config: string, cwd: string, env: Record<string, string>): Promise<string[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "permissions", "--config", config],
    cwd,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.equal(text.split("\n").length, 1, "one line");
  return text.split(" ");
}

/** Starts `deno run FLAGS main.ts --config config` and waits for its "listening" line (fails on an error line). */
export async function startWithFlags(flags: string[], config: string, cwd: string, env: Record<string, string>) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...flags, MAIN, "--config", config],
    cwd,
    env,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let log = "";
  let url = "";
  const reading = (async () => {
    const dec = new TextDecoder();
    for await (const chunk of child.stderr) log += dec.decode(chunk, { stream: true });
  })();
  const end = Date.now() + 20_000;
  while (!url) {
    const m = /listening url=(\S+)/.exec(log);
    if (m) url = m[1].replace(/\/$/, "");
    else if (Date.now() > end || /error|NotCapable/i.test(log)) {
      try {
        child.kill("SIGKILL");
      } catch { /* exited already */ }
      await child.status;
      await reading;
      throw new Error(`daemon did not listen:\n${log}`);
    } else await new Promise((r) => setTimeout(r, 25));
  }
  return {
    url,
    log: () => log,
    signal(sig: Deno.Signal) {
      child.kill(sig);
    },
    async stop() {
      child.kill("SIGTERM");
      const s = await child.status;
      await reading;
      return s.code;
    },
  };
}

export async function mpackFiles(dir: string): Promise<{ name: string; size: number }[]> {
  const out = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.name.endsWith(".mpack")) out.push({ name: e.name, size: (await Deno.stat(join(dir, e.name))).size });
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return out;
}

export async function until(what: string, cond: () => Promise<boolean>, ms = 10_000) {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
