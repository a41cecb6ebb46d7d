/** The moat_cmd server in a daemon: pub (one and streamed), sub, latest, streams, stats, errors, bad bytes. */
import assert from "node:assert/strict";
import { startDaemon } from "../../start.ts";
import { MoatError, RemoteError } from "../../protocol/moat_cmd/errors.ts";
import { encodeCbor } from "../../codecs/cbor.ts";
import { connectClient, memoryLogger } from "./test_util.ts";
import { freePort, until } from "../../testing/mod.ts";

async function daemon(port: number, withOutput = true) {
  const { log, lines } = memoryLogger();
  const d = await startDaemon({
    config: {
      daemon: { http: "off", data_dir: await Deno.makeTempDir() },
      inputs: { moat_cmd: [{ name: "moat", listen: `127.0.0.1:${port}` }] },
      outputs: withOutput ? { moat_cmd: [{ name: "moatsrv", listen: `127.0.0.1:${port}`, sub_queue: 1000 }] } : {},
    },
  }, { log });
  return { d, lines };
}

Deno.test("moat server: pub one and a stream of records; sub, latest, streams and stats see them", async () => {
  const port = freePort();
  const { d } = await daemon(port);
  const c = await connectClient(port);
  const sub = await connectClient(port);
  try {
    const st = await sub.ep.streamR("sub", ["robot/*"]);
    assert.deepEqual(st.args, ["sub", ["robot/*"]]);
    assert.deepEqual(await c.ep.cmd("pub", ["robot/a", { x: 1 }, 1_700_000_000.5]), [1]);
    assert.deepEqual(await c.ep.cmd("pub", ["other", { y: 2 }]), [1]);
    const w = await c.ep.streamW("pub");
    for (let i = 0; i < 500; i++) await w.send("robot/b", { i });
    w.end();
    assert.deepEqual(await w.done(), [500]);

    const got: unknown[][] = [];
    for await (const item of st) {
      got.push(item);
      if (got.length === 501) break;
    }
    assert.deepEqual(got[0], ["robot/a", 1_700_000_000.5, { x: 1 }]);
    assert.deepEqual(got[500].slice(0, 1), ["robot/b"]);
    assert.deepEqual(got[500][2], { i: 499 });

    const latest = await c.ep.cmd("latest", ["robot/b"]) as [[string, number, unknown]];
    assert.equal(latest[0][0], "robot/b");
    assert.deepEqual(latest[0][2], { i: 499 });
    assert.deepEqual(await c.ep.cmd("latest", ["nothing"]), [null]);
    assert.deepEqual(await c.ep.cmd("streams"), [{ "robot/a": 1, other: 1, "robot/b": 500 }]);
    const stats = (await c.ep.cmd("stats"))[0] as { name: string; records: number }[];
    assert.equal(stats.find((p) => p.name === "moat")?.records, 502);
  } finally {
    await c.close();
    await sub.close();
    await d.stop();
  }
});

Deno.test("moat server: unknown commands answer -11/-12, bad pubs and bad bytes are counted, the connection stays", async () => {
  const port = freePort();
  const { d, lines } = await daemon(port, false);
  const c = await connectClient(port);
  try {
    const e1 = await c.ep.cmd("nope").catch((e) => e);
    assert.ok(e1 instanceof MoatError && e1.code === -11);
    const e2 = await c.ep.cmd(["pub", "x"]).catch((e) => e);
    assert.ok(e2 instanceof MoatError && e2.code === -12);
    const e3 = await c.ep.cmd("pub", [42, { x: 1 }]).catch((e) => e);
    assert.ok(e3 instanceof RemoteError && e3.remoteName === "ValueError");
    // Without the output part, sub names what is missing.
    const e4 = await c.ep.streamR("sub").catch((e) => e);
    assert.ok(e4 instanceof RemoteError && /outputs\.moat_cmd/.test(String(e4.args[0])));
    // A non-list message, garbage and a reply to nothing, straight on the socket between calls.
    await c.conn.write(encodeCbor({ not: "a list" }));
    await c.conn.write(new Uint8Array([0xff, 0xfe, 0x1c]));
    await c.conn.write(encodeCbor([-4, "reply to nothing"]));
    assert.deepEqual(await c.ep.cmd("pub", ["ok", { v: 1 }]), [1]);
    const input = d.stats.find((p) => p.name === "moat")!;
    await until("errors counted", () => input.errors >= 4);
    assert.equal(input.counters.get("garbage"), 1);
    assert.equal(input.counters.get("not_a_list"), 1);
    assert.equal(input.counters.get("unknown_channel"), 1);
    assert.equal(input.counters.get("bad_pub"), 1);
    assert.equal(input.records, 1);
    assert.ok(lines.some((l) => /moat 127\.0\.0\.1:\d+: message is not a non-empty list/.test(l)), "peer named");
  } finally {
    await c.close();
    await d.stop();
  }
});

