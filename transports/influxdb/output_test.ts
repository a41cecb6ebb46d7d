import assert from "node:assert/strict";
import { MockInflux, until } from "../../testing/mod.ts";
import { createLogger, type LogSink } from "../../core/log.ts";
import { PartStats, renderPrometheus } from "../../core/stats.ts";
import { startDaemon } from "../../start.ts";
import { makeRecord } from "../../core/record.ts";
import type { BusRecord } from "../../core/record.ts";
import type { OutputContext } from "../../core/transport.ts";
import { influxdbSchema } from "./schema.ts";
import { InfluxdbOutput } from "./output.ts";
import { namedLines } from "./writer.ts";

const T = 1_704_067_200_000_000_000n;

/** An output on a mock, with its counters and log lines. */
async function outputOn(mock: MockInflux, table: Record<string, unknown>) {
  const dataDir = await Deno.makeTempDir({ prefix: "telebus-influx-test-" });
  const lines: string[] = [];
  const sink: LogSink = { level: "debug", write: (l) => lines.push(l) };
  const stats = new PartStats("output", "influx", "influxdb");
  const ctx: OutputContext = {
    name: "influx",
    log: createLogger("test", sink),
    stats,
    dataDir,
    http: { route() {} },
  };
  const config = influxdbSchema.parse({ url: mock.url, database: "db", retry_initial: "5ms", ...table });
  const out = await InfluxdbOutput.create(config, ctx);
  return {
    out,
    stats,
    log: lines,
    dataDir,
    async cleanup() {
      await out.close();
      await Deno.remove(dataDir, { recursive: true });
    },
  };
}

function recs(n: number, from = 0, stream = "m"): BusRecord[] {
  return Array.from({ length: n }, (_, i) => makeRecord(stream, T + BigInt(from + i), { v: from + i }, "in"));
}

Deno.test("influxdb v1 (mock): /write with db, rp, precision; basic auth; body lines exact", async () => {
  const mock = new MockInflux();
  const o = await outputOn(mock, { retention_policy: "week", username: "u ser", password: "pä:ss" });
  try {
    await o.out.write([makeRecord("robot/imu", T + 5n, { acc: { x: 1.5 }, ok: true, name: 'a "b"' }, "in")]);
    await o.out.close();
    assert.equal(mock.requests.length, 1);
    const r = mock.requests[0];
    assert.equal(r.method, "POST");
    assert.equal(r.path, "/write");
    assert.deepEqual(r.query, { db: "db", rp: "week", precision: "n" });
    const [user, pass] = new TextDecoder().decode(
      Uint8Array.from(atob(r.headers.authorization.replace(/^Basic /, "")), (c) => c.charCodeAt(0)),
    ).split(/:(.*)/s);
    assert.deepEqual([user, pass], ["u ser", "pä:ss"]);
    assert.equal(r.headers["content-type"], "text/plain; charset=utf-8");
    assert.equal(r.body, 'robot/imu acc/x=1.5,ok=true,name="a \\"b\\"" 1704067200000000005');
    assert.equal(o.stats.counters.get("points_written"), 1);
  } finally {
    await o.cleanup();
    await mock.close();
  }
});

Deno.test("influxdb v1 (mock): u/p query credentials", async () => {
  const mock = new MockInflux();
  const o = await outputOn(mock, { username: "me", password: "secret", auth: "query" });
  try {
    await o.out.write(recs(1));
    await o.out.close();
    assert.deepEqual(mock.requests[0].query, { db: "db", precision: "n", u: "me", p: "secret" });
    assert.equal(mock.requests[0].headers.authorization, undefined);
    assert.ok(!o.log.join("\n").includes("secret"), "the password is not logged");
  } finally {
    await o.cleanup();
    await mock.close();
  }
});

