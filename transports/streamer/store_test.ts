import assert from "node:assert/strict";
import { MemoryStreamStore } from "./store.ts";
import { nextMacrotask } from "../../testing/mod.ts";

const enc = new TextEncoder();
const text = (d: Uint8Array) => new TextDecoder().decode(d);

Deno.test("store: ms-seq ids are monotonic; explicit ids must exceed the top id", async () => {
  const s = new MemoryStreamStore();
  const a = await s.add("k", enc.encode("a"));
  const b = await s.add("k", enc.encode("b"));
  const [ams, aseq] = a.split("-").map(Number), [bms, bseq] = b.split("-").map(Number);
  assert.ok(bms > ams || (bms === ams && bseq === aseq + 1), `${b} after ${a}`);
  const far = `${bms + 1000}-5`;
  assert.equal(await s.add("k", enc.encode("c"), { id: far }), far);
  assert.equal(await s.add("k", enc.encode("d"), { id: `${bms + 1000}-*` }), `${bms + 1000}-6`);
  await assert.rejects(s.add("k", enc.encode("x"), { id: far }), /equal or smaller than the stream's top id/);
  await assert.rejects(s.add("k", enc.encode("x"), { id: "0-0" }), /greater than 0-0/);
  await assert.rejects(s.add("k", enc.encode("x"), { id: "nope" }), /invalid entry id/);
  assert.equal(await s.add("other", enc.encode("x"), { id: "5" }), "5-0");
  // auto ids after an explicit future id stay above it
  const next = await s.add("k", enc.encode("e"));
  assert.equal(next, `${bms + 1000}-7`);
});

Deno.test("store: approximate MAXLEN trim, byte bound, XINFO facts, stream limit", async () => {
  const s = new MemoryStreamStore({ maxlen: 100, maxStreams: 2, maxStreamBytes: 1024 * 1024 });
  for (let i = 1; i <= 250; i++) await s.add("k", enc.encode(String(i)), { id: `${i}-0` });
  const info = (await s.info("k"))!;
  assert.ok(info.length >= 100 && info.length < 110, `length ${info.length} stays near maxlen`);
  assert.equal(info.entriesAdded, 250);
  assert.equal(info.lastGeneratedId, "250-0");
  assert.equal(text(info.lastEntry!.data), "250");
  assert.equal(info.recordedFirstEntryId, info.firstEntry!.id);
  assert.equal(info.maxDeletedEntryId, `${250 - info.length}-0`);
  assert.equal(await s.info("missing"), undefined);
  const small = new MemoryStreamStore({ maxStreamBytes: 10 });
  for (let i = 0; i < 5; i++) await small.add("b", new Uint8Array(4));
  assert.equal((await small.info("b"))!.length, 2, "10 bytes hold two entries of 4");
  await s.add("k2", enc.encode("x"));
  await assert.rejects(s.add("k3", enc.encode("x")), /too many streams/);
  assert.deepEqual(await s.keys(), ["k", "k2"]);
  assert.deepEqual(await s.keys("k?"), ["k2"]);
  assert.equal(await s.delete("k2"), true);
  assert.equal(await s.delete("k2"), false);
});

Deno.test("store: read after cursors, count, revRange newest first", async () => {
  const s = new MemoryStreamStore();
  for (const [i, v] of ["a", "b", "c"].entries()) await s.add("x", enc.encode(v), { id: `${10 + i}-0` });
  await s.add("y", enc.encode("y"), { id: "11-5" });
  const got = await s.read([["x", "10-0"], ["y", "0"], ["none", "0"]], { count: 5 });
  assert.deepEqual(got.map(([k, es]) => [k, es.map((e) => e.id)]), [["x", ["11-0", "12-0"]], ["y", ["11-5"]]]);
  assert.deepEqual((await s.read([["x", "0"]])).map(([, es]) => es.length), [1], "count defaults to 1");
  assert.deepEqual((await s.revRange("x", { after: "10-0", count: 5 })).map((e) => e.id), ["12-0", "11-0"]);
  assert.deepEqual((await s.revRange("x", { count: 1 })).map((e) => e.id), ["12-0"]);
  await assert.rejects(s.read([["x", "-"]]), /invalid stream id/);
});

Deno.test("store: a blocked read is woken by an append, times out empty, ends on abort and on close", async () => {
  const s = new MemoryStreamStore();
  const t0 = Date.now();
  const pending = s.read([["k", "0"]], { block: 5000 });
  await nextMacrotask(); // the read has found nothing and waits: the memory store does no I/O
  s.add("k", enc.encode("now"));
  const [[key, [e]]] = await pending;
  assert.equal(key, "k");
  assert.equal(text(e.data), "now");
  assert.ok(Date.now() - t0 < 1000, "woken by the append, not the timeout");
  const t1 = Date.now();
  assert.deepEqual(await s.read([["k", e.id]], { block: 50 }), []);
  assert.ok(Date.now() - t1 >= 45);
  const ac = new AbortController();
  const forever = s.read([["k", e.id]], { block: 0, signal: ac.signal });
  await nextMacrotask();
  ac.abort();
  assert.deepEqual(await forever, []);
  const onClose = s.read([["k", e.id]], { block: 0 });
  await nextMacrotask();
  s.close();
  assert.deepEqual(await onClose, []);
  await assert.rejects(s.add("k", enc.encode("late")), /closed/);
});

Deno.test("store: values, sets, untrimmed event streams, delete of any kind, flush", async () => {
  const s = new MemoryStreamStore({ maxlen: 10, maxStreams: 3 });
  await s.setValue(":stream:meta:a:b", '{"x":1}');
  assert.equal(await s.getValue(":stream:meta:a:b"), '{"x":1}');
  assert.equal(await s.getValue("none"), undefined);
  assert.deepEqual(await s.valueKeys(":stream:meta:*"), [":stream:meta:a:b"]);
  assert.equal(await s.setAdd("set", "b"), true);
  assert.equal(await s.setAdd("set", "a"), true);
  assert.equal(await s.setAdd("set", "a"), false);
  assert.deepEqual(await s.setMembers("set"), ["a", "b"]);
  assert.equal(await s.setRemove("set", "a"), true);
  assert.equal(await s.setRemove("set", "a"), false);
  await s.setAdd("set", "c");
  await s.setAdd("set", "d");
  await assert.rejects(s.setAdd("set", "e"), /full/, "sets are bounded too");
  for (let i = 0; i < 30; i++) await s.add("ev", enc.encode(String(i)), { trim: false });
  for (let i = 0; i < 30; i++) await s.add("data", enc.encode(String(i)));
  assert.equal((await s.info("ev"))?.length, 30, "event streams are not trimmed to maxlen");
  assert.ok((await s.info("data"))!.length < 30);
  assert.equal(await s.delete(":stream:meta:a:b"), true);
  assert.equal(await s.delete("ev"), true);
  assert.equal(await s.delete("ev"), false);
  await s.flush();
  assert.deepEqual([await s.keys(), await s.valueKeys(), await s.setMembers("set")], [[], [], []]);
});
