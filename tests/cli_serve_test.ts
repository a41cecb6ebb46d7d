/** `telebus serve` as a subprocess: mpacklog's serve protocol on a growing log and on a folder. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { encodeMsgpack } from "../codecs/msgpack.ts";
import { freePort, hex, until } from "../testing/mod.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
async function get(port: number): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(new TextEncoder().encode("get"));
  const buf = new Uint8Array(4096);
  const n = await conn.read(buf);
  conn.close();
  return hex(buf.subarray(0, n ?? 0));
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
    await until("the tail to open the file", () => /reading file/.test(log));
    await until("the server to answer 80 before any append", async () => (await get(port).catch(() => "")) === "80");
    await Deno.writeFile(old, new Uint8Array([...encodeMsgpack({ a: 1 }), ...encodeMsgpack({ a: 2, b: [1.5] })]), {
      append: true,
    });
    await until(
      "the spec's reply",
      async () => (await get(port).catch(() => "")) === "82a16102a16291cb3ff8000000000000",
    );
    // A newer file appears: telebus switches to it (mpacklog would not).
    // No pause needed: the folder's newest file is chosen by modification time, then by name ("b" after "a").
    await Deno.writeFile(join(dir, "b.mpack"), encodeMsgpack({ file: "b" }));
    await until(
      "the newer file's record",
      async () => (await get(port).catch(() => "")) === hex(encodeMsgpack({ file: "b" })),
    );
  } finally {
    child.kill("SIGTERM");
    const status = await child.status;
    await reading;
    assert.equal(status.code, 0);
    await Deno.remove(dir, { recursive: true });
  }
});
