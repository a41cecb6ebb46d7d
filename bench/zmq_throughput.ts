/**
 * zmq input → bus → null output, beside a bare zeromq.js PULL loop in the
 * same run, for 1 KiB and 1 MiB `array-1.0` messages (uint8, so decoding
 * makes one typed-array view per message).
 *
 *   deno run -A bench/zmq_throughput.ts [--small 100000] [--large 2000] [--rounds 3]
 *
 * 1 KiB: the receiving end alone. A PUSH socket in a worker first sends every
 * message into the receiver's unbounded queue (both high-water marks 0) while
 * the receiver does not read; then the clock starts and the receiver drains
 * the queue. For the pipeline the daemon runs with the real `zmq` input
 * (mflow decoding, statistics, bus) and an output that only counts, whose
 * first write waits for the start signal (so the input stops reading once the
 * bus queue is full); the rate is computed over the messages the input took
 * from ZeroMQ after the start only. (`--small` × 1 KiB must fit in memory.)
 *
 * 1 MiB: streamed. The same sender (high-water marks 100) sends while the
 * receiver reads; timed from the first message to the last. Here the copying
 * of the bytes through ZeroMQ is the work, as in real use.
 *
 * The bare loop is what an application would write: `receive()` while the
 * socket is readable (see net/zmq.ts for why not a waiting
 * receive), sum the bytes, nothing else.
 *
 * @module
 */
import { parseArgs } from "node:util";
import * as zmq from "npm:zeromq@^6.5.0";
import { startDaemon } from "../start.ts";
import { createLogger } from "../core/log.ts";
import type { TransportDefinition } from "../core/transport.ts";
import { receiveMessage } from "../net/zmq.ts";
import * as v from "npm:valibot@^1.1.0";
import { table } from "../config/table.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    small: { type: "string", default: "100000" },
    large: { type: "string", default: "2000" },
    rounds: { type: "string", default: "3" },
  },
});
const ROUNDS = Number(values.rounds);

/** A worker that binds a PUSH socket and sends `count` messages of `size` bytes (+ header) when asked. */
const WORKER = `
import * as zmq from "npm:zeromq@^6.5.0";
self.onmessage = async (e) => {
  const { count, size, hwm } = e.data;
  const sock = new zmq.Push({ sendHighWaterMark: hwm, linger: -1 });
  await sock.bind("tcp://127.0.0.1:*");
  self.postMessage({ endpoint: sock.lastEndpoint });
  const header = new TextEncoder().encode(JSON.stringify({ htype: "array-1.0", type: "uint8", shape: [size] }));
  const body = new Uint8Array(size).fill(7);
  for (let i = 0; i < count; i++) {
    while (!sock.writable) await new Promise((r) => setTimeout(r, 1));
    try { await sock.send([header, body]); } catch { i--; }
  }
  self.postMessage({ done: true });
  await new Promise((r) => setTimeout(r, 100000));
};`;

/** Starts the sender; `done` resolves once it has handed every message to ZeroMQ. */
async function sender(
  count: number,
  size: number,
  hwm: number,
): Promise<{ endpoint: string; done: Promise<void>; worker: Worker }> {
  const url = URL.createObjectURL(new Blob([WORKER], { type: "application/javascript" }));
  const worker = new Worker(url, { type: "module" });
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => resolveDone = r);
  const endpoint = await new Promise<string>((resolve) => {
    worker.onmessage = (e) => {
      if (e.data.endpoint) resolve(e.data.endpoint);
      if (e.data.done) resolveDone();
    };
    worker.postMessage({ count, size, hwm });
  });
  return { endpoint, done, worker };
}

/** Lets the last bytes cross loopback into the receiver's queue after the sender finished. */
const SETTLE_MS = 500;

/** The bare loop: PULL, receive while readable, count. Returns [ms, messages timed]. */
async function bare(count: number, size: number, prefill: boolean): Promise<[number, number]> {
  const { endpoint, done, worker } = await sender(count, size, prefill ? 0 : 100);
  const sock = new zmq.Pull({ receiveHighWaterMark: prefill ? 0 : 100, linger: 0 });
  sock.connect(endpoint);
  if (prefill) {
    await done;
    await new Promise((r) => setTimeout(r, SETTLE_MS));
  }
  let t0 = performance.now();
  let n = 0, bytes = 0;
  while (n < count) {
    const m = await receiveMessage(sock);
    if (!m) break;
    if (n === 0 && !prefill) t0 = performance.now();
    for (const f of m) bytes += f.length;
    n++;
  }
  const t = performance.now() - t0;
  sock.close();
  worker.terminate();
  if (bytes < count * size) throw new Error("bare loop lost data");
  return [t, prefill ? count : count - 1];
}

/** An output that only counts; its first write waits for `gate`. */
let counted = 0;
let firstAt = 0;
let gate: Promise<void> = Promise.resolve();
const nullTransport: TransportDefinition = {
  type: "null",
  description: "counts records",
  output: {
    schema: table(v.looseObject({})) as never,
    permissions: () => {},
    create: () => ({
      async write(records) {
        await gate;
        if (counted === 0) firstAt = performance.now();
        counted += records.length;
      },
      close: () => Promise.resolve(),
    }),
  },
};

async function pipeline(count: number, size: number, prefill: boolean): Promise<[number, number]> {
  const { endpoint, done, worker } = await sender(count, size, prefill ? 0 : 100);
  counted = 0;
  let open!: () => void;
  gate = prefill ? new Promise((r) => open = r) : Promise.resolve();
  const daemon = await startDaemon({
    config: {
      daemon: { http: "off", data_dir: await Deno.makeTempDir({ prefix: "telebus-bench-" }), dashboard: false },
      inputs: { zmq: [{ name: "zin", address: endpoint, queue_size: prefill ? 0 : 100 }] },
      outputs: { null: [{ name: "null" }] },
    },
  }, {
    transports: { null: () => Promise.resolve({ transport: nullTransport }) },
    log: createLogger("bench", { level: "warn", write: (l) => console.error(l) }),
  });
  if (!prefill) {
    // Streaming: from the first record out to the last, as the bare loop times it.
    while (counted < count) await new Promise((r) => setTimeout(r, 1));
    const t = performance.now() - firstAt;
    await daemon.stop();
    await done;
    worker.terminate();
    return [t, count - 1];
  }
  await done;
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  const input = daemon.stats.find((s) => s.name === "zin")!;
  const before = input.records;
  const t0 = performance.now();
  open();
  while (counted < count) await new Promise((r) => setTimeout(r, 1));
  const t = performance.now() - t0;
  await daemon.stop();
  worker.terminate();
  return [t, count - before];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const SIZES = [
  ["1 KiB, queue prefilled", Number(values.small), 1024, true],
  ["1 MiB, streamed", Number(values.large), 1 << 20, false],
] as const;
for (const [label, count, size, prefill] of SIZES) {
  const b: number[] = [], p: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const [bt, bn] = await bare(count, size, prefill);
    b.push(bn / (bt / 1000));
    const [pt, pn] = await pipeline(count, size, prefill);
    p.push(pn / (pt / 1000));
  }
  const [br, pr] = [median(b), median(p)];
  const mb = (rate: number) => ((rate * size) / 1e6).toFixed(0);
  console.log(
    `${label} × ${count}: bare PULL loop ${Math.round(br).toLocaleString("en")} msgs/s ${mb(br)} MB/s; ` +
      `zmq input → bus → null ${Math.round(pr).toLocaleString("en")} msgs/s ${mb(pr)} MB/s = ` +
      `${(100 * pr / br).toFixed(0)} % of the bare loop (median of ${ROUNDS})`,
  );
}
