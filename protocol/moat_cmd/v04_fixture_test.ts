/**
 * MoaT-Cmd against moat-lib-cmd 0.4.11's wire samples (testdata/moat/moat_lib_cmd_0.4.11.jsonl, from issue 17):
 * every vector decodes to its message and encodes back to its bytes; telebus's opener and credit are the bytes
 * 0.4.11 accepted; a stream sent without waiting for credits arrives whole; flag-7 credits reach their channel;
 * path commands are answered; error objects become the errors they name.
 */
import assert from "node:assert/strict";
import { Endpoint, type Request } from "./endpoint.ts";
import { MoatError, RemoteError, UnknownCommand } from "./errors.ts";
import { flag7Candidates } from "./header.ts";
import { decodeCbor, encodeCbor } from "../../codecs/cbor.ts";
import { decodeMoatMsgpackAt, encodeMoatMsgpack } from "../../codecs/moat_msgpack.ts";
import { MoatObject } from "../../codecs/moat_values.ts";
import { nextMacrotask } from "../../testing/mod.ts";

interface Vector {
  name: string;
  dir: "in" | "out";
  codec: "cbor" | "msgpack";
  hex: string;
  msg: unknown[];
  from: "issue" | "constructed";
}

const VECTORS: Vector[] =
  (await Deno.readTextFile(new URL("../../testdata/moat/moat_lib_cmd_0.4.11.jsonl", import.meta.url)))
    .trim().split("\n").map((l) => JSON.parse(l, (_k, v) => v?.$obj ? new MoatObject(v.$obj[0], v.$obj.slice(1)) : v));

const bytes = (hex: string) => Uint8Array.from(hex.match(/../g)!.map((x) => parseInt(x, 16)));
const hexOf = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const decode = (v: Vector) =>
  v.codec === "cbor" ? decodeCbor(bytes(v.hex)) : decodeMoatMsgpackAt(bytes(v.hex), 0).value;
const encode = (v: Vector, m: unknown) => hexOf(v.codec === "cbor" ? encodeCbor(m) : encodeMoatMsgpack(m));
const vector = (name: string) => VECTORS.find((v) => v.name.startsWith(name))!.msg;

Deno.test("0.4.11 vectors: each decodes to its message and encodes back to the same bytes", () => {
  assert.ok(VECTORS.length >= 13);
  for (const v of VECTORS) {
    assert.deepEqual(decode(v), v.msg, v.name);
    assert.equal(encode(v, v.msg), v.hex, v.name);
  }
});

Deno.test("0.4.11 vectors: telebus opens a stream and grants credit with the bytes 0.4.11 accepted", async () => {
  const ep = new Endpoint();
  const opening = ep.streamR("count", [200]).catch((e) => e);
  assert.equal(hexOf(encodeCbor(ep.takeOut())), "840165636f756e7418c8a0");
  // Flag 3, as 0.3.3 sends (and reads) credits; 0.4.x reads a naked integer with flag 3 as its flag 7.
  assert.equal(hexOf(encodeCbor(ep.takeOut())), "8203182a");
  ep.close();
  await opening;
});

Deno.test("0.4.11 vectors: a stream sent without waiting for credit arrives whole (200 of 200)", async () => {
  const issues: string[] = [];
  const ep = new Endpoint({ onIssue: (k, d) => issues.push(`${k}: ${d}`) });
  const opening = ep.streamR("count", [200]);
  ep.takeOut();
  ep.takeOut();
  // What 0.4.11 sent, all at once: credit 5 (flag 7), the start, 200 items, its final. An I/O loop that
  // waits on admit() (as the transports do) holds the rest while the consumer's queue is full.
  const inbound: unknown[][] = [vector("credit 5"), vector("stream start")];
  for (let i = 0; i < 200; i++) inbound.push([-3, i]);
  inbound.push(vector("default final"));
  assert.deepEqual(inbound[2], vector("item 0"));
  assert.deepEqual(inbound[3], vector("item 1"));
  let peak = 0;
  const feeding = (async () => {
    for (const m of inbound) {
      for (let room = ep.admit(m); room; room = ep.admit(m)) await room;
      ep.msgIn(m);
      peak = Math.max(peak, ep.queued);
    }
  })();
  const st = await opening;
  assert.deepEqual(st.args, ["start", 200]);
  const got: unknown[] = [];
  for await (const [i] of st) {
    got.push(i);
    if (got.length % 10 === 0) await nextMacrotask(); // a slow consumer
  }
  await feeding;
  assert.deepEqual(got, [...Array(200).keys()]);
  assert.deepEqual(st.final?.payload, [null]);
  assert.deepEqual(issues, []);
  assert.equal(ep.dropped, 0);
  assert.ok(peak <= 42, `at most the queue (42) held, saw ${peak}`);
  ep.close();
});

