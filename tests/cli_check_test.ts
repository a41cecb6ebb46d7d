/** `telebus check` and `telebus --config` with bad configs: the promised errors and exit codes. */
import assert from "node:assert/strict";
import { join } from "node:path";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

async function telebus(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("check: the shipped config is valid", async () => {
  const r = await telebus("check", "--config", new URL("../telemetry.toml", import.meta.url).pathname);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /ok .*robot \(generator\).*log \(mpack_file\)/);
});

Deno.test("check and run: syntax error, unknown key, wrong type each exit 1 with a located message", async () => {
  const dir = await Deno.makeTempDir();
  const cases: [string, string, RegExp][] = [
    [
      "syntax.toml",
      `[daemon]\nhttp = "127.0.0.1:0"\n[[inputs.generator]\nname = "g"\n`,
      /syntax\.toml:3:\d+: TOML syntax error/,
    ],
    [
      "unknown.toml",
      `[[inputs.generator]]\nname = "g"\nspeed = 3\n`,
      /unknown\.toml:3:\d+: inputs\.generator\[0\]\.speed: unknown key/,
    ],
    [
      "type.toml",
      `[[inputs.generator]]\nname = "g"\n[[outputs.mpack_file]]\npath = "x.mpack"\nqueue_records = "many"\n`,
      /type\.toml:5:\d+: outputs\.mpack_file\[0\]\.queue_records: bad value "many"/,
    ],
  ];
  for (const [name, text, expected] of cases) {
    const file = join(dir, name);
    await Deno.writeTextFile(file, text);
    const check = await telebus("check", "--config", file);
    assert.equal(check.code, 1, `${name}: ${check.stdout}${check.stderr}`);
    assert.match(check.stderr, expected);
    const run = await telebus("--config", file);
    assert.equal(run.code, 1, name);
    assert.match(run.stderr, expected);
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("cli: usage errors exit 2, --version prints the version", async () => {
  assert.equal((await telebus("frobnicate")).code, 2);
  const v = await telebus("--version");
  assert.equal(v.code, 0);
  assert.match(v.stdout, /^\d+\.\d+\.\d+/);
});
