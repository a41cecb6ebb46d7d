/**
 * MoaT-Cmd against the recorded exchange of two moat-lib-cmd 0.3.3 peers
 * (testdata/moat): telebus as the server answers the recorded
 * client exactly as the original server did, and telebus as the client sends
 * exactly what the original client sent.
 */
import assert from "node:assert/strict";
import { Endpoint, type Request } from "./endpoint.ts";
import { decodeHeader } from "./header.ts";
import { RemoteError } from "./errors.ts";
import { decodeCbor, encodeCbor } from "../../codecs/cbor.ts";
import { nextMacrotask, until, untilValue } from "../../testing/mod.ts";

const DIR = new URL("../../testdata/moat/", import.meta.url);

interface Wire {
  dir: "in" | "out";
  msg: unknown[];
}

/** Parses the JSON lines: integers beyond 2^53 as bigint, `{"$bin": …}` as bytes. */
async function load(name: string): Promise<Wire[]> {
  const text = await Deno.readTextFile(new URL(name, DIR));
  const revive = (_k: string, v: unknown, ctx?: { source?: string }) => {
    if (typeof v === "number" && !Number.isSafeInteger(v) && ctx?.source && /^-?\d+$/.test(ctx.source)) {
      return BigInt(ctx.source);
    }
    if (v && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 1 && "$bin" in v) {
      return Uint8Array.from(atob((v as { $bin: string }).$bin), (c) => c.charCodeAt(0));
    }
    return v;
  };
  return text.trim().split("\n").map((l) => JSON.parse(l, revive as never) as Wire);
}

/** The recorded server's commands: echo, count (stream_w), sum (stream_r), fail; others raise KeyError. */
async function fixtureHandler(req: Request): Promise<unknown> {
  switch (req.cmd) {
    case "echo":
      return [req.args, req.kw];
    case "count": {
      const n = req.args[0] as number;
      const st = req.streamW("start", n);
      for (let i = 0; i < n; i++) await st.send(i);
      req.result("done", n);
      return;
    }
    case "sum": {
      const st = req.streamR();
      let sum = 0, n = 0;
      for await (const [v] of st) {
        sum += v as number;
        n++;
      }
      req.result(sum, n);
      return;
    }
    case "fail":
      throw new RemoteError("ValueError", req.args);
    default:
      throw new RemoteError("KeyError", [req.cmd]);
  }
}

/** Groups messages by channel (order kept within each): concurrent replies may interleave differently. */
function byChannel(msgs: unknown[][]): Map<number, unknown[][]> {
  const m = new Map<number, unknown[][]>();
  for (const msg of msgs) {
    // Normalise both directions to the channel as the client numbers it.
    const id = Math.abs(decodeHeader(msg[0] as number).id);
    if (!m.has(id)) m.set(id, []);
    m.get(id)!.push(msg);
  }
  return m;
}

/** Through CBOR and back: what the peer would decode. */
const wire = (m: unknown[]) => decodeCbor(encodeCbor(m)) as unknown[];

Deno.test("fixture: telebus as server answers the 0.3.3 client exactly as the 0.3.3 server did", async () => {
  const rec = await load("server_wire.jsonl");
  const server = new Endpoint({ handler: fixtureHandler, credits: false });
  const outs: unknown[][] = [];
  const drain = async () => {
    for (let i = 0; i < 5; i++) {
      await nextMacrotask();
      for (let m = server.takeOut(); m; m = server.takeOut()) outs.push(wire(m));
    }
  };
  for (const w of rec) {
    if (w.dir === "in") {
      server.msgIn(w.msg);
      await drain();
    }
  }
  const expected = rec.filter((w) => w.dir === "out").map((w) => w.msg);
  assert.equal(outs.length, expected.length);
  // Sequential exchanges match message for message; the five concurrent commands match per channel.
  assert.deepEqual(outs.slice(0, -5), expected.slice(0, -5));
  assert.deepEqual(byChannel(outs.slice(-5)), byChannel(expected.slice(-5)));
  assert.equal(server.openChannels, 0);
});