Deno.test("0.4.11 vectors: header 7 (flag 7) is a credit for the channel the peer opened as 1, not for -2", async () => {
  // 7 = (0 << 2) | 7: wire id 0 (the peer's channel 1) with bit 2 set by the flag; read literally, channel -2.
  assert.deepEqual(flag7Candidates(7), [-2, -1]);
  assert.deepEqual(flag7Candidates(-1), [1, 2]);
  assert.equal(flag7Candidates(3), undefined);
  const issues: string[] = [];
  let sent = 0;
  const ep = new Endpoint({
    onIssue: (k, d) => issues.push(`${k}: ${d}`),
    handler: async (req: Request) => {
      const st = req.streamW("start");
      for (let i = 0; i < 5; i++) {
        await st.send(i);
        sent++;
      }
      return "done";
    },
  });
  ep.msgIn([1, "count", 5, {}]); // the peer opens its channel 1 to read
  ep.msgIn(vector("credit 1 for the channel")); // [7, 1]
  const out: unknown[][] = [];
  const settle = async () => {
    for (let i = 0; i < 5; i++) {
      await nextMacrotask();
      for (let m = ep.takeOut(); m; m = ep.takeOut()) out.push(m);
    }
  };
  await settle();
  assert.deepEqual(issues, [], "the credit is not taken for an unknown channel -2");
  assert.deepEqual(out, [[-3, "start", {}], [-3, 0]], "one credit: exactly one item");
  assert.equal(sent, 1);
  ep.msgIn([7, 4]);
  await settle();
  assert.deepEqual(out.slice(2), [[-3, 1], [-3, 2], [-3, 3], [-3, 4], [-4, "done"]]);
  assert.equal(sent, 5);
  ep.close();
});

Deno.test("0.4.11 vectors: a command sent as a path is answered", async () => {
  const ep = new Endpoint({ handler: (req) => req.path.join(".") === "stats" ? { ok: 1 } : null });
  ep.msgIn(vector("command as a path"));
  await nextMacrotask();
  assert.deepEqual(ep.takeOut(), [-4, { ok: 1 }, {}]);
  ep.close();
});

Deno.test("0.4.11 vectors: error objects (tag 27, ext 5) become the errors they name", async () => {
  for (const v of VECTORS.filter((v) => v.name.startsWith("error object") || v.name.startsWith("unknown command"))) {
    const ep = new Endpoint();
    const call = ep.cmd(["nosuch"]).catch((e) => e);
    ep.takeOut();
    ep.msgIn(decode(v));
    const e = await call;
    if (v.name.startsWith("error object")) {
      assert.ok(e instanceof RemoteError, v.name);
      assert.equal(e.remoteName, "ValueError");
      assert.deepEqual(e.args, ["boom", 42]);
      assert.equal(e.message, "ValueError: boom 42");
    } else {
      assert.ok(e instanceof UnknownCommand && e instanceof MoatError, `${v.name}: ${e}`);
      assert.equal(e.code, -11);
      assert.equal(e.name, "NoCmd");
      assert.equal(e.message, "unknown command: nosuch");
    }
    ep.close();
  }
  // Other proxied classes keep their names; a KeyError that is not about the command path stays one.
  const ep = new Endpoint();
  const a = ep.cmd("x").catch((e) => e);
  const b = ep.cmd("y").catch((e) => e);
  ep.msgIn([-2, new MoatObject("_NPErr", ["a", ["b", "c"]])]);
  ep.msgIn([-6, new MoatObject("_KyErr", ["k"])]);
  const [ea, eb] = await Promise.all([a, b]);
  assert.ok(ea instanceof RemoteError && ea.remoteName === "_NPErr");
  assert.equal(ea.message, '_NPErr: a ["b","c"]');
  assert.ok(eb instanceof RemoteError && !(eb instanceof MoatError) && eb.remoteName === "_KyErr");
  ep.close();
});
