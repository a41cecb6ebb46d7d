/**
 * Foxglove WebSocket clients for bench/foxglove_throughput.ts, run as a
 * separate process so that they do not share the server's event loop: N
 * clients (subprotocol `foxglove.websocket.v1`) subscribe to every channel
 * advertised and count `messageData` frames (opcode 1) until each has
 * `expect` (the first, sent on subscribing, is not timed), then print one JSON line: `{"ms": …, "received": …}`. Like
 * bench/ws_clients.ts they do not decode the payloads, so the figure is the
 * server's; the tests decode with `@foxglove/ws-protocol`'s client.
 *
 *   deno run -A bench/foxglove_clients.ts URL N EXPECT [TIMEOUT_MS]
 *
 * @module
 */
import { SUBPROTOCOL } from "../transports/foxglove/protocol.ts";

const [url, n, expect, timeoutMs] = [
  Deno.args[0],
  Number(Deno.args[1]),
  Number(Deno.args[2]),
  Number(Deno.args[3] ?? 60000),
];
const now = () => performance.timeOrigin + performance.now();
let received = 0, first = 0, finished = 0;
const sockets: WebSocket[] = [];
const allDone = Promise.withResolvers<void>();
await Promise.all(Array.from({ length: n }, () =>
  new Promise<void>((resolve, reject) => {
    const ws = new WebSocket(url, [SUBPROTOCOL]);
    ws.binaryType = "arraybuffer";
    let count = 0, sub = 0;
    ws.onerror = (e) => reject(e);
    ws.onmessage = (ev) => {
      if (typeof ev.data === "string") {
        const m = JSON.parse(ev.data);
        if (m.op !== "advertise") return;
        const subscriptions = m.channels.map((c: { id: number }) => ({ id: sub++, channelId: c.id }));
        ws.send(JSON.stringify({ op: "subscribe", subscriptions }));
        resolve();
        return;
      }
      if (new Uint8Array(ev.data as ArrayBuffer, 0, 1)[0] !== 1) return; // a time message
      // The first is the newest record sent on subscribing, before the timed run.
      if (count > 0 && first === 0) first = now();
      if (count > 0) received++;
      if (++count === expect && ++finished === n) allDone.resolve();
    };
    sockets.push(ws);
  })));
console.log("ready");
const timer = setTimeout(() => allDone.resolve(), timeoutMs);
await allDone.promise;
clearTimeout(timer);
console.log(JSON.stringify({ ms: now() - first, received }));
for (const ws of sockets) ws.close();
Deno.exit(0);