Deno.test("fixture: telebus as client sends exactly what the 0.3.3 client sent and gets its results", async () => {
  const rec = await load("client_wire.jsonl");
  const client = new Endpoint({ credits: false });
  const server = new Endpoint({ handler: fixtureHandler, credits: false });
  const log: Wire[] = [];
  let stop = false;
  const pump = async (from: Endpoint, to: Endpoint, dir: "in" | "out") => {
    while (!stop) {
      const m = await from.msgOut();
      if (!m) return;
      const back = wire(m);
      log.push({ dir, msg: back });
      to.msgIn(back);
    }
  };
  pump(client, server, "out");
  pump(server, client, "in");

  assert.deepEqual(await client.cmd("echo", ["hello"]), [[["hello"], {}]]);
  const ints = [1, -1, 0, 23, 24, 255, 256, 65535, 65536, 4294967295, 4294967296, 2n ** 63n - 1n, -(2n ** 63n)];
  assert.deepEqual(await client.cmd("echo", ints), [[ints, {}]]);
  const floats = [1.5, -0, 1e300, 0.1];
  const fr = await client.cmd("echo", floats) as [[number[]]];
  assert.ok(Object.is(fr[0][0][1], -0), "-0.0 survives the round trip");
  assert.deepEqual(fr, [[floats, {}]]);
  const strs = ["héllo ✓ 😀", "", new Uint8Array([0, 1, 255]), new Uint8Array()];
  assert.deepEqual(await client.cmd("echo", strs), [[strs, {}]]);
  const nested = [[1, [2, [3, []]]], { a: { b: [true, false, null] } }];
  assert.deepEqual(await client.cmd("echo", nested), [[nested, {}]]);
  assert.deepEqual(await client.cmd("echo", [], { answer: 42, nested: { x: [1, 2] } }), [[[], {
    answer: 42,
    nested: { x: [1, 2] },
  }]]);
  assert.deepEqual(await client.cmd("echo", ["with-kw", 7], { k: "v" }), [[["with-kw", 7], { k: "v" }]]);
  assert.deepEqual(await client.cmd("echo", [{ last: "dict" }]), [[[{ last: "dict" }], {}]]);

  const count = await client.streamR("count", [10]);
  assert.deepEqual(count.args, ["start", 10]);
  const items: unknown[] = [];
  for await (const [i] of count) items.push(i);
  assert.deepEqual(items, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(count.final?.payload, ["done", 10]);

  const sum = await client.streamW("sum");
  for (let i = 0; i < 10; i++) await sum.send(i);
  sum.end();
  const final = await untilValue("the sum's final message", () => sum.final);
  assert.deepEqual(final.payload, [45, 10]);

  const fail = await client.cmd("fail", ["boom", 42]).catch((e) => e);
  assert.ok(fail instanceof RemoteError && fail.remoteName === "ValueError");
  const unknown = await client.cmd("no-such-command").catch((e) => e);
  assert.ok(unknown instanceof RemoteError && unknown.remoteName === "KeyError");

  const five = await Promise.all([0, 1, 2, 3, 4].map((i) => client.cmd("echo", [i])));
  assert.deepEqual(five, [0, 1, 2, 3, 4].map((i) => [[[i], {}]]));
  await until(() => `every recorded message (${log.length} of ${rec.length})`, () => log.length >= rec.length);
  stop = true;

  // The five concurrent commands' messages may interleave differently; everything before is in order.
  const got = log.map((w) => `${w.dir} ${JSON.stringify(w.msg, big)}`);
  const want = rec.map((w) => `${w.dir} ${JSON.stringify(w.msg, big)}`);
  assert.deepEqual(got.slice(0, -10), want.slice(0, -10));
  assert.deepEqual(got.slice(-10).sort(), want.slice(-10).sort());
  assert.equal(client.openChannels + server.openChannels, 0);
  client.close();
  server.close();
});

function big(_k: string, v: unknown): unknown {
  if (typeof v === "bigint") return `${v}n`;
  if (v instanceof Uint8Array) return { $bin: Array.from(v) };
  if (typeof v === "number" && Object.is(v, -0)) return "-0";
  return v;
}
