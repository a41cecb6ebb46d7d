import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { Bus, OutputAttachment } from "./bus.ts";
import { type BusRecord, makeRecord } from "./record.ts";
import { PartStats } from "./stats.ts";
import { createLogger } from "./log.ts";
import type { Output } from "./transport.ts";
import { letTimePass, nextMacrotask } from "../testing/mod.ts";

const log = createLogger("test", { level: "error", write() {} });

function attach(bus: Bus, name: string, output: Output, whenFull: "block" | "drop_oldest" = "block", extra = {}) {
  const stats = new PartStats("output", name, "test");
  const a = new OutputAttachment(
    name,
    output,
    {
      whenFull,
      queueRecords: 10,
      queueBytes: 1 << 20,
      batchRecords: 5,
      ...extra,
    },
    stats,
    log,
  );
  bus.attach(a);
  a.start();
  return { a, stats };
}

function collector() {
  const got: BusRecord[] = [];
  const out: Output = { write: (rs) => void got.push(...rs), close: () => Promise.resolve() };
  return { got, out };
}

const recs = (n: number, from = 0, stream = "s", source = "in") =>
  Array.from({ length: n }, (_, i) => makeRecord(stream, BigInt(from + i), { seq: from + i }, source, 10));

Deno.test("bus: every output gets every record, in order, and the same record objects", async () => {
  const bus = new Bus();
  const c1 = collector(), c2 = collector();
  const a1 = attach(bus, "a", c1.out), a2 = attach(bus, "b", c2.out);
  const rs = recs(8);
  await bus.emit(rs);
  await a1.a.drainAndClose();
  await a2.a.drainAndClose();
  assertEquals(c1.got.map((r) => r.data.seq), [0, 1, 2, 3, 4, 5, 6, 7]);
  assert(c2.got[3] === rs[3]);
  assertEquals(a1.stats.records, 8);
});

Deno.test("bus: selection by input name and stream glob", async () => {
  const bus = new Bus();
  const c1 = collector(), c2 = collector();
  const a1 = attach(bus, "a", c1.out, "block", { inputs: ["cam"] });
  const a2 = attach(bus, "b", c2.out, "block", { streams: ["robot/*"] });
  await bus.emit([...recs(2, 0, "robot/imu", "imu"), ...recs(2, 2, "camera/left", "cam")]);
  await a1.a.drainAndClose();
  await a2.a.drainAndClose();
  assertEquals(c1.got.map((r) => r.data.seq), [2, 3]);
  assertEquals(c2.got.map((r) => r.data.seq), [0, 1]);
});

Deno.test("bus: a slow drop_oldest output never stalls a fast one", async () => {
  const bus = new Bus();
  const fast = collector();
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  const slow: Output = { write: () => gate, close: () => Promise.resolve() };
  const af = attach(bus, "fast", fast.out);
  const as = attach(bus, "slow", slow, "drop_oldest");
  for (let i = 0; i < 100; i++) {
    const p = bus.emit(recs(10, i * 10));
    assertEquals(p, undefined, "emit must not wait for the slow output");
    await nextMacrotask();
  }
  await af.a.drainAndClose();
  assertEquals(fast.got.length, 1000);
  assert(as.stats.droppedTotal > 900, `slow output dropped ${as.stats.droppedTotal}`);
  release();
  await as.a.drainAndClose();
});

Deno.test("bus: a slow block output applies back-pressure to emit", async () => {
  const bus = new Bus();
  let written = 0;
  const slow: Output = {
    write: async (rs) => {
      await letTimePass(5); // a slow output on purpose
      written += rs.length;
    },
    close: () => Promise.resolve(),
  };
  const a = attach(bus, "slow", slow, "block");
  let waited = 0;
  for (let i = 0; i < 10; i++) {
    const p = bus.emit(recs(10, i * 10));
    if (p) {
      waited++;
      await p;
    }
  }
  assert(waited > 0, "emit returned a promise when the queue was full");
  await a.a.drainAndClose();
  assertEquals(written, 100);
  assertEquals(a.stats.droppedTotal, 0);
});

