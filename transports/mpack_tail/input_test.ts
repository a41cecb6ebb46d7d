import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { join } from "node:path";
import { encodeMsgpack } from "../../codecs/msgpack.ts";
import { type CheckpointStore, MemoryCheckpointStore } from "../../core/checkpoint.ts";
import { createLogger } from "../../core/log.ts";
import { type BusRecord, nowNs, type OutputMarks, secondsToNs } from "../../core/record.ts";
import { PartStats } from "../../core/stats.ts";
import type { InputContext } from "../../core/transport.ts";
import type { FollowPosition } from "../../files/mpack_follow.ts";
import { MpackTailInput } from "./input.ts";
import { type MpackTailConfig, mpackTailSchema } from "./schema.ts";
import { transport } from "./mod.ts";
import { concat, letTimePass, tornLog, until, untilValue } from "../../testing/mod.ts";

interface Batch {
  records: BusRecord[];
  onAccepted?: () => void;
}

/** A hand-made input context that records what the input does. */
class TestContext {
  readonly batches: Batch[] = [];
  readonly lines: string[] = [];
  readonly stats = new PartStats("input", "robot", "mpack_tail");
  readonly ac = new AbortController();
  readonly ctx: InputContext;
  #waiters: { pred: () => boolean; resolve: () => void }[] = [];
  /** When set, `emit` returns this promise (back-pressure). */
  block: Promise<void> | undefined;
  /** Marks handed to `resume`, with the number of records emitted before. */
  readonly resumed: { marks: OutputMarks; emittedBefore: number }[] = [];

  constructor(readonly checkpoints: CheckpointStore = new MemoryCheckpointStore(), name = "robot") {
    const log = createLogger(`input.${name}`, { level: "debug", write: (l) => this.lines.push(l) });
    this.ctx = {
      name,
      emit: (records, onAccepted) => {
        this.batches.push({ records, onAccepted });
        this.#waiters = this.#waiters.filter((w) => w.pred() ? (w.resolve(), false) : true);
        return this.block;
      },
      resume: (marks) => {
        this.resumed.push({ marks, emittedBefore: this.records.length });
        return Promise.resolve();
      },
      signal: this.ac.signal,
      log,
      stats: this.stats,
      checkpoints,
      http: { route: () => {} },
    };
  }

  get records(): BusRecord[] {
    return this.batches.flatMap((b) => b.records);
  }

  /** Waits until `n` records were emitted (at most 3 s). */
  async untilRecords(n: number): Promise<void> {
    const pred = () => this.records.length >= n;
    if (pred()) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        this.#waiters.push({ pred, resolve });
        timer = setTimeout(() => reject(new Error(`timed out with ${this.records.length} records`)), 3000);
      });
    } finally {
      clearTimeout(timer);
    }
  }

  /** Accepts batch `i` as the bus would, with the marks outputs left on its records' token. */
  accept(i: number, marks?: OutputMarks): void {
    const b = this.batches[i];
    const token = { pending: 0, done: () => {}, marks };
    for (const r of b.records) r.ack = token;
    b.onAccepted!();
  }

  acceptAll(): void {
    for (const b of this.batches) b.onAccepted?.();
  }
}

function config(over: Partial<MpackTailConfig> & { path: string }): MpackTailConfig {
  const r = mpackTailSchema.safeParse({ poll_interval: "5ms", ...over });
  if (!r.success) throw new Error(JSON.stringify(r.error.issues));
  return r.data;
}

function record(seq: number): Uint8Array {
  return encodeMsgpack({ time: 1_700_000_000.25 + seq, seq, imu: { accel: [seq, 2.5], ok: true } });
}

function records(n: number, first = 0): Uint8Array {
  return concat(...Array.from({ length: n }, (_, i) => record(first + i)));
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "mpack_tail_input_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("schema: defaults, units and strictness", () => {
  const r = mpackTailSchema.safeParse({ path: "logs/" });
  ok(r.success);
  deepStrictEqual(r.data, {
    path: "logs/",
    from: "checkpoint",
    time_key: "time",
    flatten: false,
    poll_interval: 50,
    max_record_bytes: 64 * 1024 * 1024,
    torn_after: 1000,
  });
  const r2 = mpackTailSchema.safeParse({
    name: "robot",
    path: "a.mpack",
    from: "end",
    stream: "robot/log",
    stream_key: "topic",
    flatten: "true",
    poll_interval: "250ms",
    max_record_bytes: "1MiB",
    torn_after: "2.5s",
  });
  ok(r2.success);
  strictEqual(r2.data.torn_after, 2500);
  strictEqual(r2.data.poll_interval, 250);
  strictEqual(r2.data.max_record_bytes, 1024 * 1024);
  strictEqual(r2.data.flatten, true);
  ok(!mpackTailSchema.safeParse({ path: "x", unknown: 1 }).success, "unknown keys are errors");
  ok(!mpackTailSchema.safeParse({}).success, "path is required");
  ok(!mpackTailSchema.safeParse({ path: "x", from: "middle" }).success);
  ok(!mpackTailSchema.safeParse({ path: "x", poll_interval: "soon" }).success);
  ok(!mpackTailSchema.safeParse({ path: "x", torn_after: 0 }).success);
  // The transport definition exposes the same schema.
  ok(transport.input?.schema.safeParse({ path: "x" }).success);
  strictEqual(transport.type, "mpack_tail");
});

