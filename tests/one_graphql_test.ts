/**
 * One GraphQL schema at `/graphql` on the shipped examples: redis-streamer's
 * clients (queries, mutations and the `streams` subscription, sent as the
 * original's client sends them: POST `{query, variables}` with an operation
 * name, subscriptions over graphql-transport-ws) and telebus's own queries
 * (`telebusStreams`, the renamed field) answer at the same URL, with the
 * limits and the access rules of the endpoint; `/streamer/graphql` is an alias.
 */
import assert from "node:assert/strict";
import { createClient } from "npm:graphql-ws@^6.0.6";
import { DaemonProcess, freePort, Influxd, RedisServer, untilValue } from "../testing/mod.ts";
import { Daemon } from "../core/daemon.ts";
import { createLogger } from "../core/log.ts";
import { validateConfig } from "../config/load.ts";
import { transports } from "../transports/mod.ts";

const example = (name: string) => new URL(`../examples/${name}`, import.meta.url).pathname;

/** POSTs like the original's client: `{query, variables}` as JSON; answers the whole body. */
async function run(base: string, query: string, variables: Record<string, unknown> = {}, path = "/graphql") {
  const r = await fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query, variables }),
  });
  const body = await r.json();
  assert.equal(r.status, 200, JSON.stringify(body));
  return body;
}

async function postEntry(base: string, sid: string, data: unknown, deviceId?: string): Promise<string> {
  const form = new FormData();
  form.append("entries", new Blob([JSON.stringify(data)]), sid);
  const q = deviceId ? `?device_id=${deviceId}` : "";
  const r = await fetch(`${base}/data/${sid}${q}`, { method: "POST", body: form });
  assert.equal(r.status, 200);
  const ids = await r.json() as string[];
  return ids[0];
}

