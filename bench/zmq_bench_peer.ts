/**
 * The far end of bench/zmq_throughput.ts, in a process of its own: a bound
 * PUSH that sends `--count` messages of a case (for the input direction), or
 * a bound PULL that counts them (for the output direction) and prints
 * `{"msgs", "ms", "bytes"}` timed from the first message to the last. Both
 * through libzmq directly (net/zmq_ffi.ts), the fastest end there is here,
 * so that the measured side sets the pace. The first line on stdout is
 * `{"endpoint": …}`.
 *
 *   deno run -A bench/zmq_bench_peer.ts send|receive CASE COUNT
 *
 * @module
 */
import { openFfiSocket } from "../net/zmq_ffi.ts";
import { benchCase, messageBytes } from "./zmq_bench_cases.ts";

const [role, name, countArg] = Deno.args;
const c = benchCase(name);
const count = Number(countArg);
const sock = openFfiSocket({
  type: role === "send" ? "push" : "pull",
  connType: "bind",
  address: "tcp://127.0.0.1:*",
  queueSize: 1000,
  linger: -1,
}, true);
if (!sock) throw new Error("libzmq (libzmq5) cannot be loaded");
console.log(JSON.stringify({ endpoint: sock.lastEndpoint }));

if (role === "send") {
  for (let i = 0; i < count; i++) {
    while (!sock.trySend(c.frames)) await sock.wait("out");
  }
  // Queued messages go out only while the process lives: the orchestrator ends it once the receiver is done.
  console.log(JSON.stringify({ sent: count }));
  setInterval(() => {}, 1 << 30);
} else {
  let n = 0, bytes = 0, t0 = 0;
  while (n < count) {
    const got = sock.tryReceiveSizes();
    if (got === null) {
      await sock.wait("in");
      continue;
    }
    if (n++ === 0) t0 = performance.now();
    bytes += got.total;
  }
  const ms = performance.now() - t0;
  // The daemon's output encodes msgpack records itself (sizes vary with the sequence number): counted, not summed.
  if (c.format !== "msgpack" && bytes !== count * messageBytes(c)) {
    throw new Error(`received ${bytes} B, expected ${count * messageBytes(c)}`);
  }
  console.log(JSON.stringify({ msgs: count - 1, ms, bytes }));
  Deno.exit(0);
}
