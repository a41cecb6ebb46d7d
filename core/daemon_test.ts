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

Deno.test("daemon: a bearer token guards every endpoint but /health; CORS for allowed origins, others refused", async () => {
  const dir = await Deno.makeTempDir();
  const daemon = new Daemon({
    daemon: {
      http: "127.0.0.1:0",
      data_dir: dir,
      stop_timeout: 5000,
      token: "s3cret",
      cors_origins: ["http://dash.local"],
      max_request_bytes: 2048,
    },
    inputs: [],
    outputs: [],
  }, quiet);
  await daemon.start();
  daemon.http.route("/echo", async (req) => new Response(await req.text()));
  const url = `http://127.0.0.1:${daemon.http.addr!.port}`;
  assert.equal(await fetch(`${url}/health`).then((r) => (r.body?.cancel(), r.status)), 200);
  const denied = await fetch(`${url}/metrics`);
  await denied.body?.cancel();
  assert.equal(denied.status, 401);
  assert.match(denied.headers.get("www-authenticate") ?? "", /Bearer/);
  const wrong = await fetch(`${url}/metrics`, { headers: { authorization: "Bearer nope" } });
  await wrong.body?.cancel();
  assert.equal(wrong.status, 401);
  const ok = await fetch(`${url}/metrics`, {
    headers: { authorization: "Bearer s3cret", origin: "http://dash.local" },
  });
  assert.equal(ok.status, 200);
  assert.equal(ok.headers.get("access-control-allow-origin"), "http://dash.local");
  assert.match(await ok.text(), /telebus_http_refused_unauthorized_total 2/);
  const byQuery = await fetch(`${url}/metrics?token=s3cret`);
  await byQuery.body?.cancel();
  assert.equal(byQuery.status, 200);
  assert.equal(byQuery.headers.get("access-control-allow-origin"), null);
  const foreign = await fetch(`${url}/metrics?token=s3cret`, { headers: { origin: "http://evil.example" } });
  await foreign.body?.cancel();
  assert.equal(foreign.status, 403, "a page of an unlisted origin is refused, token or not");
  const preflight = await fetch(`${url}/echo`, {
    method: "OPTIONS",
    headers: { origin: "http://dash.local", "access-control-request-method": "POST" },
  });
  await preflight.body?.cancel();
  assert.equal(preflight.status, 204);
  const big = await fetch(`${url}/echo?token=s3cret`, { method: "POST", body: "x".repeat(4096) });
  await big.body?.cancel();
  assert.equal(big.status, 413);
  await daemon.stop();
  await Deno.remove(dir, { recursive: true });
});
