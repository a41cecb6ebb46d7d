/**
 * The streamer API on Redis (`redis_url`) shares a Redis with the original
 * redis-streamer: keys written with plain node-redis in the original's layout
 * (spec 4.1) are readable through telebus's GET, pull and GraphQL, and what
 * telebus writes is laid out as the original writes it.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createClient, RESP_TYPES } from "npm:redis@^5.8.0";
import { RedisServer, testDaemon, until } from "../testing/mod.ts";
import { startDaemon } from "../start.ts";
import { createLogger } from "../core/log.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Resolves with the next `n` messages of a WebSocket (text as string, binary as text too). */
function messages(ws: WebSocket, n: number, ms = 3000): Promise<string[]> {
  const got: string[] = [];
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`only ${got.length} of ${n} messages in time`)), ms);
    ws.onmessage = (e) => {
      got.push(typeof e.data === "string" ? e.data : dec.decode(new Uint8Array(e.data)));
      if (got.length === n) {
        clearTimeout(t);
        resolve(got);
      }
    };
  });
}

async function open(url: string): Promise<WebSocket> {
  const ws = new WebSocket(url);
  ws.binaryType = "arraybuffer";
  await new Promise((r, j) => (ws.onopen = r, ws.onerror = j));
  return ws;
}

async function closeWs(ws: WebSocket): Promise<void> {
  const closed = new Promise((r) => ws.addEventListener("close", r));
  ws.close();
  await closed;
}

