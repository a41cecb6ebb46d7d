/** `telebus serve` as a subprocess: mpacklog's serve protocol on a growing log and on a folder. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { encodeMsgpack } from "../codecs/msgpack.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function get(port: number): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(new TextEncoder().encode("get"));
  const buf = new Uint8Array(4096);
  const n = await conn.read(buf);
  conn.close();
  return hex(buf.subarray(0, n ?? 0));
}

async function until(cond: () => Promise<boolean>, what: string) {
  const end = Date.now() + 10_000;
  while (!(await cond().catch(() => false))) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

Deno.test("serve: the newest appended record of a folder's newest file, as mpacklog serves it", async () => {
  const dir = await Deno.makeTempDir();
  const old = join(dir, "a.mpack");
  await Deno.writeFile(old, encodeMsgpack({ old: true })); // before the start: never served, as mpacklog
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "serve", dir, "-p", String(port)],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  // Wait until the tail has opened the file (at its end, as mpacklog): appends before that would not be served.
  let log = "";
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  const reading = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      log += value;
    }
  })();
  try {
    await until(() => Promise.resolve(/reading file/.test(log)), "the tail to open the file");
    await until(async () => (await get(port)) === "80", "the server answers 80 before any append");
    await Deno.writeFile(old, new Uint8Array([...encodeMsgpack({ a: 1 }), ...encodeMsgpack({ a: 2, b: [1.5] })]), {
      append: true,
    });
    await until(async () => (await get(port)) === "82a16102a16291cb3ff8000000000000", "the spec's reply");
    // A newer file appears: telebus switches to it (mpacklog would not).
    await new Promise((r) => setTimeout(r, 20));
    await Deno.writeFile(join(dir, "b.mpack"), encodeMsgpack({ file: "b" }));
    await until(async () => (await get(port)) === hex(encodeMsgpack({ file: "b" })), "the newer file's record");
  } finally {
    child.kill("SIGTERM");
    const status = await child.status;
    await reading;
    assert.equal(status.code, 0);
    await Deno.remove(dir, { recursive: true });
  }
});
