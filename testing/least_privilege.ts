/**
 * Runs the daemon as a subprocess with exactly the flags `telebus permissions`
 * prints (no `-A`), for the least-privilege and reload tests.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { until } from "./wait.ts";

/** The repository root. */
export const ROOT: string = new URL("..", import.meta.url).pathname;
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

/** A daemon started with chosen flags. */
export interface FlaggedDaemon {
  /** Its HTTP base URL. */
  url: string;
  /** Everything it wrote to stderr so far. */
  log(): string;
  /** Sends a signal without waiting. */
  signal(sig: Deno.Signal): void;
  /** Sends SIGTERM and returns the exit code. */
  stop(): Promise<number>;
}

/** Starts `deno run FLAGS main.ts --config config` and waits for its "listening" line (fails on an error line). */
export async function startWithFlags(
  flags: string[],
  config: string,
  cwd: string,
  env: Record<string, string>,
): Promise<FlaggedDaemon> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...flags, MAIN, "--config", config],
    cwd,
    env,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let log = "";
  const reading = (async () => {
    const dec = new TextDecoder();
    for await (const chunk of child.stderr) log += dec.decode(chunk, { stream: true });
  })();
  // The log grows as the daemon writes; what ends the wait is a line, not a time.
  const listening = () => /listening url=(\S+)/.exec(log)?.[1];
  const failed = () => /error|NotCapable/i.test(log);
  await until("the daemon's listening line", () => listening() !== undefined || failed(), 20_000).catch(() => {});
  const url = listening()?.replace(/\/$/, "");
  if (!url) {
    try {
      child.kill("SIGKILL");
    } catch { /* exited already */ }
    await child.status;
    await reading;
    throw new Error(`daemon did not listen:\n${log}`);
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

/** The `.mpack` files in `dir` with their sizes (none when `dir` does not exist). */
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
