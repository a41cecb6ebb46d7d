/**
 * redis-streamer's GraphQL schema (spec 4.5) served by the `streamer`
 * transport, on the embedded store and on a real redis-server: the test
 * vector, the mutations' result shapes, the Stream fields, and the `streams`
 * subscription through graphql-ws's own client. It is merged with telebus's
 * own schema at `/graphql`; these tests reach it through the old path,
 * `/streamer/graphql`, which stays an alias.
 */
import assert from "node:assert/strict";
import { createClient } from "npm:graphql-ws@^6.0.6";
import { RedisServer, testDaemon, until } from "../testing/mod.ts";

const enc = new TextEncoder();

/** A daemon with a streamer input and an output serving GraphQL, plus telebus's own `[[outputs.graphql]]`. */
async function daemonWith(store: Record<string, unknown> = {}) {
  const t = await testDaemon({
    inputs: { streamer: [{ name: "push", ...store }] },
    outputs: { streamer: [{ name: "store", graphql: true, ...store }], graphql: [{}] },
  });
  const gql = async (query: string, path = "/streamer/graphql") => {
    const r = await fetch(`http://${t.url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query }),
    });
    const body = await r.json();
    assert.equal(r.status, 200, JSON.stringify(body));
    assert.equal(body.errors, undefined, JSON.stringify(body.errors));
    return body.data;
  };
  const post = async (sid: string, entries: string[], query = "") => {
    const form = new FormData();
    for (const e of entries) form.append("entries", new Blob([enc.encode(e)]), "e");
    const r = await fetch(`http://${t.url}/data/${sid}${query}`, { method: "POST", body: form });
    assert.equal(r.status, 200);
    return await r.json() as string[];
  };
  return { ...t, gql, post };
}

type D = Awaited<ReturnType<typeof daemonWith>>;

/** The 4.5 test vector and the mutations' result shapes. */
async function vector(d: D): Promise<void> {
  assert.deepEqual((await d.gql(`mutation { connectDevice(deviceId: "asdf", meta: {x: 1}) }`)).connectDevice, {
    connection_status_changed: true,
    connected: true,
    is_new_device: true,
    meta_set: true,
    "fired:device.connected": true,
    "fired:device.meta": true,
  });
  const ids = await d.post("zxcv", ['{"x": 2}', '{"x": 3}'], "?device_id=asdf");
  assert.equal(ids.length, 2);
  await d.post("xxxx", ["hello"]);
  assert.deepEqual(
    (await d.gql(`mutation { updateStreamMeta(streamId: "zzzz", deviceId: "asdf", meta: {a: 1, b: 1}) }`))
      .updateStreamMeta,
    { meta_set: true },
  );
  // update merges into the stored meta (the original read the stream key instead).
  await d.gql(`mutation { updateStreamMeta(streamId: "zzzz", deviceId: "asdf", meta: {b: 2}, update: true) }`);

  const devs = await d.gql(`{ devices { id meta streams { id length firstEntryData firstEntryJson meta } } }`);
  assert.deepEqual(devs.devices, [{
    id: "asdf",
    meta: { x: 1 },
    streams: [
      { id: "zxcv", length: 2, firstEntryData: "eyJ4IjogMn0=", firstEntryJson: { x: 2 }, meta: {} },
      { id: "zzzz", length: 0, firstEntryData: "", firstEntryJson: {}, meta: { a: 1, b: 2 } },
    ],
  }]);
  assert.deepEqual((await d.gql(`{ streams { id } }`)).streams.map((s: { id: string }) => s.id), [
    ":event:device.connected",
    ":event:device.meta",
    "asdf:zxcv",
    "asdf:zzzz",
    "default:xxxx",
  ]);
  assert.deepEqual((await d.gql(`{ streamIds }`)).streamIds, [
    ":event:device.connected",
    ":event:device.meta",
    "asdf:zxcv",
    "default:xxxx",
  ], "streamIds without searchMeta lists only stream keys");
  assert.deepEqual((await d.gql(`{ streamIds(prefix: "asdf:", searchMeta: true) }`)).streamIds, ["zxcv", "zzzz"]);

  const s = (await d.gql(`{ stream(id: "asdf:zxcv") {
      id firstEntryId lastEntryId lastGeneratedId recordedFirstEntryId maxDeletedEntryId length entriesAdded error
      groups radixTreeKeys firstEntryTime ms: lastEntryTime(format: "ms") ymd: lastEntryTime(format: "%Y-%m-%d")
      lastEntryData firstEntryString lastEntryString lastEntryJson } }`)).stream;
  const ms = Number(ids[1].split("-")[0]);
  assert.deepEqual(s, {
    id: "asdf:zxcv",
    firstEntryId: ids[0],
    lastEntryId: ids[1],
    lastGeneratedId: ids[1],
    recordedFirstEntryId: ids[0],
    maxDeletedEntryId: "0-0",
    length: 2,
    entriesAdded: 2,
    error: "",
    groups: 0,
    radixTreeKeys: s.radixTreeKeys,
    firstEntryTime: new Date(Number(ids[0].split("-")[0])).toISOString(),
    ms: String(ms),
    ymd: new Date(ms).toISOString().slice(0, 10),
    lastEntryData: btoa('{"x": 3}'),
    firstEntryString: '{"x": 2}',
    lastEntryString: '{"x": 3}',
    lastEntryJson: { x: 3 },
  });
  assert.deepEqual((await d.gql(`{ stream(id: "nope") { id error length firstEntryId meta lastEntryJson } }`)).stream, {
    id: "nope",
    error: "no such key",
    length: 0,
    firstEntryId: "",
    meta: {},
    lastEntryJson: {},
  });
  assert.deepEqual(
    (await d.gql(`{ device(id: "asdf") { id streamIds stream(streamId: "zxcv") { id lastEntryJson } } }`)).device,
    { id: "asdf", streamIds: ["zxcv", "zzzz"], stream: { id: "zxcv", lastEntryJson: { x: 3 } } },
  );
  assert.deepEqual((await d.gql(`{ device { id meta streamIds } }`)).device, {
    id: "default",
    meta: {},
    streamIds: ["xxxx"],
  });

  assert.deepEqual((await d.gql(`mutation { updateDeviceMeta(deviceId: "asdf", meta: {x: 5}) }`)).updateDeviceMeta, {
    meta_set: true,
    "fired:device.meta": true,
  });
  // A second connect changes nothing but the meta.
  assert.deepEqual((await d.gql(`mutation { connectDevice(deviceId: "asdf", meta: {x: 6}) }`)).connectDevice, {
    connection_status_changed: false,
    connected: true,
    is_new_device: false,
    meta_set: true,
    "fired:device.connected": false,
    "fired:device.meta": true,
  });
  assert.deepEqual((await d.gql(`mutation { disconnectDevice(deviceId: "asdf") }`)).disconnectDevice, {
    connection_status_changed: true,
    connected: false,
    "fired:device.connected": true,
  });
  assert.deepEqual((await d.gql(`{ devices { id } }`)).devices, []);
  assert.deepEqual((await d.gql(`{ devices(includeAll: true) { id meta } }`)).devices, [{
    id: "asdf",
    meta: { x: 6 },
  }]);
  assert.deepEqual((await d.gql(`{ devices(ids: ["b"]) { id meta } }`)).devices, [{ id: "b", meta: {} }]);
  const events = await d.gql(`{ c: stream(id: ":event:device.connected") { length firstEntryJson lastEntryJson }
    m: stream(id: ":event:device.meta") { length lastEntryJson } }`);
  assert.deepEqual(events, {
    c: {
      length: 2,
      firstEntryJson: { device_id: "asdf", connected: true },
      lastEntryJson: { device_id: "asdf", connected: false },
    },
    m: { length: 3, lastEntryJson: { device_id: "asdf", meta: { x: 6 } } },
  });

  assert.deepEqual((await d.gql(`mutation { deleteStream(streamId: "zxcv", deviceId: "asdf") }`)).deleteStream, {
    data_deleted: true,
    meta_deleted: false,
    stream_deleted: true,
  });
  assert.deepEqual((await d.gql(`mutation { deleteStream(streamId: "zzzz", deviceId: "asdf") }`)).deleteStream, {
    data_deleted: false,
    meta_deleted: true,
    stream_deleted: true,
  });
  assert.deepEqual((await d.gql(`{ device(id: "asdf") { streamIds } }`)).device, { streamIds: [] });
  const sub = await fetch(`http://${d.url}/streamer/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query: `subscription { streams(streamIds: ["a"]) { __typename } }` }),
  });
  assert.equal(sub.status, 400);
  assert.match((await sub.json()).errors[0].message, /need a WebSocket/);
  // telebus's own schema still answers at /graphql.
  const own = await d.gql(`{ outputs { type } }`, "/graphql");
  assert.deepEqual(own.outputs.map((o: { type: string }) => o.type).sort(), ["graphql", "streamer"]);
  assert.deepEqual(await d.gql(`mutation { flush }`), { flush: 1 });
  assert.deepEqual(await d.gql(`{ streams { id } devices(includeAll: true) { id } }`), { streams: [], devices: [] });
}

/** The `streams` subscription: one DataPayload per entry (count 0), DataPayloads per stream (count > 0). */
async function subscription(d: D): Promise<void> {
  const client = createClient({ url: `ws://${d.url}/streamer/graphql`, webSocketImpl: WebSocket, retryAttempts: 0 });
  try {
    const each = client.iterate<{ streams: Record<string, unknown> }>({
      query: `subscription { streams(streamIds: ["cnt"], device: "default", block: 200) {
        __typename ... on DataPayload { streamId time data string json } } }`,
    });
    const batch = client.iterate<{ streams: Record<string, unknown> }>({
      query: `subscription { streams(streamIds: {cnt: "0"}, device: "default", count: 5) {
        __typename ... on DataPayloads { streamId time data string json } } }`,
    });
    const raw = client.iterate<{ streams: Record<string, unknown> }>({
      query: `subscription { streams(streamIds: "default:cnt", latest: true, count: 1) {
        __typename ... on DataPayloads { streamId string } } }`,
    });
    // The `$` cursor of the first subscription is taken when it starts: let the three start, and the clock pass
    // that moment, before posting.
    const subscriptions = () => d.daemon.stats.find((s) => s.name === "store")!.gauges.get("graphql_subscriptions")!();
    await until(() => `3 subscriptions (${subscriptions()})`, () => subscriptions() === 3);
    const started = Date.now();
    await until("the clock to pass the subscriptions' start", () => Date.now() > started);
    const ids = await d.post("cnt", ['{"a": 1}', "two"]);
    const first = await each.next(), second = await each.next();
    assert.deepEqual([first.value?.data?.streams, second.value?.data?.streams], [
      {
        __typename: "DataPayload",
        streamId: "cnt",
        time: ids[0],
        data: btoa('{"a": 1}'),
        string: '{"a": 1}',
        json: { a: 1 },
      },
      { __typename: "DataPayload", streamId: "cnt", time: ids[1], data: btoa("two"), string: "two", json: "two" },
    ]);
    const b = (await batch.next()).value?.data?.streams;
    assert.equal(b?.__typename, "DataPayloads");
    assert.equal(b?.streamId, "cnt");
    // The entries may arrive in one read or two; together they are both, in order.
    const times = [...b!.time as string[]];
    if (times.length < 2) times.push(...(await batch.next()).value?.data?.streams.time as string[]);
    assert.deepEqual(times, ids);
    assert.deepEqual(b!.json, [{ a: 1 }, "two"].slice(0, (b!.json as unknown[]).length));
    const r = (await raw.next()).value?.data?.streams;
    assert.equal(r?.streamId, "default:cnt", "without a device the ids are raw keys");
    await Promise.all([each.return?.(), batch.return?.(), raw.return?.()]);
  } finally {
    await client.dispose();
  }
}

Deno.test("streamer GraphQL: 4.5 test vector, Stream fields, mutations (disconnectDevice works), flush", async () => {
  const d = await daemonWith();
  try {
    await vector(d);
  } finally {
    await d.close();
  }
});

Deno.test("streamer GraphQL: streams subscription over graphql-transport-ws (graphql-ws client)", async () => {
  const d = await daemonWith();
  try {
    await subscription(d);
  } finally {
    await d.close();
  }
});

Deno.test("streamer GraphQL on Redis (redis_url): the 4.5 vector and the subscription", async () => {
  const redis = await RedisServer.start(false);
  const d = await daemonWith({ redis_url: redis.url });
  try {
    await vector(d);
    await subscription(d);
  } finally {
    await d.close();
    await redis.close();
  }
});

Deno.test("streamer GraphQL: depth limit, bad documents, GraphiQL, graphql_path, no Device without prefixing", async () => {
  const t = await testDaemon({
    outputs: {
      streamer: [{ graphql: true, graphql_path: "/graphql", graphql_max_depth: 1, device_prefixing: false }],
    },
  });
  try {
    const q = async (query: string) => {
      const r = await fetch(`http://${t.url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query }),
      });
      return { status: r.status, body: await r.json() };
    };
    const flat = await q(`{ streamIds }`);
    assert.deepEqual(flat.body, { data: { streamIds: [] } });
    const tooDeep = await q(`{ streams { id } }`);
    assert.equal(tooDeep.status, 400);
    assert.match(tooDeep.body.errors[0].message, /depth 2 exceeds the limit of 1/);
    const bad = await q(`{ devices }`);
    assert.equal(bad.status, 400, "no devices without device prefixing");
    assert.ok(bad.body.errors.some((e: { message: string }) => /"devices"/.test(e.message)), JSON.stringify(bad.body));
    const page = await fetch(`http://${t.url}/graphql`, { headers: { accept: "text/html" } });
    assert.match(await page.text(), /graphiql\.js/);
    const m = await q(`mutation { updateStreamMeta(streamId: "s", meta: {k: "v"}) }`);
    assert.deepEqual(m.body.data, { updateStreamMeta: { meta_set: true } });
    const ids = await q(`{ streamIds(searchMeta: true) }`);
    assert.deepEqual(ids.body.data, { streamIds: ["s"] }, "the meta key is :stream:meta:s");
  } finally {
    await t.close();
  }
});

Deno.test("streamer GraphQL: the same limits apply; subscriptions are limited per connection and released on close", async () => {
  const t = await testDaemon({
    outputs: {
      streamer: [{
        name: "store",
        graphql: true,
        graphql_max_aliases: 5,
        graphql_max_subscriptions_per_connection: 40,
      }],
    },
  });
  const gauge = async () => {
    const r = await fetch(`http://${t.url}/metrics`);
    const line = (await r.text()).split("\n").find((l) => !l.startsWith("#") && l.includes("graphql_subscriptions"));
    return Number(line?.split(" ").pop());
  };
  const waitFor = async (want: number) => {
    let last = NaN;
    await until(() => `graphql_subscriptions at ${want} (it is ${last})`, async () => (last = await gauge()) === want);
  };
  try {
    const r = await fetch(`http://${t.url}/streamer/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: `{ ${Array.from({ length: 6 }, (_, i) => `a${i}: streamIds`).join(" ")} }` }),
    });
    assert.equal(r.status, 400);
    assert.deepEqual(await r.json(), {
      errors: [{ message: "query has 6 aliases; the limit is 5", extensions: { code: "TOO_MANY_ALIASES" } }],
    });
    const deep = await fetch(`http://${t.url}/streamer/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "{" + "a{".repeat(5000) + "}".repeat(5001) }),
    });
    assert.match((await deep.json()).errors[0].message, /^query nests more than 128 brackets deep/);

    const client = createClient({ url: `ws://${t.url}/streamer/graphql`, webSocketImpl: WebSocket, retryAttempts: 0 });
    const outcomes: Promise<string>[] = [];
    for (let i = 0; i < 41; i++) {
      outcomes.push(
        new Promise((resolve) =>
          client.subscribe({ query: `subscription { streams(streamIds: ["s${i}"]) { __typename } }` }, {
            next: () => resolve("event"),
            error: (e) => resolve(JSON.stringify(e)),
            complete: () => resolve("complete"),
          })
        ),
      );
    }
    assert.deepEqual(JSON.parse(await outcomes[40]), [{
      message: "this connection holds 40 subscriptions already; the limit is 40 per connection",
      extensions: { code: "TOO_MANY_SUBSCRIPTIONS" },
    }]);
    await waitFor(40);
    await client.dispose();
    await waitFor(0);
  } finally {
    await t.close();
  }
});
