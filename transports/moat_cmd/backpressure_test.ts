/**
 * A peer that ignores flow credits (as moat-lib-cmd 0.4.11 does) streams into a slow consumer over TCP: every
 * item arrives, and the connection holds at most one reader queue of items — the rest waits in the peer,
 * held up by TCP, because telebus stops reading.
 */
import assert from "node:assert/strict";
import { Endpoint } from "../../protocol/moat_cmd/endpoint.ts";
import { encodeCbor } from "../../codecs/cbor.ts";
import { openLink } from "./connection.ts";
import { nextMacrotask } from "../../testing/mod.ts";

const ITEMS = 10_000;
const PAD = "x".repeat(2048); // 20 MB in all: more than loopback's socket buffers hold

/** A MoaT peer that answers any stream opener with a credit, a start and ITEMS items, never waiting. */
async function floodingPeer(listener: Deno.Listener, progress: { written: number }): Promise<void> {
  const conn = await listener.accept();
  const buf = new Uint8Array(4096);
  await conn.read(buf); // the opener (and maybe the credit)
  const draining = (async () => {
    try {
      while (await conn.read(buf) !== null) { /* credits: ignored, as 0.4.11 does */ }
    } catch { /* closed */ }
  })();
  try {
    await conn.write(encodeCbor([-1, 5])); // 0.4.11's own credit (flag 7 on an odd id)
    await conn.write(encodeCbor([-3, "start", ITEMS]));
    for (let i = 0; i < ITEMS; i += 100) {
      const parts = [];
      for (let j = i; j < i + 100; j++) parts.push(encodeCbor([-3, j, PAD]));
      const chunk = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let o = 0;
      for (const p of parts) chunk.set(p, (o += p.length) - p.length);
      for (let off = 0; off < chunk.length;) off += await conn.write(chunk.subarray(off));
      progress.written = i + 100;
    }
    await conn.write(encodeCbor([-4, null]));
  } finally {
    await draining;
    conn.close();
  }
}

Deno.test("back-pressure: 10,000 items from a peer ignoring credits reach a slow consumer, memory bounded", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const progress = { written: 0 };
  const peer = floodingPeer(listener, progress);
  const issues: string[] = [];
  const ep = new Endpoint({ onIssue: (k, d) => issues.push(`${k}: ${d}`) });
  // Watch every message the connection feeds in: the items held must never exceed the reader's queue.
  let peak = 0;
  const msgIn = ep.msgIn.bind(ep);
  ep.msgIn = (m: unknown) => {
    msgIn(m);
    peak = Math.max(peak, ep.queued);
  };
  const link = await openLink(`127.0.0.1:${(listener.addr as Deno.NetAddr).port}`);
  const running = link.run(ep, { onIssue: (k, d) => issues.push(`${k}: ${d}`) });
  let heldBack = false;
  try {
    const st = await ep.streamR("count", [ITEMS]);
    let next = 0;
    for await (const [i, pad] of st) {
      assert.equal(i, next++);
      assert.equal(pad, PAD);
      if (next % 50 === 0) await nextMacrotask(); // the slow consumer
      // Halfway through the first quarter, the peer cannot have written everything: TCP holds it back.
      if (next === 1000) heldBack = progress.written < ITEMS;
    }
    assert.equal(next, ITEMS, "every item arrived");
    assert.deepEqual(st.final?.payload, [null]);
  } finally {
    ep.close();
    await running;
    await peer;
    listener.close();
  }
  assert.deepEqual(issues, []);
  assert.equal(ep.dropped, 0);
  assert.ok(peak <= 42, `the connection held at most one queue (42) of items, saw ${peak}`);
  assert.ok(heldBack, "the peer was held up by TCP while the consumer was slow");
});

function floodingWsServer(n: number): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const { socket, response } = Deno.upgradeWebSocket(req);
    socket.binaryType = "arraybuffer";
    // Like 0.4.11: answer the opener with everything at once, credits or not.
    socket.addEventListener("message", () => {
      if (socket.readyState !== WebSocket.OPEN) return;
      socket.send(encodeCbor([-3, "start", n]));
      for (let i = 0; i < n; i++) socket.send(encodeCbor([-3, i]));
      socket.send(encodeCbor([-4, null]));
    }, { once: true });
    return response;
  });
}

Deno.test("back-pressure: over a WebSocket, items beyond a full queue wait (bounded) instead of being dropped", async () => {
  const N = 1000;
  const server = floodingWsServer(N);
  const issues: string[] = [];
  const ep = new Endpoint({ onIssue: (k, d) => issues.push(`${k}: ${d}`) });
  let peak = 0;
  const msgIn = ep.msgIn.bind(ep);
  ep.msgIn = (m: unknown) => {
    msgIn(m);
    peak = Math.max(peak, ep.queued);
  };
  const link = await openLink(`ws://127.0.0.1:${server.addr.port}/moat`);
  const running = link.run(ep, { onIssue: (k, d) => issues.push(`${k}: ${d}`) });
  try {
    const st = await ep.streamR("count", [N]);
    const got: unknown[] = [];
    for await (const [i] of st) {
      got.push(i);
      if (got.length % 50 === 0) await nextMacrotask();
    }
    assert.deepEqual(got, [...Array(N).keys()]);
  } finally {
    ep.close();
    await running;
    await server.shutdown();
  }
  assert.deepEqual(issues, []);
  assert.ok(peak <= 42, `at most one queue (42) of items held by the endpoint, saw ${peak}`);
});

Deno.test("back-pressure: a WebSocket peer that runs 4096 messages past a stalled reader is disconnected, loudly", async () => {
  const server = floodingWsServer(6000);
  const issues: string[] = [];
  const ep = new Endpoint({ onIssue: (k, d) => issues.push(`${k}: ${d}`) });
  const link = await openLink(`ws://127.0.0.1:${server.addr.port}/moat`);
  const running = link.run(ep, { onIssue: (k, d) => issues.push(`${k}: ${d}`) });
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const st = await ep.streamR("count", [6000]); // and never read
    await Promise.race([
      running,
      new Promise((_, rej) => timer = setTimeout(() => rej(new Error("the connection was not closed")), 10_000)),
    ]);
    assert.ok(issues.some((i) => /^queue_overflow: peer ignores flow control/.test(i)), issues.join("\n"));
    assert.ok(st.signal.aborted, "the stream failed (it did not silently lose items)");
  } finally {
    clearTimeout(timer);
    ep.close();
    await running;
    await server.shutdown();
  }
});