Deno.test("influxdb v2 and v3 (mock): paths, query strings, Token and Bearer, gzip bodies", async () => {
  const mock = new MockInflux();
  const v2 = await outputOn(mock, {
    api: "v2",
    database: undefined,
    org: "my org",
    bucket: "b/1",
    token: "t2",
    gzip: true,
  });
  const v3 = await outputOn(mock, { api: "v3", database: "db3", token: "t3" });
  try {
    await v2.out.write(recs(2));
    await v2.out.close();
    await v3.out.write(recs(2, 2));
    await v3.out.close();
    const [a, b] = mock.requests;
    assert.equal(a.path, "/api/v2/write");
    assert.deepEqual(a.query, { org: "my org", bucket: "b/1", precision: "ns" });
    assert.equal(a.headers.authorization, "Token t2");
    assert.equal(a.headers["content-encoding"], "gzip");
    assert.deepEqual(a.lines, ["m v=0 1704067200000000000", "m v=1 1704067200000000001"]);
    assert.equal(b.path, "/api/v3/write_lp");
    assert.deepEqual(b.query, { db: "db3", precision: "nanosecond" });
    assert.equal(b.headers.authorization, "Bearer t3");
    assert.equal(b.headers["content-encoding"], undefined);
    assert.deepEqual(b.lines, ["m v=2 1704067200000000002", "m v=3 1704067200000000003"]);
  } finally {
    await v2.cleanup();
    await v3.cleanup();
    await mock.close();
  }
});

Deno.test("influxdb (mock): batches by size, by bytes and by interval", async () => {
  const mock = new MockInflux();
  const o = await outputOn(mock, { batch_size: 3, flush_interval: "50ms" });
  try {
    await o.out.write(recs(6));
    await until("two full batches", () => mock.requests.length === 2, 20_000);
    assert.deepEqual(mock.requests.map((r) => r.lines.length), [3, 3]);
    await o.out.write(recs(1, 6));
    // The seventh waits for the interval.
    assert.deepEqual(mock.requests.map((r) => r.lines.length), [3, 3]);
    await until("the interval flush", () => mock.requests.length === 3, 20_000);
    assert.deepEqual(mock.requests.map((r) => r.lines.length), [3, 3, 1]);
    assert.deepEqual(mock.writtenLines, recs(7).map((r) => `m v=${r.data.v} ${r.time}`));
  } finally {
    await o.cleanup();
  }
  const o2 = await outputOn(mock, { batch_bytes: 1024, batch_size: 100000 });
  try {
    mock.requests.length = 0;
    await o2.out.write(recs(100));
    await o2.out.close();
    assert.ok(mock.requests.length >= 3, `${mock.requests.length} requests`);
    for (const r of mock.requests) assert.ok(r.body.length <= 1024);
    assert.equal(mock.writtenLines.length, 100);
  } finally {
    await o2.cleanup();
    await mock.close();
  }
});

Deno.test("influxdb (mock): 400 partial write (field type conflict) drops only the named point, resends the rest", async () => {
  const mock = new MockInflux();
  mock.script.push({
    status: 400,
    body: {
      error:
        'partial write: field type conflict: input field "v" on measurement "m" is type string, already exists as type float dropped=1',
    },
  });
  const o = await outputOn(mock, {});
  try {
    const rs = recs(3);
    rs[1].data = { v: "text" };
    await o.out.write(rs);
    await o.out.close();
    assert.equal(mock.requests.length, 2);
    assert.equal(mock.requests[0].lines.length, 3);
    assert.deepEqual(mock.requests[1].lines, ["m v=0 1704067200000000000", "m v=2 1704067200000000002"]);
    assert.equal(o.stats.counters.get("bad_points"), 1);
    assert.equal(o.stats.dropped.get("bad_point"), 1);
    assert.match(o.log.join("\n"), /refused a point.*m v=\\"text\\"/);
  } finally {
    await o.cleanup();
    await mock.close();
  }
});

