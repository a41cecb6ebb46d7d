import assert from "node:assert/strict";
import { type AckToken, type BusRecord, makeRecord } from "../core/record.ts";
import { ProcessorStats } from "../core/stats.ts";
import { FilterProcessor, meets } from "./filter.ts";
import { parseCondition } from "./condition.ts";
import type { ProcessorContext } from "./processor.ts";

const ctx = (): ProcessorContext => ({ stats: new ProcessorStats(0, "filter"), emit: () => {} });
const rec = (stream: string, data: BusRecord["data"], ack?: AckToken) => {
  const r = makeRecord(stream, 1n, data, "in");
  if (ack) r.ack = ack;
  return r;
};

Deno.test("condition: parses numbers, strings, booleans and paths; says what is wrong", () => {
  assert.deepEqual(parseCondition("battery < 20"), { path: "battery", op: "<", value: 20 });
  assert.deepEqual(parseCondition('mode=="auto"'), { path: "mode", op: "==", value: "auto" });
  assert.deepEqual(parseCondition("pose/x >= -1.5e3"), { path: "pose/x", op: ">=", value: -1500 });
  assert.deepEqual(parseCondition("ok != true"), { path: "ok", op: "!=", value: true });
  assert.deepEqual(parseCondition("name == 'a b'"), { path: "name", op: "==", value: "a b" });
  assert.throws(() => parseCondition("battery"), /expected KEY OP VALUE/);
  assert.throws(() => parseCondition("battery <"), /nothing to compare battery with/);
  assert.throws(() => parseCondition('mode == "auto'), /unclosed quote/);
  assert.throws(() => parseCondition("mode == a b"), /quote a value/);
});

Deno.test("condition: compares values of the same type only; a missing key fails", () => {
  const c = (t: string) => parseCondition(t);
  assert.equal(meets(c("b < 20"), 19), true);
  assert.equal(meets(c("b < 20"), 20), false);
  assert.equal(meets(c("b <= 20"), 20n), true);
  assert.equal(meets(c("b > 20"), "30"), false);
  assert.equal(meets(c('m == "auto"'), "auto"), true);
  assert.equal(meets(c('m != "auto"'), "manual"), true);
  assert.equal(meets(c("m >= b"), "c"), true);
  assert.equal(meets(c("b != 1"), undefined), false);
});

Deno.test("filter: streams by glob with exclusions, records by condition; drops counted and acknowledged", () => {
  const c = ctx();
  const p = new FilterProcessor({
    type: "filter",
    streams: ["robot/*"],
    exclude: ["robot/debug"],
    where: "pose/x > 1",
  }, c);
  const token: AckToken = { pending: 6, done: () => token.pending = -1 };
  const rs = [
    rec("robot/a", { pose: { x: 2 } }, token),
    rec("robot/a", { pose: { x: 0 } }, token),
    rec("robot/debug", { pose: { x: 5 } }, token),
    rec("lab/t", { pose: { x: 5 } }, token),
    rec("robot/b", { other: 1 }, token),
  ];
  const out = p.process(rs);
  assert.deepEqual(out, [rs[0]]);
  assert.equal(out[0], rs[0], "a record that passes is the same object");
  assert.equal(c.stats.dropped, 4);
  assert.equal(token.pending, 2, "each dropped record gave its count back");
  assert.equal(p.process([rs[0]]).length, 1);
});

Deno.test("filter: when every record passes, the batch is returned as it is", () => {
  const p = new FilterProcessor({ type: "filter", streams: ["*"] }, ctx());
  const rs = [rec("a", { v: 1 }), rec("b", { v: 2 })];
  assert.equal(p.process(rs), rs);
});
