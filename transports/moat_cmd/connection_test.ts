/** Links other than plain TCP: WebSocket (one message per frame), SerialPacker framing, a device path. */
import assert from "node:assert/strict";
import { Endpoint, type Request } from "../../protocol/moat_cmd/endpoint.ts";
import { encodeSerialFrame } from "../../protocol/moat_cmd/framing.ts";
import { encodeCbor } from "../../codecs/cbor.ts";
import { openLink, runConnection, runWebSocket } from "./connection.ts";

async function handler(req: Request): Promise<unknown> {
  if (req.cmd === "count") {
    const st = req.streamW();
    for (let i = 0; i < (req.args[0] as number); i++) await st.send(i);
    return "done";
  }
  return ["echo", ...req.args];
}

Deno.test("websocket: one message per binary frame; text and multi-message frames are dropped and reported", async () => {
  const issues: string[] = [];
  const serverRuns: Promise<void>[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const { socket, response } = Deno.upgradeWebSocket(req);
    serverRuns.push(runWebSocket(socket, new Endpoint({ handler }), { onIssue: (k) => issues.push(k) }));
    return response;
  });
  const link = await openLink(`ws://127.0.0.1:${server.addr.port}/moat`);
  const ep = new Endpoint();
  const running = link.run(ep, {});
  try {
    assert.deepEqual(await ep.cmd("hi", [1]), [["echo", 1]]);
    const st = await ep.streamR("count", [50]);
    const got: unknown[] = [];
    for await (const [v] of st) got.push(v);
    assert.equal(got.length, 50);
    assert.deepEqual(st.final?.payload, ["done"]);
  } finally {
    ep.close();
    await running;
    await Promise.all(serverRuns);
    await server.shutdown();
  }
  // A second connection, raw: a text frame and a frame with two messages are dropped; the next works.
  const server2 = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const { socket, response } = Deno.upgradeWebSocket(req);
    serverRuns.push(runWebSocket(socket, new Endpoint({ handler }), { onIssue: (k) => issues.push(k) }));
    return response;
  });
  const ws = new WebSocket(`ws://127.0.0.1:${server2.addr.port}/`);
  ws.binaryType = "arraybuffer";
  await new Promise((r) => ws.addEventListener("open", r, { once: true }));
  const reply = new Promise<ArrayBuffer>((r) => ws.addEventListener("message", (e) => r(e.data), { once: true }));
  ws.send("text");
  ws.send(new Uint8Array([...encodeCbor([0, "a"]), ...encodeCbor([4, "b"])]));
  ws.send(encodeCbor([0, "ok"]));
  assert.deepEqual(new Uint8Array(await reply), encodeCbor([-4, ["echo"]]));
  assert.deepEqual(issues, ["garbage", "garbage"]);
  ws.close();
  await Promise.all(serverRuns);
  await server2.shutdown();
});

Deno.test("serial framing: SerialPacker frames both ways; console bytes surface; a bad CRC costs one message", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const issues: string[] = [];
  let consoleText = "";
  const serving = (async () => {
    const conn = await listener.accept();
    await runConnection(conn, new Endpoint({ handler }), {
      framing: "serial",
      onIssue: (k) => issues.push(k),
      onConsole: (b) => consoleText += new TextDecoder().decode(b),
    });
  })();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: (listener.addr as Deno.NetAddr).port });
  // Console text, a frame with a broken CRC, then the endpoint's own traffic.
  const broken = encodeSerialFrame(encodeCbor([0, "lost"]));
  broken[broken.length - 1] ^= 0xff;
  await conn.write(new Uint8Array([...new TextEncoder().encode("boot ok\n"), ...broken]));
  const ep = new Endpoint();
  const running = runConnection(conn, ep, { framing: "serial" });
  try {
    assert.deepEqual(await ep.cmd("hi", [2]), [["echo", 2]]);
    const st = await ep.streamR("count", [300]); // more than one frame's worth of messages in flight
    let n = 0;
    for await (const _ of st) n++;
    assert.equal(n, 300);
    assert.equal(consoleText, "boot ok\n");
    assert.deepEqual(issues, ["crc"]);
  } finally {
    ep.close();
    await running;
    await serving;
    listener.close();
  }
});

Deno.test({
  name: "device path: a FIFO opened read-write is a byte stream (an endpoint answers its own command)",
  ignore: Deno.build.os === "windows",
  async fn() {
    const dir = await Deno.makeTempDir();
    const fifo = `${dir}/tty`;
    const mk = await new Deno.Command("mkfifo", { args: [fifo] }).output();
    assert.equal(mk.code, 0);
    const link = await openLink(fifo);
    // What it writes comes back: its command [0, …] arrives as the peer's channel, and its own answer [-4, …]
    // as the reply to it.
    const ep = new Endpoint({ handler });
    const running = link.run(ep, {});
    try {
      assert.deepEqual(await ep.cmd("loop", ["back"]), [["echo", "back"]]);
    } finally {
      ep.close();
      await running;
      await Deno.remove(dir, { recursive: true });
    }
  },
});
