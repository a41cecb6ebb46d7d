/** Errors of the command line that must say what is wrong, once, and leave nothing behind. */
import assert from "node:assert/strict";
import { join } from "node:path";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const README = new URL("../README.md", import.meta.url).pathname;

async function telebus(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), { args: ["run", "-A", MAIN, ...args], stdin: "null" }).output();
  return { code: out.code, stdout: new TextDecoder().decode(out.stdout), stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("run: a port in use is named, the start fails with exit 1, and no output has created a file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "port_clash_" });
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const addr = `127.0.0.1:${(taken.addr as Deno.NetAddr).port}`;
  try {
    const config = join(dir, "t.toml");
    await Deno.writeTextFile(
      config,
      `[daemon]\nhttp = "${addr}"\ndata_dir = "${dir}/data"\n\n[[inputs.generator]]\nname = "robot"\n\n` +
        `[[outputs.mpack_file]]\npath = "${dir}/logs/t-{datetime}.mpack"\n`,
    );
    const r = await telebus("--config", config);
    assert.equal(r.code, 1, r.stderr);
    assert.ok(r.stderr.includes(`${addr} is in use`), r.stderr);
    // Bound before anything starts: not even the log folder or the data folder was made.
    await assert.rejects(Deno.stat(join(dir, "logs")), Deno.errors.NotFound);
    await assert.rejects(Deno.stat(join(dir, "data")), Deno.errors.NotFound);
  } finally {
    taken.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("dump and list of a file that is not MessagePack at all exit 1 and say so", async () => {
  const size = (await Deno.stat(README)).size;
  for (const cmd of ["dump", "list"]) {
    const r = await telebus(cmd, README);
    assert.equal(r.code, 1, `${cmd}: ${r.stderr}`);
    assert.equal(r.stdout, "");
    assert.ok(
      r.stderr.includes(`telebus ${cmd}: '${README}' is not a MessagePack log: no record in its ${size} bytes`),
      r.stderr,
    );
  }
  // An empty file is an empty log, and a log with some garbage is still a log.
  const dir = await Deno.makeTempDir({ prefix: "not_mpack_" });
  try {
    const empty = join(dir, "empty.mpack");
    await Deno.writeFile(empty, new Uint8Array());
    assert.equal((await telebus("dump", empty)).code, 0);
    const mixed = join(dir, "mixed.mpack");
    await Deno.writeFile(mixed, new Uint8Array([0xc1, 0xc1, 0x81, 0xa1, 0x61, 0x01]));
    const r = await telebus("dump", mixed);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '{"a": 1}\n');
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
