import assert from "node:assert/strict";
import { Daemon } from "./daemon.ts";
import { createLogger } from "./log.ts";
import { makeRecord } from "./record.ts";

const quiet = createLogger("test", { level: "error", write() {} });

Deno.test("daemon: /health is 200 while running, 503 while draining; stop drains every queued record", async () => {
  const dir = await Deno.makeTempDir();
  const daemon = new Daemon({
    daemon: { http: "127.0.0.1:0", data_dir: dir, stop_timeout: 5000 },
    inputs: [],
    outputs: [],
  }, quiet);
  await daemon.start();
  const url = `http://127.0.0.1:${daemon.http.addr!.port}`;
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  const written: number[] = [];
  let closed = false;
  daemon.addOutput("slow", {
    async write(rs) {
      await gate;
      written.push(...rs.map((r) => r.data.seq as number));
    },
    close() {
      closed = true;
      return Promise.resolve();
    },
  });
  daemon.addInput("once", {
    async run(ctx) {
      await ctx.emit(Array.from({ length: 50 }, (_, i) => makeRecord("s", BigInt(i), { seq: i }, ctx.name)));
    },
  });
  const health = await fetch(`${url}/health`);
  assert.equal(health.status, 200);
  assert.deepEqual(await health.json(), { status: "running" });
  const stopping = daemon.stop();
  const draining = await fetch(`${url}/health`);
  assert.equal(draining.status, 503);
  assert.deepEqual(await draining.json(), { status: "draining" });
  const metrics = await (await fetch(`${url}/metrics`)).text();
  assert.match(metrics, /telebus_output_queue_records\{output="slow",type="custom"\} \d+/);
  release();
  await stopping;
  assert.equal(daemon.state, "stopped");
  assert.deepEqual(written, Array.from({ length: 50 }, (_, i) => i));
  assert.ok(closed);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("daemon: exit_when_done stops once every input has finished", async () => {
  const dir = await Deno.makeTempDir();
  const daemon = new Daemon({
    daemon: { http: "off", data_dir: dir, stop_timeout: 5000, exit_when_done: true },
    inputs: [],
    outputs: [],
  }, quiet);
  await daemon.start();
  let n = 0;
  daemon.subscribe((rs) => void (n += rs.length), { whenFull: "block" });
  daemon.addInput("once", { run: (ctx) => ctx.emit([makeRecord("s", 0n, { a: 1 }, ctx.name)]) ?? Promise.resolve() });
  await daemon.stopped;
  assert.equal(n, 1);
  await Deno.remove(dir, { recursive: true });
});
