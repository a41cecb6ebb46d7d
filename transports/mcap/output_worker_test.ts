/**
 * The mcap output's worker (`worker = true`, the default): the same bytes as in one thread, back-pressure from a
 * stalled worker to the output's queue, acknowledgement only once the worker has the records, and a failed write
 * in the worker counted as the output's error. (output_test.ts runs every other test with and without the worker.)
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createLogger } from "../../core/log.ts";
import { type BusRecord, type Dict, makeRecord } from "../../core/record.ts";
import { PartStats } from "../../core/stats.ts";
import { Bus, OutputAttachment } from "../../core/bus.ts";
import { ackRecords } from "../../core/queue.ts";
import type { OutputContext } from "../../core/transport.ts";
import { openIndexedMcap } from "../../codecs/mcap_read.ts";
import { EncodedRecord } from "../../codecs/encoded_record.ts";
import { encodeMsgpack, recordMsgpack } from "../../codecs/msgpack.ts";
import { until } from "../../testing/mod.ts";
import { McapOutput } from "./output.ts";
import { type McapConfig, mcapSchema } from "./schema.ts";

interface Opened {
  out: McapOutput;
  stats: PartStats;
  lines: string[];
}

async function withDir(fn: (dir: string, open: (cfg: Record<string, unknown>) => Promise<Opened>) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "mcap_worker_test_" });
  const outs: McapOutput[] = [];
  try {
    await fn(dir, async (cfg) => {
      const lines: string[] = [];
      const stats = new PartStats("output", "out", "mcap");
      const ctx: OutputContext = {
        name: "out",
        log: createLogger("output.out", { level: "debug", write: (l) => lines.push(l) }),
        stats,
        dataDir: join(dir, `data-${outs.length}`),
        http: { route() {} },
      };
      const out = await McapOutput.open(mcapSchema.parse(cfg) as McapConfig, ctx);
      outs.push(out);
      return { out, stats, lines };
    });
  } finally {
    for (const o of outs) await o.close().catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
}

/** Every message of a file as [topic, its bytes], and every schema's bytes, through McapIndexedReader. */
async function rawMessages(path: string): Promise<{ messages: [string, Uint8Array][]; schemas: Uint8Array[] }> {
  const { reader, close } = await openIndexedMcap(path);
  try {
    const messages: [string, Uint8Array][] = [];
    for await (const m of reader.readMessages()) messages.push([reader.channelsById.get(m.channelId)!.topic, m.data]);
    assert.equal(reader.statistics?.messageCount, BigInt(messages.length));
    return { messages, schemas: [...reader.schemasById.values()].map((s) => s.data) };
  } finally {
    close();
  }
}

const T0 = 1_700_000_000_000_000_000n;

/** Records of every kind the worker must treat as one thread does. */
function variety(): BusRecord[] {
  const maps: Dict[] = [
    { seq: 0, v: 0.1, s: 'a"b\u{1F600}', neg: -0, nan: NaN, inf: -Infinity, big: 2n ** 63n, small: 5n },
    { seq: 1, bin: new Uint8Array([1, 2, 255]), nested: { l: [1, 2.5, "x", null, true], m: { k: 1e-7 } } },
    { seq: 2, when: new Date(1_700_000_000_000), huge: 2n ** 70n, "1": "index-like key", f: 1.5e300 },
    { seq: 3, floats: new Float32Array([0.5, 1.25]) as unknown as Dict[string] },
  ];
  const out: BusRecord[] = [];
  for (let i = 0; i < 40; i++) {
    const d = maps[i % maps.length];
    const stream = `s${i % 3}`;
    const time = T0 + BigInt(i);
    if (i % 4 === 0) out.push(makeRecord(stream, time, { ...d, i }, "in"));
    else if (i % 4 === 1 && i % 8 !== 5) {
      // Came as MessagePack bytes (the tail and network inputs); bytes a date's timestamp makes the walk refuse.
      out.push(new EncodedRecord(stream, time, encodeMsgpack({ ...d, i }), "in"));
    } else if (i % 4 === 2) {
      // Built in memory, its MessagePack cached by an output before this one.
      const r = makeRecord(stream, time, { ...d, i }, "in");
      try {
        recordMsgpack(r);
      } catch { /* a 70-bit integer: not MessagePack */ }
      out.push(r);
    } else out.push(makeRecord(stream, time, { ...d, i, t: -1 }, "in"));
  }
  // A map structured clone refuses (a function a program left in it): its batch's JSON is made in the main thread.
  out.push(makeRecord("s0", T0 + 40n, { seq: 40, f: (() => 1) as unknown as Dict[string] }, "in"));
  return out;
}

