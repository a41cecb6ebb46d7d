/**
 * SIGHUP reload of a real daemon process: a configuration that cannot start
 * (a port in use) leaves the running one in place, visible in `/health` and
 * `/metrics`; unchanged parts keep their files and clients; a changed output
 * is swapped without losing or repeating a record.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DaemonProcess, until } from "../testing/mod.ts";
import { decodeMsgpack, decodeMsgpackMultiple } from "../codecs/msgpack.ts";

/** The `seq` of every record in an .mpack file (none when it does not exist). */
async function seqsIn(path: string): Promise<number[]> {
  try {
    return decodeMsgpackMultiple(await Deno.readFile(path)).map((d) => (d as { seq: number }).seq);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await Deno.stat(path)).size;
  } catch {
    return 0;
  }
}

/** Counts the log lines matching `re` (one per line). */
function count(log: string, re: RegExp): number {
  return log.split("\n").filter((l) => re.test(l)).length;
}

/** Waits for the `n`-th reload outcome in the log ("reloaded" or "reload failed"). */
async function reloadOutcome(d: DaemonProcess, n: number): Promise<"ok" | "failed"> {
  await until(`reload #${n} done`, () => Promise.resolve(count(d.log, /telebus: (reloaded|reload failed)/) >= n));
  const last = d.log.split("\n").filter((l) => /telebus: (reloaded|reload failed)/.test(l))[n - 1];
  return /reloaded/.test(last) ? "ok" : "failed";
}

Deno.test("reload: a listener that cannot bind keeps the running configuration; /health and /metrics show it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "telebus_reload_bind_" });
  const held = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (held.addr as Deno.NetAddr).port;
  let heldOpen = true;
  const file = join(dir, "t.toml");
  const base = (out: string) => `
[daemon]
http = "127.0.0.1:0"
data_dir = "${dir}/state"
dashboard = false
[[inputs.generator]]
name = "gen"
rate = 200
[[outputs.mpack_file]]
name = "log"
path = "${dir}/${out}/t.mpack"
fsync = "never"
`;
  await Deno.writeTextFile(file, base("a"));
  const d = await DaemonProcess.start(file);
  try {
    const a = join(dir, "a/t.mpack");
    await until("records in a/", async () => await sizeOf(a) > 0);

    // A changed output and an added server whose port is taken: the change is undone, the old output writes on.
    await Deno.writeTextFile(
      file,
      base("b") + `[[outputs.mpack_serve]]\nname = "serve"\nlisten = "127.0.0.1:${port}"\n`,
    );
    d.signal("SIGHUP");
    assert.equal(await reloadOutcome(d, 1), "failed", d.log);
    assert.match(d.log, /reload failed: the running configuration was put back .*in use/i);
    let health = await (await fetch(d.url + "/health")).json();
    assert.equal(health.status, "running");
    assert.equal(health.reload.result, "failed");
    assert.match(health.reload.error, /in use/i);
    assert.ok(Date.parse(health.reload.time) > 0);
    assert.equal(await d.metric('telebus_reload_total{result="failed"}'), 1);
    assert.equal(await d.metric('telebus_reload_total{result="ok"}'), 0);
    assert.equal(await d.metric("telebus_config_last_reload_successful"), 0);
    assert.equal(await d.metric("telebus_up"), 1);
    const sizeA = await sizeOf(a);
    await until("a/ still growing", async () => await sizeOf(a) > sizeA);

    // The [daemon] http address moved to the taken port: nothing is touched, the old address serves on.
    await Deno.writeTextFile(file, base("a").replace('http = "127.0.0.1:0"', `http = "127.0.0.1:${port}"`));
    d.signal("SIGHUP");
    assert.equal(await reloadOutcome(d, 2), "failed", d.log);
    health = await (await fetch(d.url + "/health")).json();
    assert.equal(health.status, "running");
    assert.match(health.reload.error, /\[daemon\] http 127\.0\.0\.1:\d+: .*in use/i);
    assert.equal(await d.metric('telebus_reload_total{result="failed"}'), 2);

    // Once the port is free, the same configuration applies.
    held.close();
    heldOpen = false;
    await Deno.writeTextFile(
      file,
      base("b") + `[[outputs.mpack_serve]]\nname = "serve"\nlisten = "127.0.0.1:${port}"\n`,
    );
    d.signal("SIGHUP");
    assert.equal(await reloadOutcome(d, 3), "ok", d.log);
    health = await (await fetch(d.url + "/health")).json();
    assert.deepEqual(Object.keys(health.reload).sort(), ["result", "time"]);
    assert.equal(health.reload.result, "ok");
    assert.equal(await d.metric('telebus_reload_total{result="ok"}'), 1);
    assert.equal(await d.metric("telebus_config_last_reload_successful"), 1);
    await until("records in b/", async () => await sizeOf(join(dir, "b/t.mpack")) > 0);
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.close();
  } finally {
    if (heldOpen) held.close();
    assert.equal(await d.stop(), 0, d.log);
    await Deno.remove(dir, { recursive: true });
  }
});

/** Sends `get` on an mpacklog serve connection and decodes the newest record it answers. */
async function getNewest(conn: Deno.TcpConn): Promise<{ seq: number }> {
  await conn.write(new TextEncoder().encode("get"));
  let bytes = new Uint8Array(0);
  const buf = new Uint8Array(65536);
  for (;;) {
    const n = await conn.read(buf);
    if (n === null) throw new Error("mpack_serve closed the connection");
    const more = new Uint8Array(bytes.length + n);
    more.set(bytes);
    more.set(buf.subarray(0, n), bytes.length);
    bytes = more;
    try {
      return decodeMsgpack(bytes) as { seq: number };
    } catch {
      // not whole yet
    }
  }
}

