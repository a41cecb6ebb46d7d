import assert from "node:assert/strict";
import { MpackServeOutput, parseRequest } from "./output.ts";
import { mpackServeSchema } from "./schema.ts";
import { makeRecord } from "../../core/record.ts";
import { PartStats } from "../../core/stats.ts";
import { createLogger } from "../../core/log.ts";
import { until } from "../../testing/mod.ts";

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

function open() {
  const stats = new PartStats("output", "serve", "mpack_serve");
  const lines: string[] = [];
  const out = MpackServeOutput.create(mpackServeSchema.parse({ listen: "127.0.0.1:0" }), {
    name: "serve",
    log: createLogger("serve", { level: "debug", write: (l) => lines.push(l) }),
    stats,
    dataDir: "/tmp",
    http: { route() {} },
  });
  return { out, stats, lines };
}

/** A client that reads in the background, so that a request with no reply does not swallow the next reply. */
class Client {
  readonly received: number[] = [];
  readonly done: Promise<void>;
  private constructor(readonly conn: Deno.TcpConn) {
    this.done = (async () => {
      const buf = new Uint8Array(4096);
      for (;;) {
        const n = await conn.read(buf).catch(() => null);
        if (n === null) return;
        this.received.push(...buf.subarray(0, n));
      }
    })();
  }
  static async connect(port: number) {
    return new Client(await Deno.connect({ hostname: "127.0.0.1", port }));
  }
  /** Sends `request` without waiting for a reply. */
  async send(request: string): Promise<void> {
    await this.conn.write(new TextEncoder().encode(request));
  }
  /** Sends `request`, waits until `expect` more bytes arrived, returns them. */
  async ask(request: string, expect: number): Promise<Uint8Array> {
    const start = this.received.length;
    await this.send(request);
    await until(
      () => `${expect} bytes (got ${this.received.length - start})`,
      () => this.received.length - start >= expect,
    );
    return new Uint8Array(this.received.slice(start));
  }
}

Deno.test("parseRequest: get with whitespace, several gets, stop, junk", () => {
  const e = new TextEncoder();
  assert.deepEqual(parseRequest(e.encode("get")), { gets: 1, stop: false });
  assert.deepEqual(parseRequest(e.encode(" get \n")), { gets: 1, stop: false });
  assert.deepEqual(parseRequest(e.encode("getget")), { gets: 2, stop: false });
  assert.deepEqual(parseRequest(e.encode("stop")), { gets: 0, stop: true });
  assert.equal(parseRequest(e.encode("give")), undefined);
  assert.equal(parseRequest(new Uint8Array([0x67, 0xff, 0xfe])), undefined);
});

Deno.test("mpack_serve: 80 before any record, then the newest record's bytes (spec vector)", async () => {
  const { out, stats } = open();
  const c = await Client.connect(out.port);
  assert.equal(hex(await c.ask("get", 1)), "80");
  out.write([makeRecord("s", 1n, { a: 1 }, "t"), makeRecord("s", 2n, { a: 2, b: [1.5] }, "t")]);
  assert.equal(hex(await c.ask("get\n", 16)), "82a16102a1629" + "1cb3ff8000000000000");
  // Two requests in one read: two replies (mpacklog sends none and its client hangs).
  const two = await c.ask("getget", 32);
  assert.equal(two.length, 32);
  // Junk gets no reply, and the connection stays usable: once the junk is counted, the reply to the next request
  // is all that comes (replies go out in order, so one to the junk would come first).
  const beforeJunk = c.received.length;
  await c.send("hello");
  await until("the junk counted", () => stats.counters.get("bad_requests") === 1);
  assert.equal((await c.ask(" get ", 16)).length, 16);
  assert.equal(c.received.length - beforeJunk, 16, "no reply to junk");
  assert.equal(stats.counters.get("bad_requests"), 1);
  assert.equal(stats.counters.get("requests"), 5);
  c.conn.close();
  await c.done;
  await out.close();
});

