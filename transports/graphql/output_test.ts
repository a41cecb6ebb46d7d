import assert from "node:assert/strict";
import { createClient } from "npm:graphql-ws@^6.0.6";
import { nextMacrotask, testDaemon, until, untilValue } from "../../testing/mod.ts";
import { BoundedChannel } from "../../net/graphql/channel.ts";

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
  await until(
    "both records at the output",
    async () => (await d.query(`{ outputs { records } }`)).body.data.outputs[0].records === 2,
  );
  const { status, body } = await d.query(
    `{ inputs { name type } outputs { name type records gauges } telebusStreams { stream count }
       latest(stream: "robot/imu") { stream timeNs source data } missing: latest(stream: "nope") { stream } }`,
  );
  assert.equal(status, 200, JSON.stringify(body));
  assert.deepEqual(body.data.inputs, [{ name: "test", type: "custom" }]);
  assert.equal(body.data.outputs[0].type, "graphql");
  assert.equal(body.data.outputs[0].records, 2);
  assert.deepEqual(body.data.telebusStreams, [{ stream: "robot/imu", count: 2 }]);
  assert.deepEqual(body.data.latest, {
    stream: "robot/imu",
    timeNs: "1700000001000000001",
    source: "test",
    data: { x: 2.5, big: 1, raw: { $bin: "" } },
  });
  assert.equal(body.data.missing, null);
  const get = await fetch(`http://${d.url}/graphql?query=${encodeURIComponent("{ telebusStreams { stream } }")}`);
  assert.deepEqual(await get.json(), { data: { telebusStreams: [{ stream: "robot/imu" }] } });
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
  await waitForGauges(d, (g) => g.subscribers === 1);
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
    await until("the subscription to be registered", () => stats.gauges.get("subscribers")!() >= 1);
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
      body: JSON.stringify({ query: `{ latest(stream: "a") { data } telebusStreams { stream count } }` }),
    });
    assert.deepEqual(await r.json(), {
      data: { latest: { data: { i: 0 } }, telebusStreams: [{ stream: "a", count: 1 }, { stream: "b", count: 1 }] },
    });
    assert.equal(lines.filter((l) => l.includes("record refused")).length, 1);
  } finally {
    await client.dispose();
    await out.close();
    await http.close();
  }
});

/** POSTs a query and times it; the answer's size is measured on its text. */
async function timedQuery(url: string, query: string, path = "/graphql") {
  const started = performance.now();
  const r = await fetch(`http://${url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query }),
  });
  const text = await r.text();
  return { status: r.status, bytes: text.length, body: JSON.parse(text), ms: performance.now() - started };
}

/** The slowest `/health` answer while `work` runs. */
async function slowestHealthDuring(url: string, work: Promise<unknown>): Promise<number> {
  let done = false;
  work.finally(() => done = true);
  let slowest = 0;
  do {
    const started = performance.now();
    assert.equal((await fetch(`http://${url}/health`)).status, 200);
    slowest = Math.max(slowest, performance.now() - started);
  } while (!done);
  return slowest;
}

