import assert from "node:assert/strict";
import { type AckToken, type BusRecord, makeRecord } from "../core/record.ts";
import { ProcessorStats } from "../core/stats.ts";
import { ackRecords } from "../core/queue.ts";
import { withTimeout } from "../testing/mod.ts";
import { AggregateProcessor } from "./aggregate.ts";
import { ProcessorChain } from "./chain.ts";

const rec = (stream: string, data: BusRecord["data"], time: bigint, ack?: AckToken) => {
  const r = makeRecord(stream, time, data, "in");
  if (ack) r.ack = ack;
  return r;
};

Deno.test("aggregate: per stream and window, mean/min/max/last/count of numeric keys; acknowledged when it is", async () => {
  const window = Promise.withResolvers<BusRecord[]>();
  const stats = new ProcessorStats(0, "aggregate");
  const p = new AggregateProcessor({
    type: "aggregate",
    window: 30,
    functions: ["mean", "min", "max", "last", "count"],
    keys: undefined,
  }, { stats, emit: (rs) => window.resolve(rs) });
  try {
    let accepted = false;
    const token: AckToken = { pending: 5, done: () => accepted = true };
    assert.deepEqual(
      p.process([
        rec("a", { speed: 1, big: 10n, name: "x" }, 1n, token),
        rec("a", { speed: 5 }, 2n, token),
        rec("b", { t: 3 }, 3n, token),
        rec("a", { speed: 3 }, 4n, token),
        rec("a", { label: "no numbers" }, 5n, token),
      ]),
      [],
    );
    assert.equal(stats.dropped, 1, "the record without a numeric key");
    const out = await withTimeout("the window's records", window.promise);
    const a = out.find((r) => r.stream === "a")!;
    assert.deepEqual(a.data, {
      speed_mean: 3,
      speed_min: 1,
      speed_max: 5,
      speed_last: 3,
      speed_count: 3,
      big_mean: 10,
      big_min: 10,
      big_max: 10,
      big_last: 10,
      big_count: 1,
    });
    assert.equal(a.time, 4n, "the time of the window's last record");
    assert.deepEqual(out.find((r) => r.stream === "b")!.data.t_count, 1);
    assert.equal(accepted, false, "not before the aggregates are accepted");
    ackRecords(out);
    assert.equal(accepted, true);
    assert.equal(token.pending, 0);
  } finally {
    p.close(false);
  }
});

Deno.test("chain: a timer's records go through the processors after it; close flushes in order", async () => {
  const sunk = Promise.withResolvers<BusRecord[]>();
  const chain = new ProcessorChain([
    { type: "throttle", interval: 20 },
    { type: "rename", streams: { a: "renamed" } },
  ], (rs) => sunk.resolve(rs));
  const passed = chain.process([rec("a", { v: 1 }, 1n), rec("a", { v: 2 }, 2n)]);
  assert.deepEqual(passed.map((r) => [r.stream, r.data.v]), [["renamed", 1]]);
  const late = await withTimeout("the throttled record", sunk.promise);
  assert.deepEqual(late.map((r) => [r.stream, r.data.v]), [["renamed", 2]]);
  assert.deepEqual(chain.stats.map((s) => [s.type, s.in, s.out, s.dropped]), [
    ["throttle", 2, 2, 0],
    ["rename", 2, 2, 0],
  ]);
  chain.close();

  const flushed: BusRecord[] = [];
  const agg = new ProcessorChain([
    { type: "aggregate", window: 60_000, functions: ["count"] },
    { type: "filter", where: "v_count > 1" },
  ], (rs) => flushed.push(...rs));
  agg.process([rec("a", { v: 1 }, 1n), rec("a", { v: 1 }, 2n), rec("b", { v: 1 }, 3n)]);
  agg.close();
  assert.deepEqual(flushed.map((r) => [r.stream, r.data]), [["a", { v_count: 2 }]]);
  assert.equal(agg.stats[1].dropped, 1);
});

Deno.test("aggregate: closed without flush, what it held is acknowledged and counted as dropped", () => {
  const stats = new ProcessorStats(0, "aggregate");
  const p = new AggregateProcessor({ type: "aggregate", window: 60_000, functions: ["mean"] }, {
    stats,
    emit: () => {},
  });
  let accepted = false;
  const token: AckToken = { pending: 2, done: () => accepted = true };
  p.process([rec("a", { v: 1 }, 1n, token), rec("b", { v: 2 }, 2n, token)]);
  assert.deepEqual(p.close(false), []);
  assert.equal(accepted, true);
  assert.equal(stats.dropped, 2);
});
