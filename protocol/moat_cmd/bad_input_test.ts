/** Bad input to an endpoint and to the framings: answered or dropped as the spec says, reported, never fatal. */
import assert from "node:assert/strict";
import { Endpoint, type IssueKind } from "./endpoint.ts";
import { CborStreamDecoder, crc16, encodeSerialFrame, type FrameIssue, SerialDecoder } from "./framing.ts";
import { encodeCbor } from "../../codecs/cbor.ts";
import { hex, unhex } from "./test_util.ts";
import { nextMacrotask } from "../../testing/mod.ts";

function endpoint() {
  const issues: [IssueKind, string][] = [];
  const ep = new Endpoint({ handler: (req) => ["ok", ...req.args], onIssue: (k, d) => issues.push([k, d]) });
  return { ep, issues };
}

const tick = nextMacrotask;

Deno.test("bad input: non-lists, empty lists and non-integer headers are dropped and reported", async () => {
  const { ep, issues } = endpoint();
  for (const m of [5, "x", null, {}, [], ["a", 1], [1.5], [2n ** 80n]]) ep.msgIn(m);
  assert.deepEqual(issues.map((i) => i[0]), [
    "not_a_list",
    "not_a_list",
    "not_a_list",
    "not_a_list",
    "not_a_list",
    "bad_header",
    "bad_header",
    "bad_header",
  ]);
  // The endpoint still works.
  ep.msgIn([0, "x", 1]);
  await tick();
  assert.deepEqual(ep.takeOut(), [-4, ["ok", 1]]);
});

Deno.test("bad input: a reply on a channel this side never opened, and an error opening a channel, are dropped", () => {
  const { ep, issues } = endpoint();
  ep.msgIn([-4, "reply to nothing"]);
  ep.msgIn([-2, "ValueError"]);
  ep.msgIn([2, -3]); // an error on a peer channel that is not open
  assert.deepEqual(issues.map((i) => i[0]), ["unknown_channel", "unknown_channel", "unknown_channel"]);
  assert.match(issues[0][1], /channel 1 which is not open/);
  assert.equal(ep.takeOut(), undefined, "nothing is answered");
});

Deno.test("bad input: a second final on a channel is dropped and reported; ids are reused at once", async () => {
  const { ep } = endpoint();
  ep.msgIn([1, "x", {}]); // the peer opens a stream on its channel 1 (ours: -1)
  await tick();
  assert.deepEqual(ep.takeOut(), [-4, ["ok"]]); // the handler answers with a final at once
  assert.equal(ep.openChannels, 1, "open until the peer's final");
  ep.msgIn([0, null]); // the peer's final
  assert.equal(ep.openChannels, 0);
  // Channel 1 is free again: the peer's next [0, …] is a new command, answered normally.
  ep.msgIn([0, "x", 2]);
  await tick();
  assert.deepEqual(ep.takeOut(), [-4, ["ok", 2]]);

  // On a channel this side opened and has not ended, a second final and a later item are dropped.
  const c = endpoint();
  const st = c.ep.streamRW("z");
  assert.deepEqual(c.ep.takeOut(), [1, "z", {}]);
  assert.deepEqual(c.ep.takeOut(), [3, 42]); // its credit
  c.ep.msgIn([-3, "go", {}]);
  const stream = await st;
  c.ep.msgIn([-4, "done"]);
  c.ep.msgIn([-4, "done again"]);
  c.ep.msgIn([-3, "item after final"]);
  assert.deepEqual(c.issues.map((i) => i[0]), ["after_final", "after_final"]);
  assert.deepEqual(stream.final?.payload, ["done"]);
  stream.end();
  assert.deepEqual(c.ep.takeOut(), [0, null]);
  assert.equal(c.ep.openChannels, 0);
});

