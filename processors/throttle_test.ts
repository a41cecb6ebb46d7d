import assert from "node:assert/strict";
import { type AckToken, type BusRecord, makeRecord } from "../core/record.ts";
import { ProcessorStats } from "../core/stats.ts";
import { withTimeout } from "../testing/mod.ts";
import { EveryProcessor, ThrottleProcessor } from "./throttle.ts";
import type { ProcessorContext } from "./processor.ts";

/** A context whose `emit` resolves the promise `next()` returned last. */
function context() {
  let waiting: PromiseWithResolvers<BusRecord[]> | undefined;
  const ctx: ProcessorContext = {
    stats: new ProcessorStats(0, "throttle"),
    emit: (records) => waiting?.resolve(records),
  };
  return { ctx, next: () => (waiting = Promise.withResolvers()).promise };
}
const rec = (stream: string, n: number, ack?: AckToken) => {
  const r = makeRecord(stream, BigInt(n), { n }, "in");
  if (ack) r.ack = ack;
  return r;
};

Deno.test("throttle: the first record passes, the newest of the interval passes at its end, the rest are dropped", async () => {
  const { ctx, next } = context();
  const p = new ThrottleProcessor({ type: "throttle", interval: 40 }, ctx);
  try {
    const token: AckToken = { pending: 6, done: () => {} };
    const a = [1, 2, 3, 4].map((n) => rec("a", n, token));
    const b = rec("b", 10, token);
    const start = performance.now();
    const released = next();
    assert.deepEqual(p.process([a[0], a[1], b, a[2], a[3]]), [a[0], b]);
    assert.equal(ctx.stats.dropped, 2, "a2 and a3 were superseded by a4");
    assert.equal(token.pending, 4, "the superseded records gave their counts back; a4 holds its own");
    const late = await withTimeout("the held record", released);
    assert.deepEqual(late, [a[3]]);
    assert.ok(performance.now() - start >= 39, "not before the interval ended");
    // The release opened a new interval: the next record is held, not passed.
    assert.deepEqual(p.process([rec("a", 5)]), []);
    // b's interval ended without another record: b's next one passes at once.
    assert.deepEqual(p.process([rec("b", 11)]).map((r) => r.data.n), [11]);
  } finally {
    p.close(false);
  }
});

Deno.test("throttle: close hands on what it holds, or drops and acknowledges it; after close records pass", () => {
  const { ctx } = context();
  const p = new ThrottleProcessor({ type: "throttle", interval: 60_000 }, ctx);
  p.process([rec("a", 1), rec("a", 2)]);
  assert.deepEqual(p.close(true).map((r) => r.data.n), [2]);
  assert.equal(p.process([rec("a", 3)]).length, 1);

  const q = new ThrottleProcessor({ type: "throttle", interval: 60_000 }, ctx);
  let acked = false;
  const token: AckToken = { pending: 1, done: () => acked = true };
  q.process([rec("a", 1), rec("a", 2, token)]);
  assert.deepEqual(q.close(false), []);
  assert.ok(acked);
});

Deno.test("every: one record in n per stream, the first of each run", () => {
  const { ctx } = context();
  const p = new EveryProcessor({ type: "every", n: 3 }, ctx);
  const out = p.process([...Array(7).keys()].flatMap((n) => [rec("a", n), rec("b", 100 + n)]));
  assert.deepEqual(out.map((r) => r.data.n), [0, 100, 3, 103, 6, 106]);
  assert.equal(ctx.stats.dropped, 8);
  assert.deepEqual(p.process([rec("a", 7), rec("a", 8), rec("a", 9)]).map((r) => r.data.n), [9]);
});
