/** MoaT-Cmd endpoint: header math and every test vector of spec §3.5, byte for byte both ways. */
import assert from "node:assert/strict";
import { decodeHeader, encodeHeader } from "./header.ts";
import { Endpoint, type Request } from "./endpoint.ts";
import { MoatError, RemoteError } from "./errors.ts";
import { hex, pipe } from "./test_util.ts";
import { encodeMsgpack } from "../../codecs/msgpack.ts";
import type { Value } from "../../core/record.ts";

Deno.test("header: channel 1 is 0/1/2/3 out and -4/-3/-2/-1 back; channel 2 is 4..7 and -8..-5", () => {
  for (let f = 0; f < 4; f++) {
    assert.equal(encodeHeader(1, f), f);
    assert.equal(encodeHeader(-1, f), -4 + f);
    assert.equal(encodeHeader(2, f), 4 + f);
    assert.equal(encodeHeader(-2, f), -8 + f);
    assert.deepEqual(decodeHeader(f), { id: -1, flags: f });
    assert.deepEqual(decodeHeader(-4 + f), { id: 1, flags: f });
    assert.deepEqual(decodeHeader(4 + f), { id: -2, flags: f });
    assert.deepEqual(decodeHeader(-8 + f), { id: 2, flags: f });
  }
  for (let id = 1; id < 5000; id += 7) {
    for (let f = 0; f < 4; f++) {
      // What one side sends for its channel decodes on the other side as the peer's channel, and back.
      assert.deepEqual(decodeHeader(encodeHeader(id, f)), { id: -id, flags: f });
      assert.deepEqual(decodeHeader(encodeHeader(-id, f)), { id, flags: f });
    }
  }
});

/** A (handler) and B (caller) as in the spec's scaffold; 0.3.3 sends no credits, so neither does this pair. */
function pair(handler?: (req: Request) => unknown) {
  const a = new Endpoint({ handler, credits: false });
  const b = new Endpoint({ credits: false });
  return { a, b, p: pipe(a, b) };
}

Deno.test("vector: b.cmd('Test',123), handler returns a dict", async () => {
  const { b, p } = pair((req) => ({ C: req.cmd, R: req.args }));
  const r = await b.cmd("Test", [123]);
  await p.settle();
  assert.deepEqual(r, [{ C: "Test", R: [123] }]);
  assert.deepEqual(p.log, ["B>83006454657374187b", "A>8323a261436454657374615281187ba0"]);
  p.stop();
});

Deno.test("vector: b.cmd('Test',123,x=5), handler msg.result('Foo',234); and its msgpack form", async () => {
  const { b, p } = pair((req) => {
    assert.deepEqual(req.kw, { x: 5 });
    req.result("Foo", 234);
    return "dropped: a final was already sent";
  });
  const r = await b.cmd("Test", [123], { x: 5 });
  await p.settle();
  assert.deepEqual(r, ["Foo", 234]);
  assert.deepEqual(p.log, ["B>84006454657374187ba1617805", "A>832363466f6f18ea"]);
  assert.equal(hex(encodeMsgpack([-4, "Foo", 234] as Value)), "93fca3466f6fccea");
  p.stop();
});

Deno.test("vector: a handler's exception travels as [name, *args]", async () => {
  const { b, p } = pair(() => {
    throw new RemoteError("ValueError", ["Unknown", 42]);
  });
  const err = await b.cmd("Test", [123]).catch((e) => e);
  await p.settle();
  assert.ok(err instanceof RemoteError);
  assert.equal(err.remoteName, "ValueError");
  assert.deepEqual(err.args, ["Unknown", 42]);
  assert.deepEqual(p.log, ["B>83006454657374187b", "A>84216a56616c75654572726f7267556e6b6e6f776e182a"]);
  p.stop();
});

Deno.test("vector: no handler answers -11, which the caller sees as NoCmd(0)", async () => {
  const { b, p } = pair();
  const err = await b.cmd("Test", [123]).catch((e) => e);
  await p.settle();
  assert.ok(err instanceof MoatError);
  assert.equal(err.code, -11);
  assert.equal(err.name, "NoCmd");
  assert.deepEqual(p.log, ["B>83006454657374187b", "A>82212a"]);
  assert.equal(p.log.length, 2);
  p.stop();
});

