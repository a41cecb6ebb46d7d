/**
 * MoaT-Cmd over loopback TCP: request/reply round trips per second (one at a
 * time, and 5 in flight), and streamed items per second in each direction
 * with flow control (a reader queue of 42, as moat-lib-cmd).
 *
 *   deno run -A bench/moat_throughput.ts [--calls 20000] [--items 200000]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { Endpoint, type Request } from "../protocol/moat_cmd/endpoint.ts";
import { runConnection } from "../transports/moat_cmd/connection.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { calls: { type: "string", default: "20000" }, items: { type: "string", default: "200000" } },
});
const CALLS = Number(values.calls);
const ITEMS = Number(values.items);

async function handler(req: Request): Promise<unknown> {
  switch (req.cmd) {
    case "echo":
      return req.args[0];
    case "count": {
      const st = req.streamW();
      const n = req.args[0] as number;
      for (let i = 0; i < n; i++) await st.send(i, { x: i * 0.5, y: "item" });
      return n;
    }
    case "sink": {
      let n = 0;
      for await (const _ of req.streamR()) n++;
      return n;
    }
  }
  throw new Error("unknown");
}

const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
const ac = new AbortController();
const serving = (async () => {
  for await (const conn of listener) runConnection(conn, new Endpoint({ handler }), { signal: ac.signal });
})().catch(() => {});
const conn = await Deno.connect({ hostname: "127.0.0.1", port: (listener.addr as Deno.NetAddr).port });
const client = new Endpoint();
const running = runConnection(conn, client, { signal: ac.signal });

function report(what: string, n: number, ms: number) {
  console.log(`${what.padEnd(34)} ${Math.round(n / (ms / 1000)).toLocaleString("en-US").padStart(10)} /s`);
}

let t = performance.now();
for (let i = 0; i < CALLS; i++) await client.cmd("echo", [i]);
report("cmd round trips, 1 in flight", CALLS, performance.now() - t);

t = performance.now();
for (let i = 0; i < CALLS; i += 5) await Promise.all([0, 1, 2, 3, 4].map((k) => client.cmd("echo", [i + k])));
report("cmd round trips, 5 in flight", CALLS, performance.now() - t);

t = performance.now();
const st = await client.streamR("count", [ITEMS]);
let n = 0;
for await (const _ of st) n++;
if (n !== ITEMS) throw new Error(`got ${n} items`);
report("stream_r items (server → client)", ITEMS, performance.now() - t);

t = performance.now();
const w = await client.streamW("sink");
for (let i = 0; i < ITEMS; i++) await w.send(i, { x: i * 0.5, y: "item" });
w.end();
const [got] = await w.done();
if (got !== ITEMS) throw new Error(`sink got ${got}`);
report("stream_w items (client → server)", ITEMS, performance.now() - t);

ac.abort();
listener.close();
await running;
await serving;