Deno.test("mpack_serve: stop from a client is ignored and logged; close ends clients", async () => {
  const { out, lines } = open();
  const c = await Client.connect(out.port);
  const beforeStop = c.received.length;
  await c.send("stop");
  await until("the stop logged", () => lines.some((l) => l.includes("ignoring 'stop'")));
  assert.equal(hex(await c.ask("get", 1)), "80");
  assert.equal(c.received.length - beforeStop, 1, "no reply to stop: only the get's");
  await out.close();
  await c.done; // the server closed the connection
  c.conn.close();
});

Deno.test("mpack_serve: a newest record it cannot encode costs only itself; the one before it is served", async () => {
  const { out, stats, lines } = open();
  const c = await Client.connect(out.port);
  let deep: unknown = 1;
  for (let i = 0; i < 100; i++) deep = [deep]; // its 1 sits at level 101: telebus's reader would refuse it
  assert.doesNotThrow(() =>
    out.write([
      makeRecord("s", 1n, { a: 1 }, "t"),
      makeRecord("s", 2n, { a: 2 }, "t"),
      makeRecord("bad/deep", 3n, { deep: deep as number }, "t"),
      makeRecord("bad/big", 4n, { big: 2n ** 64n }, "t"),
    ])
  );
  assert.equal(hex(await c.ask("get", 4)), "81a16102");
  assert.deepEqual(Object.fromEntries(stats.rejected), { unencodable: 1, too_deep: 1 });
  assert.equal(lines.filter((l) => l.includes("record refused")).length, 2);
  c.conn.close();
  await c.done;
  await out.close();
});

Deno.test("mpack_serve: with [daemon] token, a non-loopback address is refused unless public = true", async () => {
  const { parseConfig } = await import("../../config/load.ts");
  const { transports } = await import("../mod.ts");
  const { Daemon } = await import("../../core/daemon.ts");
  const toml = (extra: string) =>
    `[daemon]\nhttp = "off"\ntoken = "s3cret"\n\n[[outputs.mpack_serve]]\nlisten = "0.0.0.0:0"\n${extra}`;
  await assert.rejects(
    parseConfig(toml(""), { registry: transports, file: "t.toml" }),
    /t\.toml:6:10: outputs\.mpack_serve\[0\]\.listen: "0\.0\.0\.0:0" is reachable from other machines while \[daemon\] token is set.*set public = true/,
  );
  // Loopback, or no token, is fine as it was.
  await parseConfig(toml("").replace('"0.0.0.0:0"', '"127.0.0.1:0"'), { registry: transports });
  await parseConfig(toml("").replace('token = "s3cret"', ""), { registry: transports });
  // public = true: it starts and serves on every interface.
  const dir = await Deno.makeTempDir();
  const quiet = createLogger("test", { level: "error", write() {} });
  const free = Deno.listen({ hostname: "0.0.0.0", port: 0 });
  const port = (free.addr as Deno.NetAddr).port;
  free.close();
  const publicToml = toml("public = true").replace('http = "off"', `http = "off"\ndata_dir = "${dir}"`)
    .replace('"0.0.0.0:0"', `"0.0.0.0:${port}"`);
  const ok = await parseConfig(publicToml, { registry: transports });
  const daemon = new Daemon(ok, quiet);
  await daemon.start();
  try {
    const c = await Deno.connect({ hostname: "127.0.0.1", port });
    await c.write(new TextEncoder().encode("get"));
    const buf = new Uint8Array(8);
    assert.equal(await c.read(buf), 1);
    assert.equal(buf[0], 0x80);
    c.close();
  } finally {
    await daemon.stop();
  }
  // A plan that bypassed the configuration loader is refused when the output starts.
  const bypass = new Daemon({
    ...ok,
    outputs: ok.outputs.map((o) => ({ ...o, config: { ...o.config, public: false } })),
  }, quiet);
  await assert.rejects(bypass.start(), /mpack_serve mpack_serve0: "0\.0\.0\.0:\d+" is reachable from other machines/);
  await Deno.remove(dir, { recursive: true });
});