Deno.test("input: records carry stream, time, source and the file's raw bytes", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "log.mpack");
    const bytes = concat(records(4), encodeMsgpack({ seq: 4, topic: "robot/other" }));
    await Deno.writeFile(path, bytes);
    const t = new TestContext();
    const input = new MpackTailInput(config({ path, from: "start", stream_key: "topic" }));
    const before = nowNs();
    const running = input.run(t.ctx);
    await t.untilRecords(5);
    t.acceptAll();
    t.ac.abort();
    await running;

    const recs = t.records;
    strictEqual(recs.length, 5);
    deepStrictEqual(recs.map((r) => r.stream), ["robot", "robot", "robot", "robot", "robot/other"]);
    for (let i = 0; i < 4; i++) {
      strictEqual(recs[i].time, secondsToNs(1_700_000_000.25 + i));
      strictEqual(recs[i].source, "robot");
      deepStrictEqual(recs[i].data, { time: 1_700_000_000.25 + i, seq: i, imu: { accel: [i, 2.5], ok: true } });
    }
    ok(recs[4].time >= before && recs[4].time <= nowNs(), "no time key: the time of reading");
    // The raw bytes, back to back, are the file.
    deepStrictEqual(concat(...recs.map((r) => r.encoded?.msgpack as Uint8Array)), bytes);
    deepStrictEqual(recs.map((r) => r.size), recs.map((r) => (r.encoded?.msgpack as Uint8Array).length));
    strictEqual(t.stats.records, 5);
    strictEqual(t.stats.bytes, bytes.length);
    strictEqual(t.stats.errors, 0);
    ok(t.lines.some((l) => l.includes("INFO") && l.includes("reading file") && l.includes(path)));
  });
});

Deno.test("input: stream option and flatten (no raw bytes then)", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "log.mpack");
    await Deno.writeFile(path, concat(records(2), encodeMsgpack({ time: "noon", topic: 5, a: { b: { c: 1 } } })));
    const t = new TestContext();
    const input = new MpackTailInput(
      config({ path, from: "start", stream: "robot/flat", stream_key: "topic", flatten: true }),
    );
    const running = input.run(t.ctx);
    await t.untilRecords(3);
    t.acceptAll();
    t.ac.abort();
    await running;
    const recs = t.records;
    deepStrictEqual(recs.map((r) => r.stream), ["robot/flat", "robot/flat", "robot/flat"]);
    deepStrictEqual(recs[0].data, { time: 1_700_000_000.25, seq: 0, "imu/accel": [0, 2.5], "imu/ok": true });
    deepStrictEqual(recs[2].data, { time: "noon", topic: 5, "a/b/c": 1 });
    ok(recs.every((r) => r.encoded === undefined), "flattened records carry no raw bytes");
    ok(recs.every((r) => r.size > 0));
  });
});

Deno.test("input: the checkpoint is saved only after onAccepted, and resuming loses and repeats nothing", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "log.mpack");
    await Deno.writeFile(path, records(3));
    const store = new MemoryCheckpointStore();
    const t = new TestContext(store);
    const running = new MpackTailInput(config({ path })).run(t.ctx);
    await t.untilRecords(3);
    await letTimePass(10); // a window for a save that must not happen before acceptance
    strictEqual(await store.load("robot"), undefined, "nothing saved before acceptance");
    t.acceptAll();
    const saved = await untilValue("the checkpoint", () => store.load<FollowPosition>("robot"));
    strictEqual(saved?.offset, records(3).length);
    strictEqual(saved?.file?.path, path);

    // A batch emitted but not yet accepted when the input stops: run() waits for it.
    await Deno.writeFile(path, records(2, 3), { append: true });
    await t.untilRecords(5);
    t.ac.abort();
    let resolved = false;
    const done = running.then(() => resolved = true);
    await letTimePass(30); // a window in which run() must not resolve
    ok(!resolved, "run() waits for outstanding acknowledgements");
    strictEqual((await store.load<FollowPosition>("robot"))?.offset, records(3).length);
    t.acceptAll();
    await done;
    strictEqual((await store.load<FollowPosition>("robot"))?.offset, records(5).length);

    // Written while the input was down; the restarted input continues at the checkpoint.
    await Deno.writeFile(path, records(2, 5), { append: true });
    const t2 = new TestContext(store);
    const running2 = new MpackTailInput(config({ path })).run(t2.ctx);
    await t2.untilRecords(2);
    t2.acceptAll();
    t2.ac.abort();
    await running2;
    deepStrictEqual([...t.records, ...t2.records].map((r) => r.data.seq), [0, 1, 2, 3, 4, 5, 6]);
    strictEqual((await store.load<FollowPosition>("robot"))?.offset, records(7).length);
  });
});