Deno.test("graphql: a 1 MB alias query is refused before execution, with a message and a code; /health stays quick", async () => {
  const d = await daemonWith({});
  try {
    // Today's answer to this was 6.5 MB (64 MB with a heavier field) and /health waited seconds meanwhile.
    let query = "{";
    for (let i = 0; query.length < 1_000_000; i++) query += ` a${i}: outputs { name records gauges counters dropped }`;
    query += " }";
    const answer = timedQuery(d.url, query);
    const slowest = await slowestHealthDuring(d.url, answer);
    const bomb = await answer;
    assert.equal(bomb.status, 400);
    assert.deepEqual(bomb.body, {
      errors: [{
        message: `query has ${query.length} bytes; the limit is 65536`,
        extensions: { code: "QUERY_TOO_LARGE" },
      }],
    });
    assert.ok(slowest < 1000, `/health took ${slowest.toFixed(0)} ms`);

    const aliases = `{ ${Array.from({ length: 12000 }, (_, i) => `a${i}:__typename`).join(" ")} }`;
    const many = await timedQuery(d.url, aliases);
    assert.ok(aliases.length > 65536);
    assert.equal(many.body.errors[0].extensions.code, "QUERY_TOO_LARGE");
    const fewer = await timedQuery(
      d.url,
      `{ ${Array.from({ length: 1000 }, (_, i) => `a${i}:__typename`).join(" ")} }`,
    );
    assert.deepEqual(fewer.body, {
      errors: [{ message: "query has 1000 aliases; the limit is 100", extensions: { code: "TOO_MANY_ALIASES" } }],
    });
    const wide = await timedQuery(
      d.url,
      `{ ${Array.from({ length: 50 }, (_, i) => `a${i}: inputs { ${"name ".repeat(30)}}`).join(" ")} }`,
    );
    assert.equal(wide.body.errors[0].message, "query has 1550 fields; the limit is 1000");

    // A query at the limits runs.
    const allowed = await timedQuery(
      d.url,
      `{ ${Array.from({ length: 100 }, (_, i) => `a${i}: outputs { name records gauges }`).join(" ")} }`,
    );
    assert.equal(allowed.status, 200, JSON.stringify(allowed.body).slice(0, 300));
    assert.equal(Object.keys(allowed.body.data).length, 100);

    // graphql-js's parser overflowed its stack on this and answered {"errors":[{}]}.
    const deep = await timedQuery(d.url, "{" + "a{".repeat(5000) + "b" + "}".repeat(5001));
    assert.equal(deep.status, 400);
    assert.match(deep.body.errors[0].message, /^query nests more than 128 brackets deep/);
    const syntax = await timedQuery(d.url, "{ a(");
    assert.equal(syntax.body.errors[0].extensions.code, "GRAPHQL_PARSE_FAILED");
    assert.match(syntax.body.errors[0].message, /^Syntax Error/);

    const { body } = await d.query(`{ outputs { counters } }`);
    assert.deepEqual(body.data.outputs[0].counters, {
      bad_requests: 6,
      refused_query_too_large: 3,
      refused_too_many_aliases: 1,
      refused_too_many_fields: 1,
    });
  } finally {
    await d.close();
  }
});