Deno.test("bad input: with overflow drop, an overflowing reader drops, counts, reports, warns -5", async () => {
  const issues: IssueKind[] = [];
  const ep = new Endpoint({ queue: 4, overflow: "drop", onIssue: (k) => issues.push(k) });
  const st = ep.streamR("flood");
  ep.takeOut();
  assert.deepEqual(ep.takeOut(), [3, 4], "credit of the whole queue");
  ep.msgIn([-3, {}]);
  const stream = await st;
  for (let i = 0; i < 6; i++) {
    assert.equal(ep.admit([-3, i]), undefined, "drop mode never holds the connection");
    ep.msgIn([-3, i]); // a sender that ignores credit (0.3.3)
  }
  assert.deepEqual(issues, ["queue_overflow", "queue_overflow"]);
  assert.equal(ep.dropped, 2);
  assert.deepEqual(await stream.next(), [0]);
  assert.deepEqual(ep.takeOut(), [3, -5], "data lost");
  stream.close();
  assert.deepEqual(ep.takeOut(), [2, -3], "leaving a live stream cancels it");
});

Deno.test("framing: truncated and garbage CBOR is skipped to the next message and reported", () => {
  const issues: FrameIssue[] = [];
  const d = new CborStreamDecoder((i) => issues.push(i));
  const a = encodeCbor([0, "Test", 123]);
  const b = encodeCbor([4, "x"]);
  // Garbage, then a message split over two chunks, then a stray break byte between messages.
  const all = new Uint8Array([0xff, 0x1c, ...a, 0xff, ...b]);
  const out = [...d.push(all.subarray(0, 5)), ...d.push(all.subarray(5))];
  assert.deepEqual(out, [[0, "Test", 123], [4, "x"]]);
  assert.deepEqual(issues.map((i) => [i.kind, i.bytes]), [["garbage", 2], ["garbage", 1]]);
  d.push(a.subarray(0, 4));
  d.end();
  assert.deepEqual(issues[2].kind, "truncated");
  assert.deepEqual(d.push(a), [[0, "Test", 123]], "the decoder goes on after a truncated tail");
});

Deno.test("serial: the spec's frame of [0,'Test',123], CRC-16 0xBAAD", () => {
  const payload = unhex("83006454657374187b");
  assert.equal(crc16(payload), 0x3de6);
  assert.equal(hex(encodeSerialFrame(payload)), "850983006454657374187b3de6");
});

Deno.test("serial: bad CRC dropped and reported, console bytes kept, UTF-8 0x85 continuation not a frame", () => {
  const issues: FrameIssue[] = [];
  const d = new SerialDecoder(127, (i) => issues.push(i));
  const good = encodeSerialFrame(unhex("83006454657374187b"));
  const bad = good.slice();
  bad[bad.length - 1] ^= 1;
  const text = new TextEncoder().encode("ok … "); // "…" is e2 80 a6; "Å" would be c3 85
  const r = d.push(new Uint8Array([...text, 0xc3, 0x85, ...bad, ...good]));
  assert.equal(r.frames.length, 1);
  assert.equal(hex(r.frames[0]), "83006454657374187b");
  assert.equal(new TextDecoder().decode(r.console), "ok … Å");
  assert.equal(issues.length, 1);
  assert.equal(issues[0].kind, "crc");
  // Long frames when max_packet > 255.
  const big = new Uint8Array(300).fill(7);
  const long = encodeSerialFrame(big, 1000);
  assert.deepEqual([...long.subarray(0, 3)], [0x85, (300 & 0x7f) | 0x80, 300 >> 7]);
  const d2 = new SerialDecoder(1000);
  assert.deepEqual(d2.push(long).frames[0], big);
  // Idle reset mid-frame.
  const d3 = new SerialDecoder(127, (i) => issues.push(i));
  d3.push(good.subarray(0, 5));
  d3.idle();
  assert.equal(issues.at(-1)?.kind, "truncated");
  assert.equal(d3.push(good).frames.length, 1);
  assert.throws(() => encodeSerialFrame(new Uint8Array()), /empty/);
});