Deno.test("worker: the files hold the same bytes as in one thread, for every kind of record", async () => {
  await withDir(async (dir, open) => {
    for (const encoding of ["json", "msgpack"]) {
      const got: Awaited<ReturnType<typeof rawMessages>>[] = [];
      for (const worker of [true, false]) {
        const path = join(dir, `${encoding}-${worker}.mcap`);
        const { out, stats } = await open({ path, encoding, worker, chunk_size: 1024 });
        const records = variety();
        await out.write(records.slice(0, 17));
        await out.write(records.slice(17));
        await out.close();
        got.push(await rawMessages(path));
        const n = got.at(-1)!.messages.length;
        assert.equal(n + stats.rejectedTotal, records.length, `${encoding} worker=${worker}`);
        assert.ok(n >= 30, `${encoding} worker=${worker}: ${n} messages`);
        // In one thread the bus counts what the output took; the worker's are counted as it answers.
        if (worker) assert.equal(stats.records, n);
      }
      assert.deepEqual(got[0], got[1], encoding);
    }
  });
});

Deno.test("worker: a stalled worker fills the output's queue and its when_full policy applies; nothing is lost after", async () => {
  await withDir(async (dir, open) => {
    const path = join(dir, "bp.mcap");
    const { out, stats } = await open({ path, flush_interval: "1h" });
    const release = await out.hold();
    const bus = new Bus();
    const a = new OutputAttachment(
      "out",
      out,
      { whenFull: "drop_newest", queueRecords: 10, queueBytes: 1 << 20, batchRecords: 5 },
      stats,
      createLogger("bus", { level: "error", write: () => {} }),
    );
    bus.attach(a);
    a.start();
    let seq = 0;
    const emit = () => bus.emit([makeRecord("s", T0 + BigInt(seq), { seq: seq++ }, "in", 10)]);
    // Two batches go to the worker (its window), ten records wait in the queue, then the policy drops.
    await until("the queue is full and drops", async () => {
      await emit();
      return (stats.dropped.get("drop_newest") ?? 0) > 0;
    }, 10_000);
    assert.equal(stats.records, 0, "nothing counts as written while the worker stalls");
    const dropped = stats.dropped.get("drop_newest")!;
    // Batches are what the queue held when the loop took them: 1 to 5 records.
    const kept = seq - dropped;
    assert.ok(kept > 10 && kept <= 10 + 2 * 5, `the queue plus two batches in the worker: ${kept}`);
    release();
    await until("every record kept is written", () => stats.records === seq - dropped, 10_000);
    await a.drainAndClose();
    await out.close();
    const { messages } = await rawMessages(path);
    assert.equal(messages.length, seq - dropped);
  });
});

Deno.test("worker: records are acknowledged only once the worker has them", async () => {
  await withDir(async (dir, open) => {
    const { out, stats } = await open({ path: join(dir, "ack.mcap") });
    const release = await out.hold();
    let done = 0;
    const records = Array.from({ length: 3 }, (_, i) => {
      const r = makeRecord("s", T0 + BigInt(i), { seq: i }, "in");
      r.ack = { pending: 1, done: () => done++ };
      return r;
    });
    await out.write(records);
    ackRecords(records); // what the bus does once write resolved
    // Taken back when the worker answers (below): with the acknowledgement not held, `done` ran here already.
    assert.equal(done, 0);
    assert.equal(stats.records, 0);
    release();
    await until("acknowledged", () => done === 3, 10_000);
    assert.equal(stats.records, 3);
  });
});

Deno.test("worker: a write that fails in the worker is the output's error, counted, and the next file is opened", async () => {
  await withDir(async (dir, open) => {
    const sub = join(dir, "sub");
    const { out, stats, lines } = await open({
      path: join(sub, "r-{seq}.mcap"),
      rotate_size: "2KiB",
      compression: "none",
    });
    const batch = (from: number) => Array.from({ length: 20 }, (_, i) => makeRecord("s", T0, { seq: from + i }, "in"));
    await out.write(batch(0));
    await out.settled();
    assert.equal(stats.records, 20);
    // The folder becomes a file: the rotation the next batch needs cannot create its file.
    const keep = join(dir, "keep");
    await Deno.rename(sub, keep);
    await Deno.writeTextFile(sub, "in the way");
    await out.write(batch(20).concat(batch(40), batch(60)));
    await out.settled();
    assert.equal(stats.errors, 1);
    assert.equal(stats.dropped.get("write_error"), 60);
    assert.ok(lines.some((l) => l.includes("write failed; records dropped")), lines.join("\n"));
    // With the folder back, the output writes again.
    await Deno.remove(sub);
    await Deno.rename(keep, sub);
    await out.write(batch(80));
    await out.settled();
    assert.equal(stats.records, 40);
  });
});
