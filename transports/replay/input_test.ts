import assert from "node:assert/strict";
import { join } from "node:path";
import { ReplayInput } from "./input.ts";
import { type ReplayConfig, replaySchema } from "./schema.ts";
import { transport } from "./mod.ts";
import type { BusRecord } from "../../core/record.ts";
import { nowNs } from "../../core/record.ts";
import { PartStats } from "../../core/stats.ts";
import { createLogger } from "../../core/log.ts";
import { MemoryCheckpointStore } from "../../core/checkpoint.ts";
import type { InputContext } from "../../core/transport.ts";
import type { PermissionNeeds } from "../../core/permissions.ts";
import { encodeMsgpack } from "../../codecs/msgpack.ts";
import { concat, letTimePass, until, withTimeout } from "../../testing/mod.ts";

/**
 * How late a record may come on a loaded machine (timers fire late; the pace then catches up): well under the 500 ms
 * that tell speed 2 from speed 1 at the end of a 1 s recording.
 */
const LATE_MS = 400;

/** 1700000000 s after the epoch, in ns: the recordings' first record. */
const T0 = 1_700_000_000_000_000_000n;

/** A hand-made input context that keeps every record with the moment it arrived. */
class Sink {
  readonly got: { record: BusRecord; at: number }[] = [];
  readonly lines: string[] = [];
  readonly stats = new PartStats("input", "rec", "replay");
  readonly abort = new AbortController();
  readonly ctx: InputContext;
  /** When set, `emit` waits for it (a full `block` output). */
  slow?: () => Promise<void>;

  constructor() {
    this.ctx = {
      name: "rec",
      emit: (records) => {
        const at = performance.now();
        for (const record of records) this.got.push({ record, at });
        return this.slow?.();
      },
      signal: this.abort.signal,
      log: createLogger("input.rec", { level: "debug", write: (l) => this.lines.push(l) }),
      stats: this.stats,
      checkpoints: new MemoryCheckpointStore(),
      http: { route() {} },
    };
  }

  get seqs(): unknown[] {
    return this.got.map((g) => g.record.data.seq);
  }

  get times(): bigint[] {
    return this.got.map((g) => g.record.time);
  }
}

function config(over: Record<string, unknown>): ReplayConfig {
  const r = replaySchema.safeParse(over);
  if (!r.success) throw new Error(JSON.stringify(r.error.issues));
  return r.data;
}

/** Writes `n` records `step_s` apart (seq 0…n-1, streams round-robin) as a `.mpack` file; returns its path. */
async function recording(
  n: number,
  stepS: number,
  streams = ["a/x"],
  name = "r.mpack",
): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "replay_test_" });
  const recs = Array.from(
    { length: n },
    (_, i) => encodeMsgpack({ stream: streams[i % streams.length], time: 1_700_000_000 + i * stepS, seq: i }).slice(),
  );
  const path = join(dir, name);
  await Deno.writeFile(path, concat(...recs));
  return path;
}

async function cleanup(path: string): Promise<void> {
  await Deno.remove(join(path, ".."), { recursive: true });
}

/** Replays `path` at `speed` and returns each record's arrival in ms after the first one's. */
async function arrivals(path: string, speed: number): Promise<number[]> {
  const sink = new Sink();
  await withTimeout("replay", new ReplayInput(config({ path, speed })).run(sink.ctx), 10_000);
  assert.equal(sink.got.length, 11);
  return sink.got.map((g) => g.at - sink.got[0].at);
}

Deno.test("replay: a recording spanning 1 s plays in 1 s at speed 1 and in 0.5 s at speed 2", async () => {
  const path = await recording(11, 0.1);
  try {
    for (const speed of [1, 2]) {
      const at = await arrivals(path, speed);
      for (let i = 1; i < at.length; i++) {
        const due = (i * 100) / speed;
        // Never early by more than the 1 ms a record may go out ahead of its moment; late only by the load.
        assert.ok(at[i] >= due - 2, `speed ${speed}: record ${i} came at ${at[i].toFixed(1)} ms, due at ${due} ms`);
        assert.ok(
          at[i] <= due + LATE_MS,
          `speed ${speed}: record ${i} came at ${at[i].toFixed(1)} ms, due at ${due} ms`,
        );
      }
    }
  } finally {
    await cleanup(path);
  }
});

