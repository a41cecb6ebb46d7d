/**
 * Foxglove output: records/s delivered to 1 and 10 clients through the daemon
 * (input → bus → `foxglove` output, `@foxglove/ws-protocol` clients), beside
 * the `websocket` output (JSON frames) in the same run. Clients run in
 * separate processes (bench/foxglove_clients.ts, bench/ws_clients.ts). Both
 * outputs get a socket bound large enough that nothing is dropped, so the
 * figures are delivery rates, not drop rates.
 *
 *   deno run -A bench/foxglove_throughput.ts
 *
 * @module
 */
import { createLogger } from "../core/log.ts";
import { makeRecord, nowNs } from "../core/record.ts";
import { telemetry } from "./fixtures.ts";
import { freePort, testDaemon } from "../testing/mod.ts";

const dicts = telemetry(1000);
const log = createLogger("bench", { level: "warn", write: (l) => console.error(l) });

/** Starts a client process and waits until its clients are connected (and subscribed). */
async function clients(script: string, url: string, n: number, expect: number) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(script, import.meta.url).pathname, url, String(n), String(expect)],
    stdout: "piped",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("ready\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("client process ended early");
    text += value;
  }
  return async (): Promise<{ ms: number; received: number }> => {
    for (;;) {
      const { value, done } = await reader.read();
      if (value) text += value;
      if (done) break;
    }
    await child.status;
    return JSON.parse(text.split("\n").filter((l) => l.startsWith("{")).pop()!);
  };
}

async function run(kind: "foxglove" | "websocket", n: number, frames: number): Promise<number> {
  const port = freePort();
  const outputs = kind === "foxglove"
    ? { foxglove: [{ listen: `127.0.0.1:${port}`, max_buffered: "512MiB" }] }
    : { websocket: [{ format: "json", max_buffered: "512MiB", slow_client: "drop_oldest", client_queue: 1_000_000 }] };
  const t = await testDaemon({ outputs }, undefined, { log });
  // One record first, so that the foxglove channel exists when the clients subscribe (they get it: one more).
  await t.emit("robot/telemetry", dicts[0], nowNs());
  const url = kind === "foxglove" ? `ws://127.0.0.1:${port}/` : `ws://${t.url}/ws/records`;
  const extra = kind === "foxglove" ? 1 : 0;
  const result = await clients(
    kind === "foxglove" ? "./foxglove_clients.ts" : "./ws_clients.ts",
    url,
    n,
    frames + extra,
  );
  await new Promise((r) => setTimeout(r, 100));
  for (let i = 0; i < frames; i += 1000) {
    const batch = [];
    for (let k = 0; k < 1000 && i + k < frames; k++) {
      batch.push(makeRecord("robot/telemetry", nowNs(), dicts[k], "bench"));
    }
    const p = t.emitRecords(batch);
    if (p) await p;
    await new Promise((r) => setTimeout(r, 0));
  }
  const r = await result();
  await t.close();
  return (r.received / r.ms) * 1000;
}

const fmt = (x: number) => Math.round(x).toLocaleString("en").padStart(10);
console.log("records/s delivered (all clients together), 20-key records as JSON:");
for (const [n, frames] of [[1, 100_000], [10, 20_000]]) {
  const w = await run("websocket", n, frames);
  const f = await run("foxglove", n, frames);
  console.log(
    `${String(n).padStart(3)} clients: websocket ${fmt(w)}  foxglove ${fmt(f)}  = ${(100 * f / w).toFixed(0)} %`,
  );
}
