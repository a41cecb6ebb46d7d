/** `telebus transports [TYPE]`: every registered type with its sides, and one type's keys with their defaults. */
import assert from "node:assert/strict";
import { transports } from "../transports/mod.ts";

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

Deno.test("cli: transports lists every registered type with its sides and description", async () => {
  const r = await telebus("transports");
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split("\n");
  assert.deepEqual(lines.map((l) => l.split(/\s+/)[0]), Object.keys(transports));
  assert.match(r.stdout, /^zmq\s+input\+output\s+ZeroMQ/m);
  assert.match(r.stdout, /^mpack_file\s+output\s+appends mpacklog-compatible/m);
});

Deno.test("cli: transports TYPE prints its keys with types, defaults and descriptions", async () => {
  const r = await telebus("transports", "mpack_file");
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^\[\[outputs\.mpack_file\]\]$/m);
  assert.match(r.stdout, /^ {2}path: string; required$/m);
  assert.match(r.stdout, /^ {2}queue_records: integer ≥ 1; default 10000\n {6}Queue bound in records\.$/m);
  assert.match(r.stdout, /^ {2}fsync_interval: duration; default "1s"$/m);
  assert.doesNotMatch(r.stdout, /\[\[inputs\./);
  const unknown = await telebus("transports", "mpack_fil");
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /unknown transport type "mpack_fil" \(did you mean "mpack_file"\?\)/);
  assert.equal((await telebus("transports", "a", "b")).code, 2);
});