Deno.test("replay: a late wake-up catches up, then the pace goes on without drift", async () => {
  const path = await recording(11, 0.1);
  try {
    const sink = new Sink();
    let first = true;
    // The first emit blocks for 350 ms (a full block output): records 1–3 are due by then and come at once.
    sink.slow = () => first ? (first = false, letTimePass(350)) : Promise.resolve();
    await withTimeout("replay", new ReplayInput(config({ path })).run(sink.ctx), 10_000);
    const at = sink.got.map((g) => g.at - sink.got[0].at);
    assert.equal(at.length, 11);
    assert.ok(at[3] - at[1] < 50, `records 1–3 caught up together: ${at.slice(1, 4).map(Math.round)}`);
    for (let i = 4; i < 11; i++) {
      assert.ok(at[i] >= i * 100 - 2 && at[i] <= i * 100 + LATE_MS, `record ${i} at ${at[i].toFixed(1)} ms`);
    }
  } finally {
    await cleanup(path);
  }
});

Deno.test("replay: speed 0 waits for a blocked bus instead of queueing, and keeps file order", async () => {
  const path = await recording(3000, 1);
  try {
    const sink = new Sink();
    let inFlight = 0, maxInFlight = 0;
    sink.slow = async () => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await letTimePass(1); // a slow bus on purpose
      inFlight--;
    };
    await withTimeout("replay", new ReplayInput(config({ path, speed: 0 })).run(sink.ctx), 20_000);
    assert.deepEqual(sink.seqs, Array.from({ length: 3000 }, (_, i) => i));
    assert.equal(maxInFlight, 1);
    assert.equal(sink.stats.records, 3000);
    assert.deepEqual(sink.times.slice(0, 2), [T0, T0 + 1_000_000_000n], "original times");
  } finally {
    await cleanup(path);
  }
});

Deno.test("replay: start skips to an offset after the first record, or to an absolute time", async () => {
  const path = await recording(10, 0.1);
  try {
    for (const start of [0.5, "500ms", "2023-11-14T22:13:20.5Z"]) {
      const sink = new Sink();
      await new ReplayInput(config({ path, speed: 0, start })).run(sink.ctx);
      assert.deepEqual(sink.seqs, [5, 6, 7, 8, 9], `start = ${start}`);
      assert.equal(sink.times[0], T0 + 500_000_000n);
    }
    const sink = new Sink();
    await new ReplayInput(config({ path, speed: 0, start: 60 })).run(sink.ctx);
    assert.equal(sink.got.length, 0);
    assert.ok(sink.lines.some((l) => l.includes("nothing to replay")), sink.lines.join("\n"));
  } finally {
    await cleanup(path);
  }
});

Deno.test("replay: loop starts again at start, times keep increasing by the span and one interval", async () => {
  const path = await recording(5, 0.125); // steps a float64 time holds exactly
  try {
    const sink = new Sink();
    const run = new ReplayInput(config({ path, speed: 0, loop: true, start: 0.25 })).run(sink.ctx);
    await until("three rounds", () => sink.got.length >= 9, 10_000);
    sink.abort.abort();
    await withTimeout("replay stops", run);
    assert.deepEqual(sink.seqs.slice(0, 9), [2, 3, 4, 2, 3, 4, 2, 3, 4]);
    const t = sink.times;
    for (let i = 1; i < t.length; i++) assert.ok(t[i] > t[i - 1], `time ${i} rises`);
    // Round 2 begins one mean interval (0.125 s) after round 1 ended (a span of 0.25 s), and so on.
    assert.equal(t[3] - t[2], 125_000_000n);
    assert.equal(t[6] - t[0], 2n * 375_000_000n);
  } finally {
    await cleanup(path);
  }
});

Deno.test("replay: loop keeps the pace across rounds at speed 1", async () => {
  const path = await recording(3, 0.1);
  try {
    const sink = new Sink();
    const run = new ReplayInput(config({ path, loop: true })).run(sink.ctx);
    await until("two rounds", () => sink.got.length >= 6, 10_000);
    sink.abort.abort();
    await withTimeout("replay stops", run);
    const at = sink.got.map((g) => g.at - sink.got[0].at);
    for (let i = 1; i < 6; i++) {
      assert.ok(at[i] >= i * 100 - 2 && at[i] <= i * 100 + LATE_MS, `record ${i} at ${at[i]}`);
    }
  } finally {
    await cleanup(path);
  }
});