Deno.test("vector: b.stream_r('Test',123,answer=42); the handler streams (1,'a'), (3,'def'), then result({})", async () => {
  const { a, b, p } = pair(async (req) => {
    assert.equal(req.stream, true);
    assert.deepEqual([req.cmd, req.args, req.kw], ["Test", [123], { answer: 42 }]);
    const st = req.streamW("Takeme");
    await st.send(1, "a");
    await st.send(3, "def");
    req.result({});
  });
  const st = await b.streamR("Test", [123], { answer: 42 });
  assert.deepEqual([st.args, st.kw], [["Takeme"], {}]);
  const items: unknown[][] = [];
  for await (const item of st) items.push(item);
  await p.settle();
  assert.deepEqual(items, [[1, "a"], [3, "def"]]);
  assert.deepEqual(st.final?.payload, [{}, {}]);
  assert.deepEqual(p.log, [
    "B>84016454657374187ba166616e73776572182a",
    "A>83226654616b656d65a0",
    "A>8322016161",
    "A>83220363646566",
    "A>8323a0a0",
    "B>8200f6",
  ]);
  assert.equal(a.openChannels, 0);
  assert.equal(b.openChannels, 0);
  p.stop();
});

Deno.test("vector: b.stream_w('Up',1); the handler reads with stream_r() and returns ('OK', 2)", async () => {
  const got: unknown[][] = [];
  const { a, b, p } = pair(async (req) => {
    const st = req.streamR();
    for await (const item of st) got.push(item);
    req.result("OK", 2);
  });
  const st = await b.streamW("Up", [1]);
  assert.deepEqual([st.args, st.kw], [[], {}]);
  await st.send(1, "a");
  await st.send(2, "bc");
  st.end();
  await p.settle();
  assert.deepEqual(got, [[1, "a"], [2, "bc"]]);
  assert.deepEqual(st.final?.payload, ["OK", 2]);
  assert.deepEqual(p.log, [
    "B>840162557001a0",
    "A>8222a0",
    "B>8301016161",
    "B>830102626263",
    "B>8200f6",
    "A>8323624f4b02",
  ]);
  assert.equal(a.openChannels + b.openChannels, 0);
  p.stop();
});

Deno.test("vector: a reader with a queue of 10 grants credit [3,10] (msgpack 92030a) right after its opener", async () => {
  const a = new Endpoint({ handler: (req) => req.result("nothing") });
  const b = new Endpoint({ queue: 10 });
  const p = pipe(a, b);
  const st = await b.streamR("Test");
  st.close();
  await p.settle();
  assert.equal(p.log[1], "B>82030a");
  assert.equal(hex(encodeMsgpack([3, 10])), "92030a");
  p.stop();
});

Deno.test("warnings reach the stream; an aborted cmd stops waiting and its channel is freed by the late reply", async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  const { a, b, p } = pair(async (req) => {
    if (req.cmd === "slow") {
      await gate;
      return "late";
    }
    const st = req.streamW();
    req.warn("careful", 1);
    await st.send(1);
    return "end";
  });
  const st = await b.streamR("warn");
  const items: unknown[][] = [];
  for await (const item of st) items.push(item);
  assert.deepEqual(items, [[1]]);
  assert.deepEqual(st.warnings, [["careful", 1]]);
  await p.settle();
  assert.ok(p.log.includes("A>8320676361726566756c01"), "the warning is [-1, 'careful', 1]: S+E on channel 1");

  const ac = new AbortController();
  const call = b.cmd("slow", [], undefined, ac.signal);
  ac.abort(new Error("user gave up"));
  await assert.rejects(call, /user gave up/);
  assert.equal(b.openChannels, 1, "the id stays taken until the reply");
  release();
  await p.settle();
  assert.equal(b.openChannels + a.openChannels, 0);
  p.stop();
});