Deno.test("reload: unchanged parts keep running untouched (same file, WebSocket and TCP clients stay connected)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "telebus_reload_keep_" });
  const file = join(dir, "t.toml");
  const base = `
[daemon]
http = "127.0.0.1:0"
data_dir = "${dir}/state"
dashboard = false
[[inputs.generator]]
name = "gen"
rate = 200
keys = 4
[[outputs.mpack_file]]
name = "log"
path = "${dir}/a/t.mpack"
fsync = "never"
inputs = ["gen"]
[[outputs.websocket]]
name = "live"
format = "json"
[[outputs.mpack_serve]]
name = "serve"
listen = "127.0.0.1:0"
streams = ["robot/*"]
`;
  await Deno.writeTextFile(file, base);
  const d = await DaemonProcess.start(file);
  let ws: WebSocket | undefined;
  let conn: Deno.TcpConn | undefined;
  try {
    const a = join(dir, "a/t.mpack");
    await until("records in a/", async () => await sizeOf(a) > 0);
    const inode = (await Deno.stat(a)).ino;
    const port = Number(/listen=127\.0\.0\.1:(\d+)/.exec(d.log)?.[1]);
    conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const before = await getNewest(conn);

    let frames = 0, closed = false, lastSeq = -1;
    ws = new WebSocket(d.url.replace(/^http/, "ws") + "/ws/records?format=json");
    ws.onmessage = (ev) => {
      frames++;
      const r = JSON.parse(ev.data);
      if (r.source === "gen") lastSeq = r.data.seq;
    };
    ws.onclose = () => closed = true;
    await until("WebSocket frames", () => Promise.resolve(frames > 0));

    // Another output and another generator join; nothing that ran before has changed.
    await Deno.writeTextFile(
      file,
      base + `[[inputs.generator]]\nname = "gen2"\nrate = 50\nstreams = ["lab/other"]\n` +
        `[[outputs.mpack_file]]\nname = "extra"\npath = "${dir}/c/t.mpack"\nfsync = "never"\n`,
    );
    d.signal("SIGHUP");
    assert.equal(await reloadOutcome(d, 1), "ok", d.log);
    const seqAtReload = lastSeq, framesAtReload = frames;
    await until("WebSocket frames after the reload", () => Promise.resolve(frames > framesAtReload + 20));
    assert.equal(closed, false, "the WebSocket client stayed connected");
    assert.ok(lastSeq > seqAtReload);

    const after = await getNewest(conn);
    assert.ok(after.seq > before.seq, "the same TCP connection is served after the reload");

    const size = await sizeOf(a);
    await until("a/t.mpack still growing", async () => await sizeOf(a) > size);
    assert.equal((await Deno.stat(a)).ino, inode, "the same file");
    assert.equal(count(d.log, /output\.log: writing path=/), 1, "the file was opened once");
    assert.equal(count(d.log, /listening url=/), 1, "the HTTP listener was kept");
    await until("records in c/", async () => await sizeOf(join(dir, "c/t.mpack")) > 0);
    const seqs = await seqsIn(a);
    assert.deepEqual(seqs.filter((s, i) => s !== i), [], "the generator went on counting into the same file");
    assert.match(
      d.log,
      /reloading kept="input\.gen,output\.log,output\.live,output\.serve" changed=- added="input\.gen2,output\.extra" removed=-/,
    );
  } finally {
    conn?.close();
    ws?.close();
    assert.equal(await d.stop(), 0, d.log);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("reload: a changed output is swapped mid-stream with every record written exactly once", async () => {
  const dir = await Deno.makeTempDir({ prefix: "telebus_reload_swap_" });
  const file = join(dir, "t.toml");
  const TOTAL = 3000;
  const config = (out: string) => `
[daemon]
http = "127.0.0.1:0"
data_dir = "${dir}/state"
dashboard = false
[[inputs.generator]]
name = "gen"
rate = 500
count = ${TOTAL}
keys = 2
[[outputs.mpack_file]]
name = "log"
path = "${dir}/${out}/t.mpack"
fsync = "never"
batch_records = 50
`;
  await Deno.writeTextFile(file, config("a"));
  const d = await DaemonProcess.start(file);
  try {
    await until("records in a/", async () => await sizeOf(join(dir, "a/t.mpack")) > 2000);
    await Deno.writeTextFile(file, config("b"));
    d.signal("SIGHUP");
    assert.equal(await reloadOutcome(d, 1), "ok", d.log);
    // A clean stop writes everything queued.
    await until("the generator finished", () => Promise.resolve(/generator finished/.test(d.log)), 15_000);
  } finally {
    assert.equal(await d.stop(), 0, d.log);
  }
  try {
    const a = await seqsIn(join(dir, "a/t.mpack")), b = await seqsIn(join(dir, "b/t.mpack"));
    assert.ok(a.length > 0 && b.length > 0, `both files have records (${a.length}, ${b.length})`);
    assert.deepEqual([...a, ...b], Array.from({ length: TOTAL }, (_, i) => i), "each record once, in order");
    assert.match(d.log, /reloading kept=input\.gen changed=output\.log added=- removed=-/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