/** Opens `n` `records` subscriptions on one graphql-ws connection; resolves with each one's first error or event. */
function subscribeMany(url: string, n: number) {
  const client = createClient({ url: `ws://${url}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0 });
  const outcomes = Array.from({ length: n }, () =>
    new Promise<string>((resolve) => {
      client.subscribe({ query: `subscription { records { stream } }` }, {
        next: () => resolve("event"),
        error: (e) => resolve(JSON.stringify(e)),
        complete: () => resolve("complete"),
      });
    }));
  return { client, outcomes };
}

/** Waits until the output's gauges satisfy `ok` and returns them. */
async function waitForGauges(
  d: Awaited<ReturnType<typeof daemonWith>>,
  ok: (g: Record<string, number>) => boolean,
): Promise<Record<string, number>> {
  let last: Record<string, number> = {};
  return await untilValue(() => `the gauges to get there (last ${JSON.stringify(last)})`, async () => {
    last = (await d.query(`{ outputs { gauges } }`)).body.data.outputs[0].gauges;
    return ok(last) ? last : undefined;
  });
}

Deno.test("graphql: subscriptions per connection and per endpoint are limited, with a clear error", async () => {
  const d = await daemonWith({ max_subscriptions_per_connection: 3, max_subscriptions: 5 });
  try {
    const first = subscribeMany(d.url, 4);
    const refused = await first.outcomes[3];
    assert.deepEqual(JSON.parse(refused), [{
      message: "this connection holds 3 subscriptions already; the limit is 3 per connection",
      extensions: { code: "TOO_MANY_SUBSCRIPTIONS" },
    }]);
    await waitForGauges(d, (g) => g.subscribers === 3);
    const second = subscribeMany(d.url, 3);
    assert.deepEqual(JSON.parse(await second.outcomes[2]), [{
      message: "the endpoint holds 5 subscriptions already; the limit is 5",
      extensions: { code: "TOO_MANY_SUBSCRIPTIONS" },
    }]);
    await waitForGauges(d, (g) => g.subscribers === 5 && g.subscriptions === 5);
    await d.emit("robot/imu", { x: 1 });
    for (const o of [...first.outcomes.slice(0, 3), ...second.outcomes.slice(0, 2)]) assert.equal(await o, "event");
    await first.client.dispose();
    await second.client.dispose();
    await waitForGauges(d, (g) => g.subscribers === 0 && g.subscriptions === 0);
  } finally {
    await d.close();
  }
});

/**
 * A graphql-transport-ws client on a raw TCP socket, so that it can stop
 * reading: the server's unsent frames then stay in the server.
 */
async function rawGraphqlSocket(host: string) {
  const [hostname, port] = host.split(":");
  const conn = await Deno.connect({ hostname, port: Number(port) });
  const enc = new TextEncoder();
  const frame = (opcode: number, payload: Uint8Array) => {
    const len = payload.length;
    const head = len < 126 ? [0x80 | opcode, 0x80 | len] : [0x80 | opcode, 0x80 | 126, len >> 8, len & 0xff];
    const mask = [1, 2, 3, 4];
    const out = new Uint8Array(head.length + 4 + len);
    out.set(head);
    out.set(mask, head.length);
    for (let i = 0; i < len; i++) out[head.length + 4 + i] = payload[i] ^ mask[i % 4];
    return out;
  };
  const send = (message: unknown) => conn.write(frame(1, enc.encode(JSON.stringify(message))));
  let buffered = new Uint8Array(0);
  const buf = new Uint8Array(1 << 16);
  let received = 0;
  /** Reads until `until` finds what it wants in the bytes so far; returns the bytes read. */
  const readUntil = async (until: (bytes: Uint8Array) => boolean) => {
    while (!until(buffered)) {
      const n = await conn.read(buf);
      if (n === null) break;
      received += n;
      // Only the tail matters for the searches below: keep it bounded.
      const next = new Uint8Array(Math.min(buffered.length, 1 << 16) + n);
      next.set(buffered.subarray(buffered.length - (next.length - n)));
      next.set(buf.subarray(0, n), next.length - n);
      buffered = next;
    }
  };
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  await conn.write(enc.encode(
    `GET /graphql HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n` +
      `Sec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n`,
  ));
  await send({ type: "connection_init" });
  await readUntil((b) => text(b).includes("connection_ack"));
  return {
    send,
    /** Sends a close frame and reads until the server's close frame (opcode 8) arrives; returns the bytes read. */
    async closeAndDrain(): Promise<number> {
      const before = received;
      await conn.write(frame(8, new Uint8Array([0x03, 0xe8])));
      // The close frame from the server: 0x88, length 2, code 1000 (0x03e8).
      await readUntil((b) => b.length >= 4 && b[b.length - 4] === 0x88 && b[b.length - 2] === 0x03);
      conn.close();
      return received - before;
    },
  };
}

Deno.test("graphql: a client that stops reading holds a bounded amount, and leaving releases its subscriptions", async () => {
  const d = await daemonWith({ subscriber_buffer: 100 });
  try {
    const client = await rawGraphqlSocket(d.url);
    const subscriptions = 50;
    for (let i = 0; i < subscriptions; i++) {
      await client.send({ id: String(i), type: "subscribe", payload: { query: "subscription { records { data } }" } });
    }
    await waitForGauges(d, (g) => g.subscribers === subscriptions);
    // 1,200 records of 1 kB to 50 subscriptions: 60 MB of frames the client never reads.
    const pad = "x".repeat(1000);
    const records = 1200;
    for (let i = 0; i < records; i++) {
      await d.emit("robot/imu", { i, pad });
      // At a pace the server keeps up with: what it cannot send is what piles up.
      if (i % 20 === 0) await nextMacrotask();
    }
    const held = await waitForGauges(d, (g) => g.queue_records === 0);
    assert.ok(held.socket_buffered_bytes <= 2 * 1024 * 1024, JSON.stringify(held));
    assert.ok(held.subscriber_drops > 0, "the oldest records are dropped, counted, for the slow client");
    // What the server still had for it, and the kernel's buffers: far below the 60 MB sent today.
    const drained = await client.closeAndDrain();
    assert.ok(drained < 16 * 1024 * 1024, `${drained} bytes were waiting for the stalled client`);
    await waitForGauges(d, (g) => g.subscribers === 0 && g.subscriptions === 0 && g.socket_buffered_bytes === 0);
  } finally {
    await d.close();
  }
});