/** The original client's 19 checks against `base` (the store may hold other streams: telebus writes into it). */
async function originalClientChecks(base: string, t: Deno.TestContext): Promise<void> {
  const check = (name: string, fn: () => Promise<void>) => t.step(name, fn);
  await check("1 mutation Flush", async () => {
    assert.deepEqual(await run(base, "mutation Flush {\n  flush\n}"), { data: { flush: 1 } });
  });
  await check("2 query GetDevices: none connected", async () => {
    assert.deepEqual(await run(base, "query GetDevices {\n  devices {\n    id\n    streams { id }\n  }\n}"), {
      data: { devices: [] },
    });
  });
  const connect = 'mutation ConnectDevice {\n  connectDevice(deviceId: "asdf", meta: {x: 1})\n}';
  await check("3 mutation ConnectDevice: new device", async () => {
    assert.deepEqual((await run(base, connect)).data.connectDevice, {
      connection_status_changed: true,
      connected: true,
      is_new_device: true,
      meta_set: true,
      "fired:device.connected": true,
      "fired:device.meta": true,
    });
  });
  await check("4 mutation ConnectDevice again: status unchanged", async () => {
    const r = (await run(base, connect)).data.connectDevice;
    assert.equal(r.connection_status_changed, false);
    assert.equal(r.is_new_device, false);
  });
  await check("5 mutation SetMeta: updateStreamMeta with deviceId", async () => {
    assert.deepEqual(
      await run(
        base,
        'mutation SetMeta {\n  updateStreamMeta(streamId: "zzzz", meta: {x: 1, z: 3}, deviceId: "asdf")\n}',
      ),
      { data: { updateStreamMeta: { meta_set: true } } },
    );
  });
  await check("6 query GetDevices: meta of the device and its streams", async () => {
    assert.deepEqual(await run(base, "query GetDevices {\n  devices {\n    id meta\n    streams { id meta }\n  }\n}"), {
      data: { devices: [{ id: "asdf", meta: { x: 1 }, streams: [{ id: "zzzz", meta: { x: 1, z: 3 } }] }] },
    });
  });
  const first = await postEntry(base, "zxcv", { x: 2 }, "asdf");
  await postEntry(base, "zxcv", { x: 3 }, "asdf");
  await check("7 query GetEverythingDevices: the Stream fields", async () => {
    const r = await run(
      base,
      `query GetEverythingDevices {
  devices {
    streamIds id meta
    streams { id length entriesAdded error firstEntryData firstEntryJson firstEntryString groups lastEntryData
      lastEntryJson lastEntryString meta radixTreeKeys radixTreeNodes }
  }
}`,
    );
    const [dev] = r.data.devices;
    assert.deepEqual(dev.streamIds, ["zxcv", "zzzz"]);
    assert.deepEqual(dev.streams[0], {
      id: "zxcv",
      length: 2,
      entriesAdded: 2,
      error: "",
      firstEntryData: "eyJ4IjoyfQ==",
      firstEntryJson: { x: 2 },
      firstEntryString: '{"x":2}',
      groups: 0,
      lastEntryData: "eyJ4IjozfQ==",
      lastEntryJson: { x: 3 },
      lastEntryString: '{"x":3}',
      meta: {},
      radixTreeKeys: dev.streams[0].radixTreeKeys,
      radixTreeNodes: dev.streams[0].radixTreeNodes,
    });
    assert.equal(dev.streams[1].error, "no such key");
  });
  await check("8 query GetStreams: root streams lists raw keys", async () => {
    const ids = (await run(base, "query GetStreams {\n  streams { id length }\n}")).data.streams
      .map((s: { id: string }) => s.id);
    for (const k of [":event:device.connected", ":event:device.meta", "asdf:zxcv", "asdf:zzzz"]) {
      assert.ok(ids.includes(k), `${k} in ${ids}`);
    }
  });
  await check("9 query streams(ids: …) with variables", async () => {
    assert.deepEqual(
      await run(base, "query Streams($ids: [String!]) {\n  streams(ids: $ids) { id length lastEntryJson }\n}", {
        ids: ["asdf:zxcv"],
      }),
      { data: { streams: [{ id: "asdf:zxcv", length: 2, lastEntryJson: { x: 3 } }] } },
    );
  });
  await check("10 query streams(match: …)", async () => {
    assert.deepEqual((await run(base, '{ streams(match: "asdf:*") { id } }')).data.streams, [
      { id: "asdf:zxcv" },
      { id: "asdf:zzzz" },
    ]);
  });
  await check("11 query streamIds(prefix, searchMeta)", async () => {
    assert.deepEqual((await run(base, '{ streamIds(prefix: "asdf:", searchMeta: true) }')).data.streamIds, [
      "zxcv",
      "zzzz",
    ]);
  });
  await check("12 query device(id) with stream(streamId)", async () => {
    assert.deepEqual(
      (await run(base, '{ device(id: "asdf") { id stream(streamId: "zxcv") { id firstEntryId lastEntryJson } } }'))
        .data.device,
      { id: "asdf", stream: { id: "zxcv", firstEntryId: first, lastEntryJson: { x: 3 } } },
    );
  });
  await check("13 query stream(id) with entry times", async () => {
    const s = (await run(base, '{ stream(id: "asdf:zxcv") { id length firstEntryTime(format: "ms") } }')).data.stream;
    assert.deepEqual(s, { id: "asdf:zxcv", length: 2, firstEntryTime: first.split("-")[0] });
  });
  await check("14 mutation updateDeviceMeta", async () => {
    assert.deepEqual(
      (await run(base, 'mutation { updateDeviceMeta(deviceId: "asdf", meta: {x: 5}) }')).data.updateDeviceMeta,
      { meta_set: true, "fired:device.meta": true },
    );
  });
  await check("15 mutation disconnectDevice, then devices(includeAll: true)", async () => {
    assert.deepEqual((await run(base, 'mutation { disconnectDevice(deviceId: "asdf") }')).data.disconnectDevice, {
      connection_status_changed: true,
      connected: false,
      "fired:device.connected": true,
    });
    assert.deepEqual((await run(base, "{ devices { id } all: devices(includeAll: true) { id meta } }")).data, {
      devices: [],
      all: [{ id: "asdf", meta: { x: 5 } }],
    });
  });
  const sockets = createClient({
    url: `${base.replace("http", "ws")}/graphql`,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
  });
  try {
    await check("16 subscription streams: one DataPayload per new entry", async () => {
      const sub = sockets.iterate<{ streams: Record<string, unknown> }>({
        query: `subscription Sub {
  streams(streamIds: ["zxcv"], device: "asdf", block: 200) {
    __typename ... on DataPayload { streamId time string json }
  }
}`,
      });
      // The `$` cursor is taken when the subscription starts: post until an entry arrives, with a deadline.
      const next = sub.next();
      let got: IteratorResult<{ data?: { streams: Record<string, unknown> } | null }> | undefined;
      void next.then((r) => got = r);
      const id = await untilValue("a DataPayload", async () => {
        if (got) return got;
        await postEntry(base, "zxcv", { live: 1 }, "asdf");
        return undefined;
      });
      const p = id.value?.data?.streams;
      assert.equal(p?.__typename, "DataPayload");
      assert.equal(p?.streamId, "zxcv");
      assert.deepEqual(p?.json, { live: 1 });
      await sub.return?.();
    });
    await check("17 subscription streams with a cursor and count: DataPayloads", async () => {
      const sub = sockets.iterate<{ streams: Record<string, unknown> }>({
        query: `subscription { streams(streamIds: {zxcv: "0"}, device: "asdf", count: 2) {
  __typename ... on DataPayloads { streamId time json } } }`,
      });
      const p = (await sub.next()).value?.data?.streams;
      assert.equal(p?.__typename, "DataPayloads");
      assert.deepEqual(p?.json, [{ x: 2 }, { x: 3 }]);
      await sub.return?.();
    });
  } finally {
    await sockets.dispose();
  }
  await check("18 mutation DeleteStream (aliases)", async () => {
    assert.deepEqual(
      (await run(
        base,
        'mutation DeleteStream {\n  zxcv: deleteStream(streamId: "zxcv", deviceId: "asdf")\n  zzzz: deleteStream(streamId: "zzzz", deviceId: "asdf")\n}',
      )).data,
      {
        zxcv: { data_deleted: true, meta_deleted: false, stream_deleted: true },
        zzzz: { data_deleted: false, meta_deleted: true, stream_deleted: true },
      },
    );
  });
  await check("19 query GetStreams of the device: none left", async () => {
    assert.deepEqual(
      (await run(base, "query GetStreams {\n  devices(includeAll: true) {\n    id\n    streams { id }\n  }\n}"))
        .data,
      { devices: [{ id: "asdf", streams: [] }] },
    );
  });
}