Deno.test("input: checkpoint saves are coalesced, the newest accepted position wins", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "log.mpack");
    await Deno.writeFile(path, records(1));
    const saves: FollowPosition[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const inner = new MemoryCheckpointStore();
    const slow: CheckpointStore = {
      load: (k) => inner.load(k),
      async save(k, v) {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await letTimePass(20); // a slow store on purpose
        saves.push(v as FollowPosition);
        await inner.save(k, v);
        inFlight--;
      },
    };
    const t = new TestContext(slow);
    const running = new MpackTailInput(config({ path, from: "start" })).run(t.ctx);
    // Several batches: one per append, each seen by its own read.
    for (let i = 1; i <= 6; i++) {
      await t.untilRecords(i);
      await Deno.writeFile(path, records(1, i), { append: true });
    }
    await t.untilRecords(7);
    ok(t.batches.length >= 5, `several batches (${t.batches.length})`);
    t.acceptAll();
    t.ac.abort();
    await running;
    strictEqual(maxInFlight, 1, "one save at a time");
    ok(saves.length < t.batches.length, `coalesced: ${saves.length} saves for ${t.batches.length} batches`);
    strictEqual(saves.at(-1)?.offset, records(7).length, "the final position is saved before run() resolves");
  });
});

Deno.test("input: garbage is counted and logged; an unacknowledged batch does not hang run()", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "log.mpack");
    const garbage = new Uint8Array([0x80, 0xc1, 0x01, 0x02, 0xc1]);
    await Deno.writeFile(path, concat(records(2), garbage, records(2, 2)));
    const t = new TestContext();
    const running = new MpackTailInput(config({ path, from: "start" }), { ackWaitMs: 50 }).run(t.ctx);
    await t.untilRecords(4);
    t.ac.abort(); // never accepted
    const t0 = performance.now();
    await running;
    ok(performance.now() - t0 < 1000);
    deepStrictEqual(t.records.map((r) => r.data.seq), [0, 1, 2, 3]);
    strictEqual(t.stats.errors, 1);
    strictEqual(t.stats.counters.get("garbage_bytes"), garbage.length);
    const warn = t.lines.find((l) => l.includes("WARN") && l.includes("no record"));
    ok(warn, t.lines.join("\n"));
    ok(
      warn.includes(`offset=${records(2).length}`) && warn.includes(`length=${garbage.length}`) && warn.includes(path),
    );
    ok(t.lines.some((l) => l.includes("WARN") && l.includes("did not accept")), "gave up waiting, with a warning");
  });
});

Deno.test("input: emit's promise applies back-pressure; from end and a foreign checkpoint", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "log.mpack");
    await Deno.writeFile(path, records(3));
    // A checkpoint of another file: read from the start and warn.
    const store = new MemoryCheckpointStore();
    await store.save("robot", { file: { path: "/elsewhere.mpack", dev: 1, ino: 1 }, offset: 9 });
    const t = new TestContext(store);
    let release!: () => void;
    t.block = new Promise((r) => release = r);
    const running = new MpackTailInput(config({ path })).run(t.ctx);
    await t.untilRecords(3);
    await Deno.writeFile(path, records(1, 3), { append: true });
    await letTimePass(30); // a window for an emit that must not come while the first one blocks
    strictEqual(t.batches.length, 1, "no further emit while the previous one blocks");
    t.block = undefined;
    release();
    await t.untilRecords(4);
    t.acceptAll();
    t.ac.abort();
    await running;
    ok(t.lines.some((l) => l.includes("WARN") && l.includes("checkpointed file not found")));

    const t2 = new TestContext();
    const running2 = new MpackTailInput(config({ path, from: "end" })).run(t2.ctx);
    await until("the file opened at its end", () => t2.lines.some((l) => l.includes("reading file")));
    await Deno.writeFile(path, records(1, 4), { append: true });
    await t2.untilRecords(1);
    t2.acceptAll();
    t2.ac.abort();
    await running2;
    deepStrictEqual(t2.records.map((r) => r.data.seq), [4]);
  });
});