Deno.test("bus: onAccepted runs after every output wrote the records, also when one drops them", async () => {
  const bus = new Bus();
  const c1 = collector();
  const a1 = attach(bus, "a", c1.out);
  const a2 = attach(bus, "b", { write: () => Promise.reject(new Error("disk full")), close: () => Promise.resolve() });
  let accepted = 0;
  await bus.emit(recs(3), () => accepted++);
  assertEquals(accepted, 0);
  await a1.a.drainAndClose();
  await a2.a.drainAndClose();
  assertEquals(accepted, 1);
  assertEquals(a2.stats.dropped.get("write_error"), 3);
  // With no output selecting the records, acceptance is immediate.
  const empty = new Bus();
  let now = 0;
  await empty.emit(recs(2), () => now++);
  assertEquals(now, 1);
});

Deno.test("bus: records an output refused alone are counted as rejected, not as written", async () => {
  const bus = new Bus();
  const refused: PartStats[] = [];
  const out: Output = {
    write: (rs) => {
      for (const r of rs) if ((r.data.seq as number) % 2 === 1) refused[0].reject("too_deep");
    },
    close: () => Promise.resolve(),
  };
  const { stats } = attach(bus, "o", out);
  refused.push(stats);
  await bus.emit(recs(4));
  await bus.outputs[0].drainAndClose();
  assertEquals(stats.records, 2);
  assertEquals(stats.rejectedTotal, 2);
});

Deno.test("bus: when onAccepted runs, the records' token holds the marks outputs left", async () => {
  const bus = new Bus();
  const marking: Output = {
    write(rs) {
      for (const r of rs) (r.ack!.marks ??= {}).file = { last: r.data.seq };
    },
    close: () => Promise.resolve(),
  };
  const plain = collector();
  const a1 = attach(bus, "file", marking), a2 = attach(bus, "plain", plain.out);
  const got: unknown[] = [];
  const first = recs(7), second = recs(2, 7, "other");
  await bus.emit(first, () => got.push(first[0].ack?.marks));
  await bus.emit(second, () => got.push(second[1].ack?.marks));
  await a1.a.drainAndClose();
  await a2.a.drainAndClose();
  assertEquals(got, [{ file: { last: 6 } }, { file: { last: 8 } }]);
});

Deno.test("bus: drainAndClose takes the records a blocked producer still holds (none dropped as closed)", async () => {
  const bus = new Bus();
  const { got, out } = collector();
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  const slow: Output = {
    async write(rs) {
      await gate;
      await out.write(rs);
    },
    close: () => Promise.resolve(),
  };
  const { a, stats } = attach(bus, "slow", slow, "block", { queueRecords: 2, batchRecords: 1 });
  const pushed = bus.emit(recs(10));
  assert(pushed instanceof Promise, "the producer waits for room");
  bus.detach(a);
  const closing = a.drainAndClose();
  release();
  await Promise.all([pushed, closing]);
  assertEquals(got.map((r) => r.data.seq), Array.from({ length: 10 }, (_, i) => i));
  assertEquals(stats.droppedTotal, 0);
});

Deno.test("bus: a paused output keeps its queue; resume writes on with another output, in order", async () => {
  const bus = new Bus();
  const first = collector(), second = collector();
  const { a } = attach(bus, "o", first.out, "block", { queueRecords: 100 });
  bus.emit(recs(5));
  await nextMacrotask();
  await a.pause();
  bus.emit(recs(5, 5));
  await nextMacrotask();
  assertEquals(first.got.length, 5, "nothing written while paused");
  a.resume(second.out, { ...a.options, batchRecords: 2 });
  await a.drainAndClose();
  assertEquals([...first.got, ...second.got].map((r) => r.data.seq), Array.from({ length: 10 }, (_, i) => i));
  assertEquals(second.got.length, 5);
});