/** telebus's own schema in the same endpoint: its queries under their names, the renamed field, its subscription. */
async function telebusChecks(base: string, inputs: string[], stream: string): Promise<void> {
  const own = await untilValue("telebusStreams to list " + stream, async () => {
    const r = await run(base, "{ inputs { name } outputs { type } telebusStreams { stream count } }");
    return r.data.telebusStreams.some((s: { stream: string }) => s.stream === stream) ? r.data : undefined;
  });
  assert.deepEqual(own.inputs.map((i: { name: string }) => i.name).sort(), inputs);
  assert.ok(own.outputs.some((o: { type: string }) => o.type === "graphql"));
  const latest = await run(base, "query Latest($s: String!) { latest(stream: $s) { stream data } }", { s: stream });
  assert.equal(latest.data.latest.stream, stream);
  const client = createClient({
    url: `${base.replace("http", "ws")}/graphql`,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
  });
  try {
    const sub = client.iterate<{ records: { stream: string } }>({
      query: `subscription { records(streams: [${JSON.stringify(stream)}]) { stream } }`,
    });
    assert.equal((await sub.next()).value?.data?.records.stream, stream);
    await sub.return?.();
  } finally {
    await client.dispose();
  }
}

Deno.test("examples/live.toml: the original redis-streamer client's 19 checks and telebus's queries at /graphql", async (t) => {
  const dir = await Deno.makeTempDir();
  const d = await DaemonProcess.start(example("live.toml"), {
    TELEBUS_HTTP: "127.0.0.1:0",
    TELEBUS_DATA: dir,
    TELEBUS_SERVE_PORT: String(freePort()),
  });
  try {
    await originalClientChecks(d.url, t);
    await t.step(
      "telebus's own queries and subscription at their names",
      () => telebusChecks(d.url, ["robot", "streamer"], "robot/arm"),
    );
    await t.step("one schema: the old path is an alias, GraphiQL, limits and access rules apply", async () => {
      const alias = await run(
        d.url,
        '{ streamIds(match: "none*") telebusStreams(match: "none") { stream } }',
        {},
        "/streamer/graphql",
      );
      assert.deepEqual(alias, { data: { streamIds: [], telebusStreams: [] } });
      const page = await fetch(`${d.url}/graphql`, { headers: { accept: "text/html" } });
      assert.match(await page.text(), /graphiql/i);
      // More aliases than the limit (100): refused before execution, on the merged endpoint.
      const many = Array.from({ length: 101 }, (_, i) => `a${i}: streamIds`).join(" ");
      const refused = await fetch(`${d.url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query: `{ ${many} }` }),
      });
      assert.equal(refused.status, 400);
      assert.match((await refused.json()).errors[0].message, /alias/i);
      // Counted once, on the graphql output (the streamer's table joined the endpoint first).
      assert.equal(await d.metric('telebus_output_refused_too_many_aliases_total{output="graphql"'), 1);
      const plain = await fetch(`${d.url}/graphql`, {
        method: "POST",
        headers: { "content-type": "text/plain" },
        body: JSON.stringify({ query: "mutation { flush }" }),
      });
      assert.equal(plain.status, 415);
      await plain.body?.cancel();
      const viaGet = await fetch(`${d.url}/graphql?query=${encodeURIComponent("mutation { flush }")}`);
      assert.equal(viaGet.status, 405);
      await viaGet.body?.cancel();
    });
  } finally {
    assert.equal(await d.stop(), 0);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("examples/redis_influx.toml: the original's queries and telebus's at /graphql, on Redis", async () => {
  const redis = await RedisServer.start();
  const influx = await Influxd.start();
  const dir = await Deno.makeTempDir();
  const d = await DaemonProcess.start(example("redis_influx.toml"), {
    REDIS_URL: redis.url,
    INFLUX_URL: influx.url,
    TELEBUS_HTTP: "127.0.0.1:0",
    TELEBUS_DATA: dir,
  });
  try {
    // The original's query, with its argument names, sees telebus's data in Redis.
    const streams = await untilValue("robot1:imu in streams(ids: …)", async () => {
      const r = await run(d.url, "query S($ids: [String!]) { streams(ids: $ids) { id length } }", {
        ids: ["robot1:imu"],
      });
      return r.data.streams[0].length > 0 ? r.data.streams : undefined;
    });
    assert.equal(streams[0].id, "robot1:imu");
    assert.deepEqual(
      (await run(d.url, 'mutation { updateStreamMeta(streamId: "imu", deviceId: "robot1", meta: {unit: "g"}) }')).data,
      { updateStreamMeta: { meta_set: true } },
    );
    assert.deepEqual((await run(d.url, '{ device(id: "robot1") { stream(streamId: "imu") { meta } } }')).data, {
      device: { stream: { meta: { unit: "g" } } },
    });
    await telebusChecks(d.url, ["robot", "streamer"], "imu");
  } finally {
    assert.equal(await d.stop(), 0);
    await influx.stop();
    await redis.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("every shipped example with GraphQL serves one schema with both root field sets at /graphql", async () => {
  const withGraphql: string[] = [];
  for await (const e of Deno.readDir(new URL("../examples/", import.meta.url))) {
    if (!e.name.endsWith(".toml")) continue;
    const text = await Deno.readTextFile(example(e.name));
    if (/^\[\[outputs\.graphql\]\]|^graphql\s*=\s*true/m.test(text)) withGraphql.push(e.name);
  }
  // live.toml and redis_influx.toml run above as shipped; here each example that mentions GraphQL has both parts.
  assert.deepEqual(withGraphql.sort(), ["live.toml", "redis_influx.toml"]);
  for (const name of withGraphql) {
    const text = await Deno.readTextFile(example(name));
    assert.match(text, /^\[\[outputs\.graphql\]\]/m, `${name} serves telebus's schema`);
    assert.match(text, /^graphql\s*=\s*true/m, `${name} serves redis-streamer's schema`);
    assert.doesNotMatch(text, /graphql_path/, `${name} keeps the streamer's schema at /graphql`);
  }
});

Deno.test("reload: the graphql output changed, then the streamer's table: /graphql keeps serving the merged schema", async () => {
  const dir = await Deno.makeTempDir();
  const config = (depth: number, maxlen: number) => ({
    daemon: { http: "127.0.0.1:0", data_dir: dir, dashboard: false },
    inputs: {},
    outputs: { graphql: [{ name: "gql", max_depth: depth }], streamer: [{ name: "store", graphql: true, maxlen }] },
  });
  const plan = async (depth: number, maxlen: number) =>
    await validateConfig(config(depth, maxlen), { registry: transports });
  const daemon = new Daemon(await plan(10, 1000), createLogger("test", { level: "error", write() {} }));
  await daemon.start();
  const base = `http://${daemon.http.addr!.hostname}:${daemon.http.addr!.port}`;
  const both = "{ outputs { name } streamIds }";
  try {
    assert.deepEqual((await run(base, both)).data.streamIds, []);
    let r = await daemon.reload(await plan(9, 1000));
    assert.equal(r.result, "ok", r.error);
    assert.deepEqual(r.changed, ["output.gql"]);
    assert.deepEqual((await run(base, both)).data.outputs.map((o: { name: string }) => o.name).sort(), [
      "gql",
      "store",
    ]);
    r = await daemon.reload(await plan(9, 500));
    assert.equal(r.result, "ok", r.error);
    assert.deepEqual(r.changed, ["output.store"]);
    assert.deepEqual((await run(base, both)).data.streamIds, []);
    assert.deepEqual((await run(base, both, {}, "/streamer/graphql")).data.streamIds, []);
  } finally {
    await daemon.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