Deno.test("replay: streams from stream_key, filtered by glob; the input's name (or stream) otherwise", async () => {
  const path = await recording(9, 0.01, ["a/x", "b/y", "a/z"]);
  try {
    let sink = new Sink();
    await new ReplayInput(config({ path, speed: 0, stream_key: "stream", streams: ["a/*"] })).run(sink.ctx);
    assert.deepEqual(sink.got.map((g) => g.record.stream), ["a/x", "a/z", "a/x", "a/z", "a/x", "a/z"]);
    assert.deepEqual(sink.seqs, [0, 2, 3, 5, 6, 8]);
    sink = new Sink();
    await new ReplayInput(config({ path, speed: 0 })).run(sink.ctx);
    assert.deepEqual(new Set(sink.got.map((g) => g.record.stream)), new Set(["rec"]));
    sink = new Sink();
    await new ReplayInput(config({ path, speed: 0, stream: "robot/log", streams: ["a/*"] })).run(sink.ctx);
    assert.equal(sink.got.length, 0, "no record is on an a/ stream without stream_key");
  } finally {
    await cleanup(path);
  }
});

Deno.test('replay: time = "now" shifts every time so that the first record played is now', async () => {
  const path = await recording(4, 0.25);
  try {
    const sink = new Sink();
    const before = nowNs();
    await new ReplayInput(config({ path, speed: 0, time: "now", start: 0.25 })).run(sink.ctx);
    const t = sink.times;
    assert.ok(t[0] >= before && t[0] <= nowNs(), "the first record played is now");
    assert.deepEqual(t.map((x) => x - t[0]), [0n, 250_000_000n, 500_000_000n]);
    assert.equal(sink.got[0].record.data.time, 1_700_000_000.25, "the dictionary stays as recorded");
  } finally {
    await cleanup(path);
  }
});

Deno.test("replay: bad bytes are skipped, logged with file and offset, and counted; a missing file fails", async () => {
  const dir = await Deno.makeTempDir({ prefix: "replay_test_" });
  try {
    const a = encodeMsgpack({ time: 1_700_000_000, seq: 0 }).slice();
    const b = encodeMsgpack({ time: 1_700_000_001, seq: 1 }).slice();
    const path = join(dir, "bad.mpack");
    await Deno.writeFile(path, concat(a, new Uint8Array([0xc1, 0xc1, 0xc1]), b));
    const sink = new Sink();
    await new ReplayInput(config({ path, speed: 0 })).run(sink.ctx);
    assert.deepEqual(sink.seqs, [0, 1]);
    assert.equal(sink.stats.errors, 1);
    assert.equal(sink.stats.counters.get("garbage_bytes"), 3);
    const line = sink.lines.find((l) => l.includes("hold no record"));
    assert.ok(line?.includes(`${path}: 3 bytes at offset ${a.length} hold no record`), sink.lines.join("\n"));

    const missing = join(dir, "missing.mpack");
    await assert.rejects(new ReplayInput(config({ path: missing })).run(new Sink().ctx), (e: Error) => {
      assert.match(e.message, /cannot open recording .*missing\.mpack/);
      return true;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("replay: schema defaults, start forms and refusals; permission to read the path", () => {
  assert.deepEqual(config({ path: "r.mpack" }), {
    path: "r.mpack",
    speed: 1,
    loop: false,
    time: "original",
    time_key: "time",
  });
  assert.deepEqual(config({ path: "r.mpack", start: "1m30s" }).start, { after_ms: 90_000 });
  assert.deepEqual(config({ path: "r.mpack", start: "2026-12-05T08:00:00Z" }).start, {
    at_ms: Date.parse("2026-12-05T08:00:00Z"),
  });
  const bad = (over: Record<string, unknown>) => {
    const r = replaySchema.safeParse({ path: "r.mpack", ...over });
    assert.equal(r.success, false, JSON.stringify(over));
    return r.success ? "" : r.error.issues.map((i) => i.message).join("; ");
  };
  assert.match(bad({ path: "r.csv" }), /"\.csv" is no recording format \(known: \.mpack/);
  assert.match(bad({ start: "soon" }), /bad duration "soon".*ISO 8601/);
  bad({ speed: -1 });
  bad({ time: "later" });
  bad({ sped: 2 });
  const needs = { read: new Set<string>() } as PermissionNeeds;
  transport.input!.permissions(config({ path: "r.mpack" }), needs, { side: "input", path: (p) => `/x/${p}` });
  assert.deepEqual([...needs.read], ["/x/r.mpack"]);
});
