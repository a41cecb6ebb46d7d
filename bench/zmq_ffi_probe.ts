/**
 * Would a `Deno.dlopen` binding to Debian's libzmq5 beat zeromq.js? Receive
 * and send of 1 KiB two-frame messages, both ways in one run, alternating:
 *
 * - receive: a pyzmq PUSH sender (m_generate's loop) runs throughout; each
 *   receiver connects, takes N messages and reports messages per second from
 *   its first to its N-th. zeromq.js: `receive()` while readable (as
 *   net/zmq.ts does). FFI: `zmq_msg_recv` with ZMQ_DONTWAIT in a
 *   loop, frames copied out (as a real receiver must), and a `zmq_poll` on a
 *   runtime thread (`nonblocking`) only when the socket is empty.
 * - send: a PUB socket that nobody subscribes to (the sender's own cost):
 *   zeromq.js `await send([header, body])` against two `zmq_send` calls.
 *
 *   deno run -A bench/zmq_ffi_probe.ts [--messages 200000] [--rounds 5]
 *
 * Bare loops of both libraries; bench/zmq_throughput.ts measures the daemon's `zmq` input and output on each.
 *
 * @module
 */
import { parseArgs } from "node:util";
import * as zmq from "npm:zeromq@^6.5.0";
import { receiveMessage } from "../net/zmq.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { messages: { type: "string", default: "200000" }, rounds: { type: "string", default: "5" } },
});
const N = Number(values.messages);
const ROUNDS = Number(values.rounds);

const lib = Deno.dlopen("libzmq.so.5", {
  zmq_ctx_new: { parameters: [], result: "pointer" },
  zmq_ctx_term: { parameters: ["pointer"], result: "i32" },
  zmq_socket: { parameters: ["pointer", "i32"], result: "pointer" },
  zmq_close: { parameters: ["pointer"], result: "i32" },
  zmq_connect: { parameters: ["pointer", "buffer"], result: "i32" },
  zmq_bind: { parameters: ["pointer", "buffer"], result: "i32" },
  zmq_setsockopt: { parameters: ["pointer", "i32", "buffer", "usize"], result: "i32" },
  zmq_send: { parameters: ["pointer", "buffer", "usize", "i32"], result: "i32" },
  zmq_msg_init: { parameters: ["buffer"], result: "i32" },
  zmq_msg_recv: { parameters: ["buffer", "pointer", "i32"], result: "i32" },
  zmq_msg_data: { parameters: ["buffer"], result: "pointer" },
  zmq_msg_more: { parameters: ["buffer"], result: "i32" },
  zmq_msg_close: { parameters: ["buffer"], result: "i32" },
  zmq_errno: { parameters: [], result: "i32" },
  zmq_poll: { parameters: ["buffer", "i32", "i64"], result: "i32", nonblocking: true },
});
const Z = { PUB: 1, PULL: 7, SNDMORE: 2, DONTWAIT: 1, RCVHWM: 24, SNDHWM: 23, LINGER: 17, POLLIN: 1, EAGAIN: 11 };
const ctx = lib.symbols.zmq_ctx_new();
const cstr = (s: string) => new TextEncoder().encode(s + "\0");
const int = (v: number) => new Uint8Array(new Int32Array([v]).buffer);

async function ffiReceive(address: string, want: number): Promise<number> {
  const s = lib.symbols.zmq_socket(ctx, Z.PULL);
  lib.symbols.zmq_setsockopt(s, Z.RCVHWM, int(100), 4n);
  lib.symbols.zmq_setsockopt(s, Z.LINGER, int(0), 4n);
  if (lib.symbols.zmq_connect(s, cstr(address)) !== 0) throw new Error("connect");
  const msg = new Uint8Array(64); // zmq_msg_t
  // zmq_pollitem_t: void *socket; int fd; short events; short revents (24 bytes on 64-bit)
  const item = new Uint8Array(24);
  new BigUint64Array(item.buffer, 0, 1)[0] = BigInt(Deno.UnsafePointer.value(s));
  new DataView(item.buffer).setInt16(12, Z.POLLIN, true);
  let n = 0, bytes = 0, t0 = 0;
  let first = true;
  while (n < want) {
    lib.symbols.zmq_msg_init(msg);
    const size = lib.symbols.zmq_msg_recv(msg, s, Z.DONTWAIT);
    if (size < 0) {
      lib.symbols.zmq_msg_close(msg);
      if (lib.symbols.zmq_errno() !== Z.EAGAIN) throw new Error("recv");
      await lib.symbols.zmq_poll(item, 1, 100n);
      continue;
    }
    // Copy the frame out, as a receiver that keeps it must.
    const p = lib.symbols.zmq_msg_data(msg);
    const copy = size > 0 && p
      ? new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(p, size).slice(0))
      : new Uint8Array();
    bytes += copy.length;
    const more = lib.symbols.zmq_msg_more(msg);
    lib.symbols.zmq_msg_close(msg);
    if (!more) {
      if (first) t0 = performance.now(), first = false;
      n++;
    }
  }
  const rate = (n - 1) / ((performance.now() - t0) / 1000);
  lib.symbols.zmq_close(s);
  if (bytes < want * 1024) throw new Error("lost bytes");
  return rate;
}

