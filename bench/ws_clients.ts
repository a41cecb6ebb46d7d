/**
 * WebSocket clients for the WebSocket benchmarks, run as a separate process so
 * that they do not share the server's event loop. Opens N clients to a URL,
 * counts text frames until each has `expect`, and prints one JSON line:
 * `{"ms": …, "received": …, "latencies": [ms…]}` (latencies when frames carry
 * `"sent"`: milliseconds since the epoch with sub-ms precision).
 *
 *   deno run -A bench/ws_clients.ts URL N EXPECT [TIMEOUT_MS]
 *
 * @module
 */
const [url, n, expect, timeoutMs] = [
  Deno.args[0],
  Number(Deno.args[1]),
  Number(Deno.args[2]),
  Number(Deno.args[3] ?? 60000),
];
const now = () => performance.timeOrigin + performance.now();
const latencies: number[] = [];
let received = 0;
let first = 0;
let finished = 0;
const sockets: WebSocket[] = [];
const allDone = Promise.withResolvers<void>();
await Promise.all(Array.from({ length: n }, () =>
  new Promise<void>((resolve, reject) => {
    const ws = new WebSocket(url);
    let count = 0;
    ws.onopen = () => resolve();
    ws.onerror = (e) => reject(e);
    ws.onmessage = (ev) => {
      if (first === 0) first = now();
      received++;
      // Latency probes are small JSON frames with "sent"; parse only those.
      if (typeof ev.data === "string" && ev.data.includes('"sent"')) {
        const m = /"sent":\s*([0-9.]+)/.exec(ev.data);
        if (m) latencies.push(now() - Number(m[1]));
      }
      if (++count === expect && ++finished === n) allDone.resolve();
    };
    sockets.push(ws);
  })));
console.log("ready");
const timer = setTimeout(() => allDone.resolve(), timeoutMs);
await allDone.promise;
clearTimeout(timer);
console.log(JSON.stringify({ ms: now() - first, received, latencies }));
for (const ws of sockets) ws.close();
Deno.exit(0);