Deno.test("input: acknowledgements out of order: the checkpoint never passes a batch not yet accepted", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "log.mpack");
    await Deno.writeFile(path, records(1));
    const store = new MemoryCheckpointStore();
    const t = new TestContext(store);
    const running = new MpackTailInput(config({ path })).run(t.ctx);
    for (let i = 1; i <= 3; i++) {
      await t.untilRecords(i);
      if (i < 3) await Deno.writeFile(path, records(1, i), { append: true });
    }
    strictEqual(t.batches.length, 3);
    // Batches 2 and 3 accepted (say, by a fast output); batch 1 still waits for a slow one.
    t.batches[2].onAccepted!();
    t.batches[1].onAccepted!();
    await letTimePass(20); // a window for a save that must not happen while batch 1 is outstanding
    strictEqual(await store.load("robot"), undefined, "nothing saved while batch 1 is outstanding");
    t.batches[0].onAccepted!();
    t.ac.abort();
    await running;
    strictEqual((await store.load<FollowPosition>("robot"))?.offset, records(3).length);
  });
});

Deno.test("input: outputs' marks are saved with the checkpoint, carried forward, and handed back on resume", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "log.mpack");
    await Deno.writeFile(path, records(1));
    const store = new MemoryCheckpointStore();
    const t = new TestContext(store);
    const running = new MpackTailInput(config({ path })).run(t.ctx);
    await t.untilRecords(1);
    strictEqual(t.resumed.length, 0, "no checkpoint, nothing to resume");
    t.accept(0, { copy: { size: 10 } });
    await Deno.writeFile(path, records(1, 1), { append: true });
    await t.untilRecords(2);
    t.accept(1); // a batch the output did not select: its mark stays
    t.ac.abort();
    await running;
    const saved = await store.load<FollowPosition & { outputs?: OutputMarks }>("robot");
    deepStrictEqual(saved, { file: saved?.file, offset: records(2).length, outputs: { copy: { size: 10 } } });

    // Restart: the marks go back to the outputs before the first record, and are carried on.
    await Deno.writeFile(path, records(1, 2), { append: true });
    const t2 = new TestContext(store);
    const running2 = new MpackTailInput(config({ path })).run(t2.ctx);
    await t2.untilRecords(1);
    deepStrictEqual(t2.resumed, [{ marks: { copy: { size: 10 } }, emittedBefore: 0 }]);
    t2.accept(0, { other: { n: 1 } });
    t2.ac.abort();
    await running2;
    deepStrictEqual((await store.load<{ outputs?: OutputMarks }>("robot"))?.outputs, {
      copy: { size: 10 },
      other: { n: 1 },
    });

    // The checkpointed file is gone (another file has the name): reading starts at 0, and no output cuts back.
    await Deno.remove(path);
    await Deno.writeFile(path, records(2, 10));
    const t3 = new TestContext(store);
    const running3 = new MpackTailInput(config({ path })).run(t3.ctx);
    await t3.untilRecords(2);
    t3.acceptAll();
    t3.ac.abort();
    await running3;
    deepStrictEqual(t3.resumed, [], "no rewind when reading does not go on at the checkpoint");
    ok(t3.lines.some((l) => l.includes("checkpointed file not found")));
  });
});

Deno.test("input: a crashed writer's torn record is counted as garbage; the new writer's 20,000 records all arrive", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "log.mpack");
    const log = tornLog();
    await Deno.writeFile(path, concat(log.before, log.torn));
    const t = new TestContext();
    const running = new MpackTailInput(config({ path, from: "start" })).run(t.ctx);
    await t.untilRecords(3);
    await Deno.writeFile(path, log.after, { append: true });
    await t.untilRecords(log.seqs.length);
    t.acceptAll();
    t.ac.abort();
    await running;
    deepStrictEqual(t.records.map((r) => r.data.seq), log.seqs);
    strictEqual(t.stats.errors, 1);
    strictEqual(t.stats.counters.get("garbage_bytes"), log.torn.length);
    const warn = t.lines.find((l) => l.includes("WARN") && l.includes("torn record"));
    ok(warn?.includes(`offset=${log.before.length}`) && warn.includes(`length=${log.torn.length}`), t.lines.join("\n"));

    // Fewer new records than the torn field claims: declared torn after torn_after.
    const short = tornLog({ records: 5000 });
    await Deno.writeFile(path, concat(short.before, short.torn, short.after));
    const t2 = new TestContext();
    const running2 = new MpackTailInput(config({ path, from: "start", torn_after: 0.3 })).run(t2.ctx); // 0.3 s
    await t2.untilRecords(short.seqs.length);
    t2.acceptAll();
    t2.ac.abort();
    await running2;
    deepStrictEqual(t2.records.map((r) => r.data.seq), short.seqs);
    strictEqual(t2.stats.counters.get("garbage_bytes"), short.torn.length);
    ok(t2.lines.some((l) => l.includes("WARN") && l.includes("still incomplete after 300 ms")), t2.lines.join("\n"));
  });
});
