import assert from "node:assert/strict";
import { type BusRecord, makeRecord } from "../core/record.ts";
import { ProcessorStats } from "../core/stats.ts";
import { DropProcessor, RenameProcessor, SelectProcessor } from "./keys.ts";
import { FlattenProcessor } from "./flatten.ts";
import type { ProcessorContext } from "./processor.ts";

const ctx = (): ProcessorContext => ({ stats: new ProcessorStats(0, "x"), emit: () => {} });
const rec = (data: BusRecord["data"], stream = "s") => makeRecord(stream, 5n, data, "in");

Deno.test("select: keys by glob over nested paths; the original record is left as it was", () => {
  const c = ctx();
  const p = new SelectProcessor({ type: "select", keys: ["battery", "pose/x", "imu"] }, c);
  const data = { battery: 80, pose: { x: 1, y: 2 }, imu: { a: 1 }, raw: "zz" };
  const r = rec(data);
  r.encoded = { msgpack: new Uint8Array([1]) };
  const token = { pending: 2, done: () => {} };
  r.ack = token;
  const [out] = p.process([r]);
  assert.deepEqual(out.data, { battery: 80, pose: { x: 1 }, imu: { a: 1 } });
  assert.notEqual(out, r);
  assert.equal(out.encoded, undefined, "changed data drops the cached encodings");
  assert.equal(out.ack, token, "the new record carries the acknowledgement");
  assert.deepEqual(r.data, { battery: 80, pose: { x: 1, y: 2 }, imu: { a: 1 }, raw: "zz" });
  assert.equal(r.encoded?.msgpack?.length, 1);
  // Nothing left: dropped and acknowledged.
  assert.deepEqual(p.process([{ ...rec({ other: 1 }), ack: token }]), []);
  assert.equal(c.stats.dropped, 1);
  assert.equal(token.pending, 1);
  // Everything kept: the same record.
  const all = rec({ battery: 1 });
  assert.equal(p.process([all])[0], all);
});

Deno.test("drop: keys by glob over nested paths; a record with nothing to drop passes as it is", () => {
  const c = ctx();
  const p = new DropProcessor({ type: "drop", keys: ["raw", "debug/*"] }, c);
  const r = rec({ a: 1, raw: "x", debug: { t: 1, u: 2 }, b: { c: 3 } });
  assert.deepEqual(p.process([r])[0].data, { a: 1, b: { c: 3 } });
  assert.deepEqual(r.data.raw, "x");
  const clean = rec({ a: 1, b: { c: 2 } });
  assert.equal(p.process([clean])[0], clean);
  assert.deepEqual(p.process([rec({ raw: 1 })]), []);
  assert.equal(c.stats.dropped, 1);
});

Deno.test("rename: keys and streams; unchanged data keeps its encodings", () => {
  const p = new RenameProcessor({ type: "rename", keys: { v: "speed" }, streams: { "gen/a": "robot/speed" } }, ctx());
  const r = rec({ t: 1, v: 2 }, "gen/a");
  const [out] = p.process([r]);
  assert.equal(out.stream, "robot/speed");
  assert.deepEqual(Object.keys(out.data), ["t", "speed"]);
  assert.equal(r.stream, "gen/a");
  const enc = rec({ t: 1 }, "gen/a");
  enc.encoded = { msgpack: new Uint8Array([7]) };
  const [moved] = p.process([enc]);
  assert.equal(moved.stream, "robot/speed");
  assert.equal(moved.encoded, enc.encoded, "same data: the encodings stay valid");
  const other = rec({ t: 1 }, "b");
  assert.equal(p.process([other])[0], other);
});

Deno.test("flatten: nested dictionaries to path keys with the separator; flat records pass as they are", () => {
  const p = new FlattenProcessor({ type: "flatten", separator: "." }, ctx());
  const r = rec({ a: { b: 1, c: { d: 2 } }, e: 3 });
  assert.deepEqual(p.process([r])[0].data, { "a.b": 1, "a.c.d": 2, e: 3 });
  const flat = rec({ x: 1 });
  assert.equal(p.process([flat])[0], flat);
});

Deno.test("select and drop with plain key names (picked directly): the same results as with globs", () => {
  const c = ctx();
  const sel = new SelectProcessor({ type: "select", keys: ["b", "a", "missing"] }, c);
  const r = rec({ a: 1, b: { x: 2 }, c: 3 });
  assert.deepEqual(sel.process([r])[0].data, { b: { x: 2 }, a: 1 });
  const whole = rec({ a: 1, b: 2 });
  assert.equal(sel.process([whole])[0], whole);
  assert.deepEqual(sel.process([rec({ z: 1 })]), []);
  const drop = new DropProcessor({ type: "drop", keys: ["c", "a"] }, c);
  assert.deepEqual(drop.process([r])[0].data, { b: { x: 2 } });
  const untouched = rec({ b: 1 });
  assert.equal(drop.process([untouched])[0], untouched);
  assert.deepEqual(drop.process([rec({ a: 1, c: 2 })]), []);
  assert.equal(c.stats.dropped, 2);
});