Deno.test("influxdb (mock): 400 naming a line (unable to parse; v3 line_number) or none (found by halving)", async () => {
  const mock = new MockInflux();
  // The mock refuses every request that holds the point v=5, naming no line: halving finds it.
  mock.respond = (r) => r.lines.some((l) => l.startsWith("m v=5 ")) ? { status: 400, body: { error: "bad" } } : {};
  const o = await outputOn(mock, {});
  try {
    await o.out.write(recs(8));
    await o.out.close();
    assert.deepEqual(mock.writtenLines.map((l) => l.split(" ")[1]), ["v=0", "v=1", "v=2", "v=3", "v=4", "v=6", "v=7"]);
    assert.equal(o.stats.counters.get("bad_points"), 1);
  } finally {
    await o.cleanup();
  }
  const lines = ["a x=1 1", "b x=2 2", "c x=3 3"];
  assert.deepEqual([...namedLines(lines, "partial write: unable to parse 'b x=2 2': invalid field format")], [1]);
  assert.deepEqual([...namedLines(lines, "partial write", [3])], [2]);
  assert.deepEqual([...namedLines(lines, "error parsing line 1 (1-based): bad")], [0]);
  await mock.close();
});

Deno.test("influxdb (mock): 413 splits the batch; a single point too large is dropped", async () => {
  const mock = new MockInflux();
  mock.respond = (r) =>
    r.lines.length > 2 || r.body.includes("v=3 ") ? { status: 413, body: { error: "Request Entity Too Large" } } : {};
  const o = await outputOn(mock, {});
  try {
    await o.out.write(recs(7));
    await o.out.close();
    assert.deepEqual(mock.writtenLines.map((l) => l.split(" ")[1]), ["v=0", "v=1", "v=2", "v=4", "v=5", "v=6"]);
    assert.equal(o.stats.dropped.get("too_large"), 1);
  } finally {
    await o.cleanup();
    await mock.close();
  }
});

Deno.test("influxdb (mock): 429 with Retry-After waits as told; 503 is retried", async () => {
  const mock = new MockInflux();
  const times: number[] = [];
  mock.script.push(() => (times.push(Date.now()), { status: 429, headers: { "retry-after": "1" }, body: "slow down" }));
  mock.script.push(() => (times.push(Date.now()), { status: 503, body: { error: "unavailable" } }));
  mock.respond = () => (times.push(Date.now()), {});
  const o = await outputOn(mock, { retries: 5, flush_interval: "10ms" });
  try {
    await o.out.write(recs(2));
    await until("the retried write", () => mock.writtenLines.length === 2, 20_000);
    await o.out.close();
    assert.equal(mock.requests.length, 3);
    assert.ok(times[1] - times[0] >= 900, `waited ${times[1] - times[0]} ms after Retry-After: 1`);
    assert.deepEqual(mock.writtenLines.length, 2);
    assert.equal(o.stats.counters.get("retries"), 2);
  } finally {
    await o.cleanup();
    await mock.close();
  }
});

Deno.test("influxdb (mock): 401, 404 and 503 past the retries spool to disk; delivered in order once answered", async () => {
  for (const status of [401, 404, 503]) {
    const mock = new MockInflux();
    let down = true;
    mock.respond = () => down ? { status, body: { error: `status ${status}` } } : {};
    const o = await outputOn(mock, { retries: 2, retry_max: "100ms", batch_size: 5 });
    try {
      for (let i = 0; i < 4; i++) await o.out.write(recs(5, i * 5));
      await until("the points spooled", () => o.stats.counters.get("spooled_points") === 20, 20_000);
      assert.equal(mock.writtenLines.length, 0);
      const files = [...Deno.readDirSync(o.out.spoolDir)].map((e) => e.name).sort();
      assert.equal(files.length, 4, `${files}`);
      if (status !== 503) assert.match(o.log.join("\n"), new RegExp(`ERROR .*status=${status}`));
      down = false;
      await until("the spool delivered", () => mock.writtenLines.length === 20, 20_000);
      assert.deepEqual(mock.writtenLines, recs(20).map((r) => `m v=${r.data.v} ${r.time}`), "in order, once");
      await until("the spool emptied", () => [...Deno.readDirSync(o.out.spoolDir)].length === 0, 20_000);
    } finally {
      await o.cleanup();
      await mock.close();
    }
  }
});

