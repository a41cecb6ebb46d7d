/** examples/live.toml as shipped: every part of the live surface answers, on the embedded store, no other server. */
import assert from "node:assert/strict";
import { DaemonProcess, freePort, until } from "../testing/mod.ts";

Deno.test("examples/live.toml: dashboard, GraphQL, WebSocket, dataRT, streamer API and mpacklog serve", async () => {
  const dir = await Deno.makeTempDir();
  const servePort = freePort();
  const d = await DaemonProcess.start(new URL("../examples/live.toml", import.meta.url).pathname, {
    TELEBUS_HTTP: "127.0.0.1:0",
    TELEBUS_DATA: dir,
    TELEBUS_SERVE_PORT: String(servePort),
  });
  try {
    assert.equal((await d.get("/health")).status, 200);
    assert.match((await d.get("/")).text, /<title>telebus<\/title>/);
    const q = await fetch(`${d.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "{ inputs { name } }" }),
    });
    assert.deepEqual((await q.json()).data.inputs.map((i: { name: string }) => i.name).sort(), ["robot", "streamer"]);
    assert.equal(JSON.parse((await d.get("/status")).text).status, "up");
    // A generated record is readable through the streamer API (GET /data/{sid}).
    await until("a generated record in the streamer store", async () => {
      const got = await fetch(`${d.url}/data/robot/base?last_entry_id=0&latest=1`);
      await got.body?.cancel();
      assert.equal(got.status, 200);
      return JSON.parse(got.headers.get("x-offsets")!).length === 1;
    });
    // A WebSocket client gets records.
    const ws = new WebSocket(`${d.url.replace("http", "ws")}/ws/records?streams=robot/arm`);
    const frame = await new Promise<string>((
      resolve,
      reject,
    ) => (ws.onmessage = (e) => resolve(e.data), ws.onerror = reject));
    assert.equal(JSON.parse(frame).stream, "robot/arm");
    ws.close();
    // mpackview's request gets a MessagePack map.
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: servePort });
    await conn.write(new TextEncoder().encode("get"));
    const buf = new Uint8Array(4096);
    const n = await conn.read(buf);
    conn.close();
    assert.ok(n !== null && n > 100, `a reply of ${n} bytes`);
    assert.ok((buf[0] & 0xf0) === 0x80 || buf[0] === 0xde, "the reply is a MessagePack map");
  } finally {
    assert.equal(await d.stop(), 0);
    await Deno.remove(dir, { recursive: true });
  }
});
