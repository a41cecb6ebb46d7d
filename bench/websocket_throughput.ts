/**
 * WebSocket output: records/s delivered to 1, 10 and 100 clients through the
 * daemon (input → bus → `websocket` output), beside a bare `Deno.serve`
 * broadcast loop sending the same frames in the same run; then the latency
 * from input to client at 1 kHz with 10 clients. Clients run in a separate
 * process (bench/ws_clients.ts).
 *
 *   deno run -A bench/websocket_throughput.ts
 *
 * @module
 */
import { createLogger } from "../core/log.ts";
import { makeRecord, nowNs } from "../core/record.ts";
import { telemetry } from "./fixtures.ts";
import { toJson } from "../codecs/json.ts";
import { testDaemon } from "../testing/mod.ts";

const CLIENTS = new URL("./ws_clients.ts", import.meta.url).pathname;
const dicts = telemetry(1000);

/** Starts the client process and waits until its clients are connected. */
async function clients(url: string, n: number, expect: number) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLIENTS, url, String(n), String(expect)],
    stdout: "piped",
  })
    .spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("ready\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("client process ended early");
    text += value;
  }
  return {
    async result(): Promise<{ ms: number; received: number; latencies: number[] }> {
      for (;;) {
        const { value, done } = await reader.read();
        if (value) text += value;
        if (done) break;
      }
      await child.status;
      return JSON.parse(text.split("\n").filter((l) => l.startsWith("{")).pop()!);
    },
  };
}

/** The bare loop: a Deno.serve WebSocket server broadcasting pre-encoded frames. */
async function bare(n: number, frames: number): Promise<number> {
  const sockets: WebSocket[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const { socket, response } = Deno.upgradeWebSocket(req);
    socket.onopen = () => sockets.push(socket);
    return response;
  });
  const c = await clients(`ws://127.0.0.1:${server.addr.port}/`, n, frames);
  while (sockets.length < n) await new Promise((r) => setTimeout(r, 5));
  for (let i = 0; i < frames; i++) {
    // The same frame telebus sends, encoded once per record as telebus does (and as every real broadcaster must).
    const ns = nowNs();
    const t = `{"stream":"robot/telemetry","time":${Number(ns / 1000n) / 1e6},"time_ns":"${ns}","source":"bench",` +
      `"data":${toJson(dicts[i % dicts.length])}}`;
    for (const s of sockets) s.send(t);
    if (i % 1000 === 999) await new Promise((r) => setTimeout(r, 0));
  }
  const r = await c.result();
  await server.shutdown();
  return (r.received / r.ms) * 1000;
}

/** A daemon with a websocket output, and an input this benchmark drives. */
async function daemon() {
  const t = await testDaemon(
    {
      outputs: {
        websocket: [{ format: "json", max_buffered: "512MiB", slow_client: "drop_oldest", client_queue: 1_000_000 }],
      },
    },
    undefined,
    { log: createLogger("bench", { level: "warn", write: (l) => console.error(l) }) },
  );
  return { d: t.daemon, dir: t.dir, url: `ws://${t.url}/ws/records`, ctx: () => ({ emit: t.emitRecords }) };
}

async function throughput(n: number, frames: number): Promise<number> {
  const { d, dir, url, ctx } = await daemon();
  const c = await clients(url, n, frames);
  await new Promise((r) => setTimeout(r, 100));
  for (let i = 0; i < frames; i += 1000) {
    const batch = [];
    for (let k = 0; k < 1000 && i + k < frames; k++) {
      batch.push(makeRecord("robot/telemetry", nowNs(), dicts[k], "bench"));
    }
    const p = ctx().emit(batch);
    if (p) await p;
    await new Promise((r) => setTimeout(r, 0));
  }
  const r = await c.result();
  await d.stop();
  await Deno.remove(dir, { recursive: true });
  return (r.received / r.ms) * 1000;
}

async function latency(n: number, hz: number, seconds: number) {
  const { d, dir, url, ctx } = await daemon();
  const total = hz * seconds;
  const c = await clients(url, n, total);
  await new Promise((r) => setTimeout(r, 100));
  const start = performance.now();
  for (let i = 0; i < total; i++) {
    // Pace by the clock: sleep until the i-th record is due.
    const due = start + (i * 1000) / hz;
    const wait = due - performance.now();
    if (wait > 0.5) await new Promise((r) => setTimeout(r, wait));
    const sent = performance.timeOrigin + performance.now();
    ctx().emit([makeRecord("robot/telemetry", nowNs(), { ...dicts[i % 1000], sent }, "bench")]);
  }
  const r = await c.result();
  await d.stop();
  await Deno.remove(dir, { recursive: true });
  const sorted = r.latencies.sort((a, b) => a - b);
  const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
  return { p50: q(0.5), p99: q(0.99), samples: sorted.length };
}

const fmt = (x: number) => Math.round(x).toLocaleString("en").padStart(10);
console.log("records/s delivered (all clients together), JSON frames of 20-key records:");
for (const [n, frames] of [[1, 100_000], [10, 20_000], [100, 2_000]]) {
  const b = await bare(n, frames);
  const t = await throughput(n, frames);
  console.log(
    `${String(n).padStart(3)} clients: bare broadcast ${fmt(b)}  telebus ${fmt(t)}  = ${(100 * t / b).toFixed(0)} %`,
  );
}
const l = await latency(10, 1000, 5);
console.log(
  `latency input → client at 1 kHz, 10 clients: p50 ${l.p50.toFixed(2)} ms, p99 ${
    l.p99.toFixed(2)
  } ms (${l.samples} samples)`,
);
