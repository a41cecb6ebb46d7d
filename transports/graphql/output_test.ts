import assert from "node:assert/strict";
import { createClient } from "graphql-ws";
import { testDaemon } from "../../tests/helpers/test_daemon.ts";
import { BoundedChannel } from "./channel.ts";

async function daemonWith(graphql: Record<string, unknown>) {
  const t = await testDaemon({ outputs: { graphql: [graphql] } });
  return {
    url: t.url,
    emit: t.emit,
    query: async (query: string) => {
      const r = await fetch(`http://${t.url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query }),
      });
      return { status: r.status, body: await r.json() };
    },
    close: () => t.close(),
  };
}

Deno.test("graphql: inputs and outputs with counters, streams, the newest record exactly", async () => {
  const d = await daemonWith({});
  await d.emit("robot/imu", { x: 1.5, big: 18446744073709551615n, raw: new Uint8Array([1, 2]) });
  await d.emit("robot/imu", { x: 2.5, big: 1n, raw: new Uint8Array([]) }, 1_700_000_001_000_000_001n);
  await new Promise((r) => setTimeout(r, 50));
  const { status, body } = await d.query(
    `{ inputs { name type } outputs { name type records gauges } streams { stream count }
       latest(stream: "robot/imu") { stream timeNs source data } missing: latest(stream: "nope") { stream } }`,
  );
  assert.equal(status, 200, JSON.stringify(body));
  assert.deepEqual(body.data.inputs, [{ name: "test", type: "custom" }]);
  assert.equal(body.data.outputs[0].type, "graphql");
  assert.equal(body.data.outputs[0].records, 2);
  assert.deepEqual(body.data.streams, [{ stream: "robot/imu", count: 2 }]);
  assert.deepEqual(body.data.latest, {
    stream: "robot/imu",
    timeNs: "1700000001000000001",
    source: "test",
    data: { x: 2.5, big: 1, raw: { $bin: "" } },
  });
  assert.equal(body.data.missing, null);
  const get = await fetch(`http://${d.url}/graphql?query=${encodeURIComponent("{ streams { stream } }")}`);
  assert.deepEqual(await get.json(), { data: { streams: [{ stream: "robot/imu" }] } });
  await d.close();
});

Deno.test("graphql: bad documents and documents deeper than max_depth are refused", async () => {
  const d = await daemonWith({ max_depth: 1 });
  const deep = await d.query(`{ latest(stream: "s") { stream } }`);
  assert.equal(deep.status, 400);
  assert.match(deep.body.errors[0].message, /depth 2 exceeds the limit of 1/);
  const bad = await d.query(`{ nosuch }`);
  assert.equal(bad.status, 400);
  assert.ok(bad.body.errors.some((e: { message: string }) => /nosuch/.test(e.message)), JSON.stringify(bad.body));
  const syntax = await d.query(`{ inputs {`);
  assert.equal(syntax.status, 400);
  await d.close();
});

Deno.test("graphql: records subscription over graphql-transport-ws with graphql-ws's own client", async () => {
  const d = await daemonWith({});
  const client = createClient({ url: `ws://${d.url}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0 });
  const got: unknown[] = [];
  const done = new Promise<void>((resolve, reject) => {
    const stop = client.subscribe<{ records: { stream: string; data: { i: number } } }>(
      { query: `subscription { records(streams: ["robot/*"]) { stream data } }` },
      {
        next: (v) => {
          got.push(v.data?.records);
          if (got.length === 3) {
            stop();
            resolve();
          }
        },
        error: reject,
        complete: () => {},
      },
    );
  });
  // Wait until the subscription is registered, then publish.
  for (let i = 0; i < 100; i++) {
    const { body } = await d.query(`{ outputs { gauges } }`);
    if (body.data.outputs[0].gauges.subscribers === 1) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  await d.emit("lab/temp", { i: -1 });
  for (let i = 0; i < 3; i++) await d.emit("robot/imu", { i });
  await done;
  assert.deepEqual(got, [0, 1, 2].map((i) => ({ stream: "robot/imu", data: { i } })));
  await client.dispose();
  await d.close();
});

Deno.test("graphql: a slow subscriber's buffer is bounded and drops the oldest", async () => {
  let closed = 0;
  const ch = new BoundedChannel<number>(3, () => closed++);
  for (let i = 0; i < 10; i++) ch.push(i);
  assert.equal(ch.dropped, 7);
  assert.deepEqual([(await ch.next()).value, (await ch.next()).value, (await ch.next()).value], [7, 8, 9]);
  const waiting = ch.next();
  ch.push(10);
  assert.equal((await waiting).value, 10);
  await ch.return();
  assert.equal(closed, 1);
  assert.equal((await ch.next()).done, true);
});

Deno.test("graphql: GraphiQL page and its embedded assets", async () => {
  const d = await daemonWith({});
  const page = await fetch(`http://${d.url}/graphql`, { headers: { accept: "text/html" } });
  const html = await page.text();
  assert.match(html, /graphiql\.js/);
  assert.doesNotMatch(html, /https?:\/\/(?!www\.w3\.org)/, "no CDN");
  for (const a of ["react.js", "react-dom.js", "graphiql.js", "graphiql.css"]) {
    const r = await fetch(`http://${d.url}/graphql/assets/${a}`);
    assert.equal(r.status, 200, a);
    assert.ok((await r.text()).length > 1000, a);
  }
  await d.close();
});

Deno.test("graphql: a record it cannot serve (cyclic, too deep) costs only itself, for subscribers and latest", async () => {
  const { GraphqlOutput } = await import("./output.ts");
  const { graphqlSchema } = await import("./schema.ts");
  const { HttpServer } = await import("../../core/http.ts");
  const { PartStats } = await import("../../core/stats.ts");
  const { createLogger } = await import("../../core/log.ts");
  const { makeRecord } = await import("../../core/record.ts");
  const lines: string[] = [];
  const log = createLogger("test", { level: "warn", write: (l) => lines.push(l) });
  const http = new HttpServer(log);
  const url = `127.0.0.1:${http.listen("127.0.0.1:0").port}`;
  const stats = new PartStats("output", "graphql", "graphql");
  const out = new GraphqlOutput(graphqlSchema.parse({}), {
    name: "graphql",
    log,
    stats,
    dataDir: "/nonexistent",
    http,
  });
  const client = createClient({ url: `ws://${url}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0 });
  try {
    const got: unknown[] = [];
    const done = new Promise<void>((resolve, reject) => {
      const stop = client.subscribe<{ records: { data: { i: number } } }>(
        { query: `subscription { records { data } }` },
        {
          next: (v) => {
            got.push(v.data?.records.data.i);
            if (got.length === 2) stop(), resolve();
          },
          error: reject,
          complete: () => {},
        },
      );
    });
    for (const end = Date.now() + 5000; stats.gauges.get("subscribers")!() < 1;) {
      assert.ok(Date.now() < end, "the subscription is registered");
      await new Promise((r) => setTimeout(r, 5));
    }
    const cyclic: Record<string, unknown> = { i: -1 };
    cyclic.self = cyclic;
    out.write([
      makeRecord("a", 1n, { i: 0 }, "test"),
      makeRecord("a", 2n, cyclic as never, "test", 10),
      makeRecord("b", 3n, { i: 1 }, "test"),
    ]);
    await done;
    assert.deepEqual(got, [0, 1]);
    assert.deepEqual(Object.fromEntries(stats.rejected), { too_deep: 1 });
    const r = await fetch(`http://${url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: `{ latest(stream: "a") { data } streams { stream count } }` }),
    });
    assert.deepEqual(await r.json(), {
      data: { latest: { data: { i: 0 } }, streams: [{ stream: "a", count: 1 }, { stream: "b", count: 1 }] },
    });
    assert.equal(lines.filter((l) => l.includes("record refused")).length, 1);
  } finally {
    await client.dispose();
    await out.close();
    await http.close();
  }
});
