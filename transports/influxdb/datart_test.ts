import assert from "node:assert/strict";
import { DatartClient } from "./datart.ts";
import { createLogger } from "../../core/log.ts";
import { Influxd, MockInflux, until, upgradeStatus } from "../../testing/mod.ts";
import { InfluxError } from "./writer.ts";

const quiet = createLogger("test", { level: "error", write() {} });
const EXAMPLE = {
  measurement: "test",
  tags: { tester: "basic" },
  fields: { value: 2, f: 1.5, s: "é" },
  time: "2024-01-01T00:00:00Z",
};

/** A WebSocket client collecting text frames. */
async function wsClient(url: string) {
  const ws = new WebSocket(url);
  const messages: string[] = [];
  ws.onmessage = (e) => messages.push(e.data);
  await new Promise((r, j) => (ws.onopen = r, ws.onerror = j));
  const closed = new Promise((r) => ws.onclose = r);
  return {
    messages,
    async waitFor(n: number) {
      await until(() => `${n} messages (got ${messages.length})`, () => messages.length >= n, 20_000);
      return messages;
    },
    async close() {
      ws.close();
      await closed;
    },
  };
}

async function waitClients(rt: DatartClient, n: number) {
  await until(() => `${n} clients (got ${rt.clients})`, () => rt.clients >= n, 20_000);
}

Deno.test("dataRT client (influxUrl: null): validation, one json.dumps frame per point to /ws/client, /status, /", async () => {
  const rt = await DatartClient.start({ listen: "127.0.0.1:0", influxUrl: null, log: quiet });
  try {
    const base = rt.url!;
    const c = await wsClient(base.replace("http", "ws") + "/ws/client");
    await waitClients(rt, 1);
    for (const bad of [{ measurement: "x" }, "points", [1], [[]], null, [{ a: 1 }, "b"]]) {
      await assert.rejects(() => rt.writePoints(bad), TypeError);
    }
    assert.equal(await rt.writePoints([EXAMPLE, { measurement: "other", fields: { v: true } }]), true);
    assert.equal(await rt.writePoints([]), true);
    const frames = await c.waitFor(2);
    assert.deepEqual(frames, [
      '{"measurement": "test", "tags": {"tester": "basic"}, "fields": {"value": 2, "f": 1.5, "s": "\\u00e9"}, ' +
      '"time": "2024-01-01T00:00:00Z"}',
      '{"measurement": "other", "fields": {"v": true}}',
    ]);
    const status = await (await fetch(`${base}/status`)).json();
    assert.deepEqual(status.clients, 1);
    assert.equal(status.status, "up");
    const root = await fetch(`${base}/`);
    assert.equal(await root.text(), "200 OK");
    assert.equal(await rt.query("SELECT * FROM test"), null);
    await rt.createDatabase("x");
    await c.close();
  } finally {
    await rt.close();
  }
});

Deno.test("dataRT client: InfluxDB write as influxdb-python does it (mock): /write?db, line, errors raise", async () => {
  const mock = new MockInflux();
  const rt = await DatartClient.start({ listen: "off", influxUrl: mock.url, influxDatabase: "db", log: quiet });
  try {
    await rt.writePoints([{
      ...EXAMPLE,
      tags: { tester: "basic ex", a: "1" },
      fields: { ...EXAMPLE.fields, b: true },
    }]);
    assert.equal(mock.requests[0].path, "/write");
    assert.deepEqual(mock.requests[0].query, { db: "db", precision: "n" });
    assert.equal(mock.requests[0].headers.authorization, undefined, "no auth without user and password");
    assert.equal(mock.requests[0].body, 'test,a=1,tester=basic\\ ex b=true,f=1.5,s="é",value=2i 1704067200000000000');
    await rt.writePoints([{ measurement: "m", fields: { v: 1 }, time: 1704067200 }], {
      timePrecision: "s",
      database: "other",
      retentionPolicy: "rp",
      tags: { extra: "t" },
    });
    assert.deepEqual(mock.requests[1].query, { db: "other", rp: "rp", precision: "n" });
    assert.equal(mock.requests[1].body, "m,extra=t v=1i 1704067200000000000");
    mock.script.push({ status: 400, body: { error: "partial write: field type conflict" } });
    await assert.rejects(() => rt.writePoints([{ measurement: "m", fields: { v: "s" } }]), InfluxError);
  } finally {
    await rt.close();
    await mock.close();
  }
});

Deno.test({
  name: "dataRT client → real influxd: createDatabase, writePoints, query read back",
  sanitizeResources: false,
  async fn() {
    const influx = await Influxd.start();
    const rt = await DatartClient.start({
      listen: "127.0.0.1:0",
      influxUrl: influx.url,
      influxDatabase: "dart",
      log: quiet,
    });
    try {
      await rt.createDatabase("dart");
      await rt.writePoints([EXAMPLE]);
      const res = await rt.query("SELECT * FROM test", { epoch: "ns" }) as {
        results: { series: { columns: string[]; values: unknown[][] }[] }[];
      };
      const s = res.results[0].series[0];
      assert.deepEqual(s.columns, ["time", "f", "s", "tester", "value"]);
      assert.deepEqual(s.values, [[1704067200000000000, 1.5, "é", "basic", 2]]);
      const types = await influx.query("SHOW FIELD KEYS FROM test", "dart");
      assert.deepEqual(types.results[0].series![0].values, [["f", "float"], ["s", "string"], ["value", "integer"]]);
    } finally {
      await rt.close();
      await influx.stop();
    }
  },
});

Deno.test("dataRT client: pages of other origins (dataRT's example pages opened as files: null) need corsOrigins", async () => {
  const closed = await DatartClient.start({ listen: "127.0.0.1:0", influxUrl: null, log: quiet });
  const open = await DatartClient.start({ listen: "127.0.0.1:0", influxUrl: null, log: quiet, corsOrigins: ["null"] });
  try {
    const at = (c: DatartClient) => c.url!.replace("http://", "");
    assert.equal(await upgradeStatus(at(closed), "/ws/client", { origin: "null" }), 403);
    assert.equal(await upgradeStatus(at(closed), "/ws/client"), 101, "scripts without Origin still connect");
    assert.equal(await upgradeStatus(at(open), "/ws/client", { origin: "null" }), 101);
    assert.equal(await upgradeStatus(at(open), "/ws/client", { origin: "http://evil.example" }), 403);
  } finally {
    await closed.close();
    await open.close();
  }
});
