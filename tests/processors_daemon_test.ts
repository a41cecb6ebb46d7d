/**
 * Processors in a running daemon: an output's processors thin only its own copy, their drops are on /metrics,
 * what a throttle holds is written when the daemon stops, and an input's filter lets its checkpoint advance past
 * the records it drops.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { decodeMsgpackMultiple, encodeMsgpack } from "../codecs/msgpack.ts";
import type { Dict } from "../core/record.ts";
import { testDaemon, until } from "../testing/mod.ts";
import { validateConfig } from "../config/load.ts";
import { transports } from "../transports/mod.ts";

const records = async (path: string) => decodeMsgpackMultiple(await Deno.readFile(path)) as Dict[];

Deno.test("processors: generator → two outputs, one throttled: the other gets every record; drops on /metrics", async () => {
  const dir = await Deno.makeTempDir({ prefix: "telebus-proc-" });
  const n = 300;
  const t = await testDaemon({
    inputs: { generator: [{ name: "gen", rate: 0, count: n, streams: ["a", "b"], keys: 3 }] },
    outputs: {
      mpack_file: [
        { name: "full", path: join(dir, "full.mpack") },
        // An hour: the first record of each stream passes, the last is held until the daemon stops.
        { name: "thin", path: join(dir, "thin.mpack"), processors: [{ type: "throttle", interval: "1h" }] },
      ],
    },
  }, dir);
  try {
    const part = (name: string) => t.daemon.stats.find((s) => s.kind === "output" && s.name === name)!;
    await until(
      "every record reached both outputs' processors or files",
      () => part("full").records === n && part("thin").processors[0]?.in === n,
    );
    assert.equal(part("thin").processors[0].dropped, n - 4);
    const metrics = await (await fetch(`http://${t.url}/metrics`)).text();
    assert.match(
      metrics,
      new RegExp(
        `telebus_processor_dropped_total\\{kind="output",part="thin",processor="throttle",index="0"\\} ${n - 4}`,
      ),
    );
    assert.match(
      metrics,
      /telebus_processor_records_in_total\{kind="output",part="thin",processor="throttle",index="0"\} 300/,
    );
  } finally {
    await t.close(true);
  }
  const full = await records(join(dir, "full.mpack"));
  assert.deepEqual(full.map((d) => d.seq), Array.from({ length: n }, (_, i) => i));
  // First of each stream at once, the newest of each when the daemon stopped.
  const thin = await records(join(dir, "thin.mpack"));
  assert.deepEqual(thin.map((d) => d.seq).sort((a, b) => Number(a) - Number(b)), [0, 1, n - 2, n - 1]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("processors: an input's filter drops records, and its checkpoint still advances to the end", async () => {
  const dir = await Deno.makeTempDir({ prefix: "telebus-proc-" });
  const log = join(dir, "in.mpack");
  const parts: Uint8Array[] = [];
  for (let i = 0; i < 100; i++) parts.push(encodeMsgpack({ time: 1_700_000_000 + i, seq: i, battery: 100 - i }));
  const bytes = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  parts.reduce((at, p) => (bytes.set(p, at), at + p.length), 0);
  await Deno.writeFile(log, bytes);
  const t = await testDaemon({
    inputs: {
      mpack_tail: [{
        name: "tail",
        path: log,
        from: "start",
        processors: [{ type: "filter", where: "battery > 90" }],
      }],
    },
    outputs: { mpack_file: [{ name: "out", path: join(dir, "out.mpack"), inputs: ["tail"] }] },
  }, dir);
  try {
    const checkpoint = join(dir, "checkpoints", "tail.json");
    // The last 90 records are all filtered out: only their acknowledgement moves the checkpoint to the end.
    await until("the checkpoint reaches the end of the file", async () => {
      const saved = await Deno.readTextFile(checkpoint).then(JSON.parse).catch(() => undefined);
      return saved?.offset === bytes.length;
    });
    const input = t.daemon.stats.find((s) => s.kind === "input" && s.name === "tail")!;
    assert.deepEqual(input.processors.map((p) => [p.type, p.in, p.out, p.dropped]), [["filter", 100, 10, 90]]);
    const metrics = await (await fetch(`http://${t.url}/metrics`)).text();
    assert.match(
      metrics,
      /telebus_processor_dropped_total\{kind="input",part="tail",processor="filter",index="0"\} 90/,
    );
  } finally {
    await t.close(true);
  }
  assert.deepEqual((await records(join(dir, "out.mpack"))).map((d) => d.seq), [...Array(10).keys()]);
  await Deno.remove(dir, { recursive: true });
});

const throttled = { processors: [{ type: "throttle", interval: "1h" }] };

for (const side of ["output", "input"] as const) {
  Deno.test(`processors: a throttle on an ${side} holds the input's checkpoint back until its record is written`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "telebus-proc-" });
    const log = join(dir, "in.mpack");
    const parts: Uint8Array[] = [];
    for (let i = 0; i < 100; i++) parts.push(encodeMsgpack({ time: 1_700_000_000 + i, seq: i }));
    const bytes = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
    parts.reduce((at, p) => (bytes.set(p, at), at + p.length), 0);
    await Deno.writeFile(log, bytes);
    const checkpoint = join(dir, "checkpoints", "tail.json");
    const saved = () => Deno.readTextFile(checkpoint).then(JSON.parse).catch(() => undefined);
    const t = await testDaemon({
      daemon: { stop_timeout: "20s" },
      inputs: { mpack_tail: [{ name: "tail", path: log, from: "start", ...(side === "input" ? throttled : {}) }] },
      outputs: { mpack_file: [{ name: "out", path: join(dir, "out.mpack"), ...(side === "output" ? throttled : {}) }] },
    }, dir);
    let stopped: number;
    try {
      const out = t.daemon.stats.find((s) => s.kind === side && s.name === (side === "input" ? "tail" : "out"))!;
      await until("every record reached the throttle", () => out.processors[0]?.in === 100);
      assert.equal(out.processors[0].dropped, 98);
      // The last record waits in the throttle: its batch is not accepted, the checkpoint stays before it.
      assert.ok(((await saved())?.offset ?? 0) < bytes.length);
    } finally {
      const start = performance.now();
      await t.close(true);
      stopped = performance.now() - start;
    }
    // On stop the throttle hands its record on; once written, the input's last checkpoint covers it, without waiting.
    assert.equal((await saved())?.offset, bytes.length);
    assert.ok(stopped < 10_000, `stopping took ${stopped} ms`);
    assert.deepEqual((await records(join(dir, "out.mpack"))).map((d) => d.seq), [0, 99]);
    await Deno.remove(dir, { recursive: true });
  });
}

Deno.test("processors: a reload that changes an output's processors hands on what the old ones held", async () => {
  const dir = await Deno.makeTempDir({ prefix: "telebus-proc-" });
  const config = (processors: unknown[]) => ({
    daemon: { http: "off", data_dir: dir, dashboard: false },
    outputs: { mpack_file: [{ name: "out", path: join(dir, "out.mpack"), processors }] },
  });
  const t = await testDaemon(config([{ type: "throttle", interval: "1h" }]), dir);
  try {
    for (const seq of [1, 2, 3]) await t.emit("a", { seq });
    const r = await t.daemon.reload(await validateConfig(config([{ type: "every", n: 2 }]), { registry: transports }));
    assert.equal(r.result, "ok", r.error);
    assert.deepEqual(r.changed, ["output.out"]);
    for (const seq of [4, 5, 6]) await t.emit("a", { seq });
    const out = t.daemon.stats.find((s) => s.kind === "output" && s.name === "out")!;
    assert.deepEqual(out.processors.map((p) => [p.type, p.in, p.dropped]), [["every", 3, 1]]);
  } finally {
    await t.close(true);
  }
  // 1 passed the throttle, 3 was held and written at the reload, 2 superseded; then every other one from 4.
  assert.deepEqual((await records(join(dir, "out.mpack"))).map((d) => d.seq), [1, 3, 4, 6]);
  await Deno.remove(dir, { recursive: true });
});
