import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { ackRecords, OutputQueue } from "./queue.ts";
import { makeRecord } from "./record.ts";
import { PartStats } from "./stats.ts";

function rec(stream: string, seq: number, size = 10) {
  return makeRecord(stream, BigInt(seq), { seq }, "test", size);
}

function queue(policy: "block" | "drop_oldest" | "drop_newest" | "latest", maxRecords = 4, maxBytes = 1 << 20) {
  const stats = new PartStats("output", "q", "test");
  const dropped: number[] = [];
  const q = new OutputQueue({
    maxRecords,
    maxBytes,
    policy,
    stats,
    onDrop: (rs) => dropped.push(...rs.map((r) => r.data.seq as number)),
  });
  return { q, stats, dropped };
}

const seqs = (rs: { data: { seq?: unknown } }[] | null) => (rs ?? []).map((r) => r.data.seq);

Deno.test("queue: drop_newest keeps the first records and counts the rest", async () => {
  const { q, stats, dropped } = queue("drop_newest");
  q.push([0, 1, 2, 3, 4, 5].map((i) => rec("s", i)));
  assertEquals(seqs(await q.take(10)), [0, 1, 2, 3]);
  assertEquals(dropped, [4, 5]);
  assertEquals(stats.dropped.get("drop_newest"), 2);
});

Deno.test("queue: drop_oldest keeps the newest records", async () => {
  const { q, stats, dropped } = queue("drop_oldest");
  q.push([0, 1, 2, 3, 4, 5].map((i) => rec("s", i)));
  assertEquals(seqs(await q.take(10)), [2, 3, 4, 5]);
  assertEquals(dropped, [0, 1]);
  assertEquals(stats.droppedTotal, 2);
});

Deno.test("queue: latest keeps the newest record of every stream, a rare stream is not starved", async () => {
  const { q, stats } = queue("latest");
  q.push([rec("rare", 0), rec("busy", 1), rec("busy", 2), rec("busy", 3), rec("busy", 4), rec("busy", 5)]);
  const got = await q.take(10);
  // Full at busy:4: the queue coalesces to the newest record per stream, then takes busy:4 and busy:5.
  assertEquals(got!.map((r) => `${r.stream}:${r.data.seq}`), ["rare:0", "busy:3", "busy:4", "busy:5"]);
  assertEquals(stats.dropped.get("latest"), 2);
});

Deno.test("queue: latest with more streams than room drops the oldest", async () => {
  const { q } = queue("latest", 2);
  q.push([rec("a", 0), rec("b", 1), rec("c", 2)]);
  assertEquals(seqs(await q.take(10)), [1, 2]);
});

Deno.test("queue: block applies back-pressure and keeps order", async () => {
  const { q, stats } = queue("block", 2);
  const p1 = q.push([0, 1, 2, 3].map((i) => rec("s", i)));
  assert(p1 instanceof Promise, "a full block queue returns a promise");
  const p2 = q.push([4].map((i) => rec("s", i))); // queues behind p1
  assert(p2 instanceof Promise);
  const got: unknown[] = [];
  while (got.length < 5) got.push(...seqs(await q.take(1)));
  await Promise.all([p1, p2]);
  assertEquals(got, [0, 1, 2, 3, 4]);
  assertEquals(stats.droppedTotal, 0);
});

Deno.test("queue: bounded in bytes; one record larger than the bound still passes alone", async () => {
  const { q } = queue("drop_newest", 100, 25);
  q.push([rec("s", 0, 10), rec("s", 1, 10), rec("s", 2, 10)]);
  assertEquals(q.bytes, 20);
  assertEquals(seqs(await q.take(10)), [0, 1]);
  q.push([rec("s", 3, 1000)]);
  assertEquals(seqs(await q.take(10)), [3]);
});

Deno.test("queue: close drains then returns null, and releases blocked producers", async () => {
  const { q, stats } = queue("block", 1);
  const p = q.push([rec("s", 0), rec("s", 1)]);
  q.close();
  await p;
  assertEquals(seqs(await q.take(10)), [0]);
  assertEquals(await q.take(10), null);
  assertEquals(stats.dropped.get("closed"), 1);
});

Deno.test("ackRecords runs done once when the group is complete", () => {
  let done = 0;
  const token = { pending: 3, done: () => done++ };
  const rs = [rec("s", 0), rec("s", 1), rec("s", 2)];
  for (const r of rs) r.ack = token;
  ackRecords(rs.slice(0, 2));
  assertEquals(done, 0);
  ackRecords(rs.slice(2));
  assertEquals(done, 1);
});

Deno.test("queue: a queue that is never empty lets go of the records it passed on", async () => {
  const { q } = queue("block", 10_000);
  let seq = 0;
  const push = (n: number) => q.push(Array.from({ length: n }, () => rec("s", seq++)));
  push(1500);
  let taken = 0;
  for (let round = 0; round < 200; round++) {
    push(1000);
    const batch = await q.take(1000);
    assertEquals(batch![0].data.seq, taken);
    taken += batch!.length;
    assert(q.length === 1500, `length ${q.length}`);
    assert(q.slots < 2 * q.length + 1024 + 1000, `round ${round}: ${q.slots} slots for ${q.length} records`);
  }
  assertEquals(taken, 200_000);
});