Deno.test("streamer on Redis: the original's keys are read by GET, pull and GraphQL; telebus writes its layout", async () => {
  const redis = await RedisServer.start(false);
  const plain = createClient({ url: redis.url });
  await plain.connect();
  const bin = plain.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
  const t = await testDaemon({
    inputs: { streamer: [{ name: "push", redis_url: redis.url, maxlen: 10 }] },
    outputs: { streamer: [{ name: "store", redis_url: redis.url, maxlen: 10, graphql: true }] },
  });
  try {
    // What the original server writes for device "robot": an entry with field d, meta strings, the device sets.
    const id1 = await plain.xAdd("robot:imu", "*", { d: Buffer.from('{"ax": 1}') }, {
      TRIM: { strategy: "MAXLEN", strategyModifier: "~", threshold: 1000 },
    });
    const id2 = await plain.xAdd("robot:imu", "*", { d: Buffer.from([0xff, 0x00, 0x41]) });
    await plain.set(":stream:meta:robot:imu", JSON.stringify({ unit: "g" }));
    await plain.sAdd(":devices:connected", "robot");
    await plain.sAdd(":devices:seen", "robot");
    await plain.set(":devices:meta:robot", JSON.stringify({ name: "r1" }));

    const get = await fetch(`http://${t.url}/data/imu?device_id=robot&last_entry_id=0&count=5`);
    assert.equal(get.status, 200);
    assert.deepEqual(JSON.parse(get.headers.get("x-offsets")!), [["imu", id1, 9], ["imu", id2, 12]]);
    assert.equal(get.headers.get("x-last-entry-id"), id2);
    assert.deepEqual(
      new Uint8Array(await get.arrayBuffer()),
      new Uint8Array([...enc.encode('{"ax": 1}'), 0xff, 0, 0x41]),
    );

    const pull = await open(`ws://${t.url}/data/imu/pull?device_id=robot&last_entry_id=${id2}`);
    const frame = messages(pull, 2);
    // The pull blocks on Redis (XREAD BLOCK on its own connection) until the original's writer adds an entry:
    // Redis lists that connection as blocked (flag b) in an xread.
    await until("the pull blocked in XREAD", async () => {
      const clients = String(await plain.sendCommand(["CLIENT", "LIST"]));
      return clients.split("\n").some((l) => /\bflags=\S*b/.test(l) && /\bcmd=xread\b/.test(l));
    });
    const id3 = await plain.xAdd("robot:imu", "*", { d: Buffer.from("new") });
    const [header, body] = await frame;
    assert.deepEqual(JSON.parse(header), [["imu", id3, 3]]);
    assert.equal(body, "new");
    await closeWs(pull);

    const gql = async (query: string) => {
      const r = await fetch(`http://${t.url}/streamer/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query }),
      });
      const b = await r.json();
      assert.equal(b.errors, undefined, JSON.stringify(b.errors));
      return b.data;
    };
    assert.deepEqual(
      await gql(`{ devices { id meta streams { id length firstEntryJson lastEntryString meta entriesAdded } } }`),
      {
        devices: [{
          id: "robot",
          meta: { name: "r1" },
          streams: [{
            id: "imu",
            length: 3,
            firstEntryJson: { ax: 1 },
            lastEntryString: "new",
            meta: { unit: "g" },
            entriesAdded: 3,
          }],
        }],
      },
    );

    // What telebus writes is what the original would have written.
    const form = new FormData();
    form.append("entries", new Blob([enc.encode("p1")]), "e");
    const posted = await (await fetch(`http://${t.url}/data/cam`, { method: "POST", body: form })).json();
    const range = await bin.xRange("default:cam", "-", "+");
    assert.deepEqual(range.map((e) => [e.id.toString(), e.message.d.toString()]), [[posted[0], "p1"]]);
    await gql(`mutation { connectDevice(deviceId: "asdf", meta: {x: 1}) }`);
    await gql(`mutation { updateStreamMeta(streamId: "cam", meta: {fps: 30}) }`);
    assert.deepEqual((await plain.sMembers(":devices:connected")).sort(), ["asdf", "robot"]);
    assert.deepEqual((await plain.sMembers(":devices:seen")).sort(), ["asdf", "robot"]);
    assert.deepEqual(JSON.parse((await plain.get(":devices:meta:asdf"))!), { x: 1 });
    assert.deepEqual(JSON.parse((await plain.get(":stream:meta:default:cam"))!), { fps: 30 });
    const events = await plain.xRange(":event:device.connected", "-", "+");
    assert.deepEqual(events.map((e) => JSON.parse(e.message.d)), [{ device_id: "asdf", connected: true }]);

    // Pushes and posts trim approximately (MAXLEN ~ maxlen), as the original does.
    const many = new FormData();
    for (let i = 0; i < 300; i++) many.append("entries", new Blob([enc.encode(String(i))]), "e");
    assert.equal((await fetch(`http://${t.url}/data/bulk`, { method: "POST", body: many })).status, 200);
    const len = await plain.xLen("default:bulk");
    assert.ok(len >= 10 && len < 300, `trimmed to about maxlen: ${len}`);
  } finally {
    await t.close();
    await plain.close();
    await redis.close();
  }
});

Deno.test("streamer on Redis: the README's configuration serves the API and GraphQL on Redis", async () => {
  const readme = await Deno.readTextFile(new URL("../transports/streamer/README.md", import.meta.url));
  const section = readme.slice(readme.indexOf("## On Redis"));
  const toml = /```toml\n([\s\S]*?)```/.exec(section)![1];
  const redis = await RedisServer.start(false);
  const dir = await Deno.makeTempDir();
  const daemon = await startDaemon({
    toml: `[daemon]\nhttp = "127.0.0.1:0"\ndashboard = false\ndata_dir = ${JSON.stringify(dir)}\n\n` +
      toml.replaceAll("${REDIS_URL}", redis.url),
  }, { log: createLogger("test", { level: "error", write() {} }) });
  const plain = createClient({ url: redis.url });
  await plain.connect();
  try {
    const host = `127.0.0.1:${daemon.http.addr!.port}`;
    const form = new FormData();
    form.append("entries", new Blob([enc.encode("ok")]), "e");
    assert.equal((await fetch(`http://${host}/data/readme`, { method: "POST", body: form })).status, 200);
    assert.equal(await plain.xLen("default:readme"), 1, "the entry is in Redis");
    const r = await fetch(`http://${host}/streamer/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: `{ device { streams { id lastEntryString } } }` }),
    });
    assert.deepEqual(await r.json(), { data: { device: { streams: [{ id: "readme", lastEntryString: "ok" }] } } });
  } finally {
    await daemon.stop();
    await plain.close();
    await redis.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("streamer on Redis: an unreachable Redis gives clear errors, the daemon keeps serving and stops", async () => {
  const port = (() => {
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const p = (l.addr as Deno.NetAddr).port;
    l.close();
    return p;
  })();
  const t = await testDaemon({
    outputs: { streamer: [{ redis_url: `redis://127.0.0.1:${port}`, graphql: true }] },
  });
  try {
    const r = await fetch(`http://${t.url}/streamer/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "{ streamIds }" }),
    });
    const body = await r.json();
    assert.match(body.errors[0].message, /not reachable/);
    const health = await fetch(`http://${t.url}/health`);
    assert.equal(health.status, 200);
    await health.body?.cancel();
  } finally {
    await t.close();
  }
});
