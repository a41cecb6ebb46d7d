/**
 * The far end of bench/zmq_throughput.ts, in a process of its own: a bound
 * PUSH that sends `COUNT` messages of a case (for the input direction), or a
 * bound PULL that counts them (for the output direction) and prints
 * `{"msgs", "ms", "bytes"}` timed from the first message to the last. The
 * fastest end there is here, so that the measured side sets the pace: libzmq
 * through FFI (net/zmq_ffi.ts), except for sending messages of 32 KiB or
 * more, where zeromq.js is faster (`zmq_send` copies each frame; zeromq.js
 * hands large ones over). The first line on stdout is `{"endpoint": …}`.
 *
 *   deno run -A bench/zmq_bench_peer.ts send|receive CASE COUNT
 *
 * @module
 */
import * as zmq from "npm:zeromq@^6.5.0";
import { openFfiSocket } from "../net/zmq_ffi.ts";
import { sendMessage } from "../net/zmq.ts";
import { benchCase, messageBytes } from "./zmq_bench_cases.ts";

/** Messages at least this large are sent with zeromq.js. */
const LARGE = 32 << 10;

const [role, name, countArg] = Deno.args;
const c = benchCase(name);
const count = Number(countArg);
const print = (v: unknown) => console.log(JSON.stringify(v));
/** Queued messages go out only while the process lives: the orchestrator ends it once the receiver is done. */
const stay = () => setInterval(() => {}, 1 << 30);

if (role === "send" && messageBytes(c) >= LARGE) {
  const sock = new zmq.Push({ sendHighWaterMark: 1000, linger: -1, sendTimeout: 0 });
  await sock.bind("tcp://127.0.0.1:*");
  print({ endpoint: sock.lastEndpoint });
  for (let i = 0; i < count; i++) if (!await sendMessage(sock, c.frames)) throw new Error("send failed");
  print({ sent: count });
  stay();
} else {
  const sock = openFfiSocket({
    type: role === "send" ? "push" : "pull",
    connType: "bind",
    address: "tcp://127.0.0.1:*",
    queueSize: 1000,
    linger: -1,
  }, true);
  if (!sock) throw new Error("libzmq (libzmq5) cannot be loaded");
  print({ endpoint: sock.lastEndpoint });
  if (role === "send") {
    for (let i = 0; i < count; i++) {
      while (!sock.trySend(c.frames)) await sock.wait("out");
    }
    print({ sent: count });
    stay();
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
    print({ msgs: count - 1, ms, bytes });
    Deno.exit(0);
  }
}
