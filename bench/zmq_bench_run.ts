/**
 * The measured end of bench/zmq_throughput.ts, in a process of its own:
 *
 * - `in daemon`: a daemon with the real `zmq` input (connected to the peer's
 *   PUSH) → bus → an output that only counts; prints `{"msgs", "ms"}` from the
 *   first batch the output gets to the `COUNT`-th record.
 * - `in bare`: a bare zeromq.js PULL loop (`receive()` while readable, as
 *   net/zmq.ts does), counting bytes; timed from the first message to the last.
 * - `out daemon`: an input that emits `COUNT` prebuilt records in batches of
 *   256 (waiting when the bus pushes back) → bus → the real `zmq` output,
 *   connected to the peer's PULL, which measures.
 * - `out bare`: a bare zeromq.js PUSH loop (send when writable).
 *
 * `--binding ffi|zeromq.js` picks the daemon's binding (net/zmq_socket.ts); `BENCH_LOG=debug` shows its log.
 *
 *   deno run -A bench/zmq_bench_run.ts in|out daemon|bare CASE COUNT ENDPOINT [--binding B]
 *
 * @module
 */
import { parseArgs } from "node:util";
import * as zmq from "npm:zeromq@^6.5.0";
import * as v from "npm:valibot@^1.1.0";
import { startDaemon } from "../start.ts";
import { inputCommon, outputCommon, table } from "../config/schema.ts";
import { createLogger } from "../core/log.ts";
import type { TransportDefinition } from "../core/transport.ts";
import type { BusRecord } from "../core/record.ts";
import { receiveMessage, sendMessage } from "../net/zmq.ts";
import { useZmqBinding, type ZmqBinding } from "../net/zmq_socket.ts";
import { type BenchCase, benchCase, messageBytes, TELEMETRY } from "./zmq_bench_cases.ts";

const { values, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: { binding: { type: "string", default: "ffi" } },
});
const [direction, what, name, countArg, endpoint] = positionals;
const c = benchCase(name);
const count = Number(countArg);
const print = (v: unknown) => console.log(JSON.stringify(v));

/** Blocks forever (the orchestrator ends this process once the peer has counted everything). */
const forever = () => new Promise<never>(() => setInterval(() => {}, 1 << 30));

function records(bc: BenchCase, n: number): BusRecord[] {
  const out: BusRecord[] = [];
  for (let i = 0; i < n; i++) {
    const r: BusRecord = { stream: "bench", time: 0n, data: {}, source: "gen", size: messageBytes(bc) };
    if (bc.format === "raw") r.data = { frames: bc.frames };
    else if (bc.format === "mflow") r.meta = { frames: bc.frames };
    else r.data = { ...TELEMETRY, seq: i };
    out.push(r);
  }
  return out;
}

async function daemon(): Promise<void> {
  useZmqBinding(values.binding as ZmqBinding);
  let counted = 0, t0 = 0, first = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => done = r);
  const nullTransport: TransportDefinition = {
    type: "null",
    description: "counts records",
    output: {
      schema: table(v.strictObject(outputCommon)),
      permissions: () => {},
      create: () => ({
        write(rs) {
          if (counted === 0) t0 = performance.now(), first = rs.length;
          counted += rs.length;
          if (counted >= count) done();
          return Promise.resolve();
        },
        close: () => Promise.resolve(),
      }),
    },
  };
  const BATCH = 256;
  const batch = records(c, BATCH);
  const genTransport: TransportDefinition = {
    type: "benchgen",
    description: "prebuilt records",
    input: {
      schema: table(v.strictObject(inputCommon)),
      permissions: () => {},
      create: () => ({
        async run(ctx) {
          for (let sent = 0; sent < count && !ctx.signal.aborted; sent += BATCH) {
            const p = ctx.emit(batch.slice(0, Math.min(BATCH, count - sent)));
            if (p) await p;
          }
          print({ emitted: count });
          done();
        },
      }),
    },
  };
  const zmqTable = { name: "z", address: endpoint, format: c.format };
  const d = await startDaemon({
    config: {
      daemon: { http: "off", data_dir: await Deno.makeTempDir({ prefix: "telebus-bench-" }), dashboard: false },
      inputs: direction === "in" ? { zmq: [zmqTable] } : { benchgen: [{ name: "gen" }] },
      outputs: direction === "in" ? { null: [{ name: "null" }] } : { zmq: [{ ...zmqTable, conn_type: "connect" }] },
    },
  }, {
    transports: {
      null: () => Promise.resolve({ transport: nullTransport }),
      benchgen: () => Promise.resolve({ transport: genTransport }),
    },
    log: createLogger("bench", {
      level: (Deno.env.get("BENCH_LOG") ?? "warn") as "warn",
      write: (l) => console.error(l),
    }),
  });
  await finished;
  if (direction === "in") {
    print({ msgs: counted - first, ms: performance.now() - t0 });
    Deno.exit(0);
  }
  void d;
  await forever();
}

async function bareIn(): Promise<void> {
  const sock = new zmq.Pull({ receiveHighWaterMark: 100, linger: 0 });
  sock.connect(endpoint);
  let n = 0, bytes = 0, t0 = 0;
  while (n < count) {
    const m = await receiveMessage(sock);
    if (!m) break;
    if (n++ === 0) t0 = performance.now();
    for (const f of m) bytes += f.length;
    while (n < count && sock.readable) {
      for (const f of await sock.receive()) bytes += f.length;
      n++;
    }
  }
  const ms = performance.now() - t0;
  if (bytes !== count * messageBytes(c)) {
    throw new Error(`bare loop got ${bytes} B, expected ${count * messageBytes(c)}`);
  }
  print({ msgs: count - 1, ms });
  Deno.exit(0);
}

async function bareOut(): Promise<void> {
  const sock = new zmq.Push({ sendHighWaterMark: 100, linger: -1, sendTimeout: 0 });
  sock.connect(endpoint);
  for (let i = 0; i < count; i++) {
    if (!await sendMessage(sock, c.frames)) throw new Error("send failed");
  }
  print({ emitted: count });
  await forever();
}

if (what === "daemon") await daemon();
else if (direction === "in") await bareIn();
else await bareOut();