Deno.test("influxdb (mock): spool bound reached: dropped, counted and loud; spool kept across restarts", async () => {
  const mock = new MockInflux();
  let down = true;
  mock.respond = () => down ? { status: 503 } : {};
  const o = await outputOn(mock, { retries: 1, retry_max: "50ms", batch_size: 10, spool_max: 600 });
  try {
    for (let i = 0; i < 5; i++) await o.out.write(recs(10, i * 10));
    await until(
      "every point spooled or dropped",
      () => (o.stats.counters.get("spooled_points") ?? 0) + (o.stats.dropped.get("spool_full") ?? 0) === 50,
      20_000,
    );
    const spooled = o.stats.counters.get("spooled_points") ?? 0;
    assert.ok(spooled > 0 && spooled < 50);
    assert.equal(o.stats.dropped.get("spool_full"), 50 - spooled);
    assert.match(o.log.join("\n"), /ERROR .*SPOOL FULL/);
    await o.out.close();
    // A new output on the same data_dir delivers what the first one left.
    down = false;
    const ctx: OutputContext = {
      name: "influx",
      log: createLogger("test", { level: "error", write() {} }),
      stats: new PartStats("output", "influx", "influxdb"),
      dataDir: o.dataDir,
      http: { route() {} },
    };
    const again = await InfluxdbOutput.create(influxdbSchema.parse({ url: mock.url, database: "db" }), ctx);
    await until("the old spool delivered", () => mock.writtenLines.length === spooled, 20_000);
    await again.close();
    assert.deepEqual(mock.writtenLines, recs(spooled).map((r) => `m v=${r.data.v} ${r.time}`));
  } finally {
    await o.cleanup();
    await mock.close();
  }
});

Deno.test("influxdb (mock): acknowledgements are held until the points are written; a record that cannot be a point costs only itself", async () => {
  const mock = new MockInflux();
  const o = await outputOn(mock, { flush_interval: "1h" });
  try {
    let acked = false;
    const rs = recs(3);
    const token = { pending: 3, done: () => acked = true };
    for (const r of rs) r.ack = token;
    rs.push(makeRecord("m", T, { list: [1, 2] }, "src"));
    const cyclic: Record<string, unknown> = { v: 1 };
    cyclic.self = cyclic;
    rs.push(makeRecord("m/cyclic", T, cyclic as never, "src", 10), ...recs(1));
    await o.out.write(rs);
    // The bus acknowledges after write(): the output's hold keeps the group open.
    for (const r of rs) if (r.ack && --r.ack.pending === 0) r.ack.done();
    assert.equal(acked, false);
    assert.deepEqual(Object.fromEntries(o.stats.rejected), { not_a_point: 1, too_deep: 1 });
    assert.match(o.log.join("\n"), /record refused.*stream=m reason=not_a_point .*source=src/);
    assert.match(o.log.join("\n"), /record refused.*stream=m\/cyclic reason=too_deep /);
    await o.out.close();
    assert.equal(acked, true);
    assert.equal(mock.writtenLines.length, 4);
  } finally {
    await o.cleanup();
    await mock.close();
  }
});

Deno.test("influxdb: permission rule names InfluxDB's host and port", async () => {
  const { transport } = await import("./mod.ts");
  const all = {
    net: new Set<string>(),
    read: new Set<string>(),
    write: new Set<string>(),
    env: new Set<string>(),
    sys: new Set<string>(),
    ffi: new Set<string>(),
  };
  const ctx = { side: "output" as const, path: (p: string) => p };
  const output = transport.output!;
  output.permissions(output.schema.parse({ url: "http://db.example:8086/", database: "d" }), all, ctx);
  output.permissions(output.schema.parse({ url: "https://cloud.example", database: "d" }), all, ctx);
  assert.deepEqual([...all.net], ["db.example:8086", "cloud.example:443"]);
});