async function jsReceive(address: string, want: number): Promise<number> {
  const sock = new zmq.Pull({ receiveHighWaterMark: 100, linger: 0 });
  sock.connect(address);
  let n = 0, bytes = 0, t0 = 0;
  while (n < want) {
    const m = await receiveMessage(sock);
    if (!m) break;
    if (n === 0) t0 = performance.now();
    n++;
    for (const f of m) bytes += f.length;
  }
  const rate = (n - 1) / ((performance.now() - t0) / 1000);
  sock.close();
  return rate;
}

const header = (k: number) =>
  new TextEncoder().encode(`{"htype": "raw-1.0", "type": "int32", "shape": [1, 256.0], "frame": ${k}}`);
const body = new Uint8Array(1024);

function ffiSend(count: number): number {
  const s = lib.symbols.zmq_socket(ctx, Z.PUB);
  lib.symbols.zmq_setsockopt(s, Z.SNDHWM, int(100), 4n);
  lib.symbols.zmq_setsockopt(s, Z.LINGER, int(0), 4n);
  lib.symbols.zmq_bind(s, cstr("tcp://127.0.0.1:*"));
  const t0 = performance.now();
  for (let k = 0; k < count; k++) {
    const h = header(k);
    lib.symbols.zmq_send(s, h, BigInt(h.length), Z.SNDMORE);
    lib.symbols.zmq_send(s, body, BigInt(body.length), 0);
  }
  const rate = count / ((performance.now() - t0) / 1000);
  lib.symbols.zmq_close(s);
  return rate;
}

async function jsSend(count: number): Promise<number> {
  const sock = new zmq.Publisher({ sendHighWaterMark: 100, linger: 0 });
  await sock.bind("tcp://127.0.0.1:*");
  const t0 = performance.now();
  for (let k = 0; k < count; k++) await sock.send([header(k), body]);
  const rate = count / ((performance.now() - t0) / 1000);
  sock.close();
  return rate;
}

const SENDER = `
import zmq
ctx = zmq.Context()
s = ctx.socket(zmq.PUSH)
s.setsockopt(zmq.SNDHWM, 100)
port = s.bind_to_random_port("tcp://127.0.0.1")
print(port, flush=True)
zeros = bytes(1024)
k = 0
while True:
    s.send_json({"htype": "raw-1.0", "type": "int32", "shape": [1, 256.0], "frame": k}, flags=zmq.SNDMORE)
    s.send(zeros)
    k += 1
`;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const file = await Deno.makeTempFile({ suffix: ".py" });
await Deno.writeTextFile(file, SENDER);
const sender = new Deno.Command("/usr/bin/python3", { args: [file], stdout: "piped" }).spawn();
const reader = sender.stdout.getReader();
const address = `tcp://127.0.0.1:${new TextDecoder().decode((await reader.read()).value).trim()}`;
const rx = { ffi: [] as number[], js: [] as number[] };
const tx = { ffi: [] as number[], js: [] as number[] };
try {
  for (let r = 0; r < ROUNDS; r++) {
    if (r % 2) {
      rx.ffi.push(await ffiReceive(address, N));
      rx.js.push(await jsReceive(address, N));
    } else {
      rx.js.push(await jsReceive(address, N));
      rx.ffi.push(await ffiReceive(address, N));
    }
    tx.js.push(await jsSend(N));
    tx.ffi.push(ffiSend(N));
  }
} finally {
  sender.kill("SIGKILL");
  await reader.cancel();
  await sender.status;
  await Deno.remove(file);
}
const f = (x: number) => Math.round(x).toLocaleString("en");
console.log(
  `receive 1 KiB from a pyzmq PUSH: zeromq.js ${f(median(rx.js))} msgs/s, FFI libzmq ${f(median(rx.ffi))} msgs/s ` +
    `(${(median(rx.ffi) / median(rx.js)).toFixed(2)}×)`,
);
console.log(
  `send 1 KiB on PUB: zeromq.js ${f(median(tx.js))} msgs/s, FFI libzmq ${f(median(tx.ffi))} msgs/s ` +
    `(${(median(tx.ffi) / median(tx.js)).toFixed(2)}×), median of ${ROUNDS}`,
);
lib.symbols.zmq_ctx_term(ctx);
lib.close();