Deno.test("moat server: a record it cannot send (cyclic, too deep) costs only itself, for sub and latest", async () => {
  const { createMoatServerOutput } = await import("./server.ts");
  const { moatOutputSchema } = await import("./schema.ts");
  const { PartStats } = await import("../../core/stats.ts");
  const { makeRecord } = await import("../../core/record.ts");
  const port = freePort();
  const { log, lines } = memoryLogger();
  const stats = new PartStats("output", "moatsrv", "moat_cmd");
  const out = createMoatServerOutput(moatOutputSchema.parse({ listen: `127.0.0.1:${port}` }), {
    name: "moatsrv",
    log,
    stats,
    dataDir: "/nonexistent",
    http: { route() {} },
  });
  const c = await connectClient(port);
  try {
    const st = await c.ep.streamR("sub", []);
    await until("the subscription is registered", () => (stats.counters.get("cmd_sub") ?? 0) > 0);
    const cyclic: Record<string, unknown> = { i: -1 };
    cyclic.self = cyclic;
    out.write([
      makeRecord("a", 1n, { i: 0 }, "test"),
      makeRecord("a", 2n, cyclic as never, "test", 10),
      makeRecord("b", 3n, { i: 1 }, "test"),
    ]);
    const got: unknown[] = [];
    for await (const item of st) {
      got.push((item[2] as { i: number }).i);
      if (got.length === 2) break;
    }
    assert.deepEqual(got, [0, 1]);
    assert.deepEqual(Object.fromEntries(stats.rejected), { too_deep: 1 });
    const latest = await c.ep.cmd("latest", ["a"]) as [[string, number, unknown]];
    assert.deepEqual(latest[0][2], { i: 0 });
    assert.equal(lines.filter((l) => l.includes("record refused")).length, 1);
  } finally {
    await c.close();
    await out.close();
  }
});

Deno.test("moat server: a pub of a record beyond the codecs' limits is refused before the bus, counted", async () => {
  const port = freePort();
  const { d, lines } = await daemon(port);
  const c = await connectClient(port);
  try {
    let deep: unknown = 1;
    for (let i = 0; i < 100; i++) deep = [deep]; // its 1 at level 101
    await c.ep.cmd("pub", ["robot/a", { x: 1 }]);
    await c.ep.cmd("pub", ["robot/deep", { deep }]);
    await c.ep.cmd("pub", ["robot/b", { x: 2 }]);
    const moat = d.stats.find((p) => p.name === "moat")!;
    await until("the refusal is counted", () => moat.rejectedTotal === 1);
    assert.deepEqual(Object.fromEntries(moat.rejected), { too_deep: 1 });
    await until("the good records reach the output", () => d.stats.find((p) => p.name === "moatsrv")!.records === 2);
    assert.deepEqual(await c.ep.cmd("streams"), [{ "robot/a": 1, "robot/b": 1 }]);
    assert.ok(lines.some((l) => /record refused.*stream=robot\/deep reason=too_deep/.test(l)), lines.join("\n"));
  } finally {
    await c.close();
    await d.stop();
  }
});