Deno.test("influxdb (mock): with the send thread the next batch is encoded while one is on its way, sent one at a time in order", async () => {
  const mock = new MockInflux();
  mock.respond = () => ({ status: 204, delay: 150 });
  const o = await outputOn(mock, { batch_size: 3, flush_interval: "1h" });
  try {
    // The first full batch goes to the sending thread; the bus is not held up.
    assert.equal(o.out.write(recs(3)), undefined);
    // The second is encoded and waits behind it: now the bus waits for the first.
    const second = o.out.write(recs(3, 3));
    assert.ok(second instanceof Promise);
    await second;
    assert.ok(mock.requests.length >= 1);
    await o.out.close();
    assert.equal(mock.maxInFlight, 1, "one request at a time");
    assert.deepEqual(mock.requests.map((r) => r.lines.length), [3, 3]);
    assert.deepEqual(mock.writtenLines, recs(6).map((r) => `m v=${r.data.v} ${r.time}`));
  } finally {
    await o.cleanup();
  }
  // Without it, the bus waits for each batch (encoding would stall the request in flight).
  const o2 = await outputOn(mock, { batch_size: 3, flush_interval: "1h", send_thread: false });
  try {
    assert.ok(o2.out.write(recs(3)) instanceof Promise);
  } finally {
    await o2.cleanup();
    await mock.close();
  }
});

Deno.test("influxdb (mock): requests keep batch_size; the rest waits for the interval with its acknowledgements", async () => {
  const mock = new MockInflux();
  const o = await outputOn(mock, { batch_size: 3, flush_interval: "300ms" });
  try {
    const acked: number[] = [];
    const rs = recs(5);
    rs.forEach((r, i) => r.ack = { pending: 1, done: () => acked.push(i) });
    await o.out.write(rs);
    // The bus acknowledges after write(): the output's hold keeps each record open until its point is written.
    for (const r of rs) if (r.ack && --r.ack.pending === 0) r.ack.done();
    await until("the full batch", () => mock.requests.length >= 1 && acked.length >= 3, 20_000);
    assert.deepEqual(mock.requests[0].lines.length, 3);
    // Unless the interval already sent the rest (a very slow machine), only the sent batch's records are acknowledged.
    if (mock.requests.length === 1) assert.deepEqual(acked, [0, 1, 2]);
    await until("the interval flush", () => mock.requests.length === 2, 20_000);
    assert.deepEqual(mock.requests.map((r) => r.lines.length), [3, 2]);
    await until("the rest acknowledged", () => acked.length === 5, 20_000);
    assert.deepEqual(mock.writtenLines, recs(5).map((r) => `m v=${r.data.v} ${r.time}`));
  } finally {
    await o.cleanup();
    await mock.close();
  }
});

Deno.test("influxdb (daemon): records_total counts what InfluxDB took; spooled points are counted apart", async () => {
  const mock = new MockInflux();
  let down = true;
  mock.respond = () => down ? { status: 503 } : {};
  const dataDir = await Deno.makeTempDir({ prefix: "telebus-influx-counts-" });
  const daemon = await startDaemon({
    config: {
      daemon: { http: "off", data_dir: dataDir },
      inputs: { generator: [{ name: "robot", rate: 0, count: 30, streams: ["m"] }] },
      outputs: {
        influxdb: [{
          name: "influx",
          url: mock.url,
          database: "db",
          retries: 1,
          retry_initial: "5ms",
          retry_max: "50ms",
          batch_size: 10,
          flush_interval: "10ms",
        }],
      },
    },
  }, { log: createLogger("test", { level: "error", write() {} }) });
  const influx = () => daemon.stats.find((s) => s.name === "influx")!;
  const metric = (name: string) => {
    const m = new RegExp(`^${name}\\{output="influx",type="influxdb"\\} (\\d+)$`, "m").exec(
      renderPrometheus(daemon.stats),
    );
    return m ? Number(m[1]) : undefined;
  };
  try {
    await until("30 points spooled", () => influx().counters.get("spooled_points") === 30, 20_000);
    assert.equal(metric("telebus_output_records_total"), 0, "nothing was written while InfluxDB was down");
    assert.equal(metric("telebus_output_spooled_points_total"), 30);
    down = false;
    await until("the spool delivered", () => mock.writtenLines.length === 30, 20_000);
    await until("records counted as written", () => influx().records === 30, 20_000);
    // (The spool file is removed, and counted as unspooled, just after InfluxDB took its points.)
    await until("the spool counted as delivered", () => influx().counters.get("unspooled_points") === 30, 20_000);
    assert.equal(metric("telebus_output_records_total"), 30);
    assert.equal(metric("telebus_output_unspooled_points_total"), 30);
  } finally {
    await daemon.stop();
    await mock.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});
