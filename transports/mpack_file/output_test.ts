import assert from "node:assert/strict";
import { createLogger } from "../../core/log.ts";
import { type AckToken, type BusRecord, type Dict, makeRecord, secondsToNs } from "../../core/record.ts";
import { PartStats } from "../../core/stats.ts";
import type { OutputContext } from "../../core/transport.ts";
import { decodeMsgpackMultiple, encodeMsgpack } from "../../codecs/msgpack.ts";
import { type MpackStreamItem, MpackStreamReader } from "../../codecs/mpack_stream.ts";
import {
  expandPathTemplate,
  type MpackFileMark,
  MpackFileOutput,
  repairMpackTail,
  withNumberSuffix,
} from "./output.ts";
import { type MpackFileConfig, mpackFileSchema } from "./schema.ts";
import { transport } from "./mod.ts";

const VECTOR_1 = "82a3666f6f01a9736f6d657468696e67a4656c7365";
const VECTOR_2 =
  "84a474696d65cb3fe0000000000000a16182a1629301cb4004000000000000c0a163c3a16ecb7ff8000000000000a362696ec4020102";

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

function unhex(s: string): Uint8Array {
  return Uint8Array.from(s.match(/../g) ?? [], (h) => parseInt(h, 16));
}

function cat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) out.set(p, off), off += p.length;
  return out;
}

/** A test harness: a temp dir, a context whose log lines are kept, and cleanup. */
async function withEnv(fn: (env: Env) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "mpack_file_test_" });
  const lines: string[] = [];
  const outputs: MpackFileOutput[] = [];
  const stats = new PartStats("output", "out", "mpack_file");
  const ctx: OutputContext = {
    name: "out",
    log: createLogger("output.out", { level: "debug", write: (l) => lines.push(l) }),
    stats,
    dataDir: dir,
    http: { route() {} },
  };
  const env: Env = {
    dir,
    lines,
    stats,
    ctx,
    async open(cfg) {
      const out = await MpackFileOutput.open(mpackFileSchema.parse(cfg), ctx);
      outputs.push(out);
      return out;
    },
  };
  try {
    await fn(env);
  } finally {
    for (const o of outputs) await o.close().catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
}

interface Env {
  dir: string;
  lines: string[];
  stats: PartStats;
  ctx: OutputContext;
  open(cfg: Record<string, unknown>): Promise<MpackFileOutput>;
}

function rec(data: Dict, stream = "s", seconds = 1, source = "test"): BusRecord {
  return makeRecord(stream, secondsToNs(seconds), data, source);
}

/** Records `from`..`to`-1 of input `source` as one acknowledgement group, as the bus makes them. */
function group(from: number, to: number, source = "test"): { records: BusRecord[]; token: AckToken } {
  const token: AckToken = { pending: to - from, done: () => {} };
  const records = Array.from({ length: to - from }, (_, k) => {
    const r = rec({ i: from + k, pad: "p".repeat(20) }, "s", 1, source);
    r.ack = token;
    return r;
  });
  return { records, token };
}

/** This output's mark on a group. */
function markOf(token: AckToken): MpackFileMark {
  const m = token.marks?.out as MpackFileMark | undefined;
  assert.ok(m, "the output marked the group");
  return m;
}

/** The `i` of every record in the files, in the order given. */
async function indices(...paths: string[]): Promise<number[]> {
  const out: number[] = [];
  for (const p of paths) {
    for (const v of decodeMsgpackMultiple(await Deno.readFile(p))) out.push((v as Dict).i as number);
  }
  return out;
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => from + k);

async function listFiles(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) if (e.isFile) names.push(e.name);
  return names.sort();
}

Deno.test("cached raw bytes are written exactly as they are", async () => {
  await withEnv(async (env) => {
    // Not what encodeMsgpack would produce (map16 header, 1.0 as float64): proves the bytes are not re-encoded.
    const raw1 = unhex("de0001a161cb3ff0000000000000");
    const raw2 = unhex("81a162c3");
    const r1 = rec({ a: 1 });
    r1.encoded = { msgpack: raw1 };
    const r2 = rec({ b: true });
    r2.encoded = { msgpack: raw2 };
    const out = await env.open({ path: `${env.dir}/raw.mpack` });
    await out.write([r1, r2]);
    await out.close();
    assert.equal(hex(await Deno.readFile(`${env.dir}/raw.mpack`)), hex(raw1) + hex(raw2));
    assert.equal(env.stats.bytes, raw1.length + raw2.length);
  });
});

Deno.test("records without a cache are encoded as mpacklog writes them, and the cache is set", async () => {
  await withEnv(async (env) => {
    const r1 = rec({ foo: 1, something: "else" });
    const r2 = rec({ time: 0.5, a: { b: [1, 2.5, null], c: true }, n: NaN, bin: new Uint8Array([1, 2]) });
    const r3 = rec({ x: 1 });
    r3.encoded = { json: '{"x":1}' };
    const out = await env.open({ path: `${env.dir}/vec.mpack` });
    await out.write([r1, r2, r3]);
    await out.close();
    const bytes = hex(await Deno.readFile(`${env.dir}/vec.mpack`));
    assert.equal(bytes, VECTOR_1 + VECTOR_2 + "81a17801");
    // Later outputs find the encoding; other cached formats are kept.
    assert.equal(hex(r1.encoded!.msgpack!), VECTOR_1);
    assert.equal(hex(r2.encoded!.msgpack!), VECTOR_2);
    assert.equal(hex(r3.encoded!.msgpack!), "81a17801");
    assert.equal(r3.encoded!.json, '{"x":1}');
  });
});

Deno.test("rotation by size: files stay within the limit, records stay in order", async () => {
  await withEnv(async (env) => {
    const limit = 200;
    const out = await env.open({ path: `${env.dir}/r-{seq}.mpack`, rotate_size: limit, fsync: "never" });
    const all: BusRecord[] = [];
    for (let i = 0; i < 60; i++) all.push(rec({ i, pad: "x".repeat(i % 17) }));
    const big = rec({ big: "y".repeat(300) }); // larger than the limit: gets a file of its own
    all.splice(30, 0, big);
    for (let i = 0; i < all.length; i += 7) await out.write(all.slice(i, i + 7));
    await out.close();
    const names = await listFiles(env.dir);
    assert.ok(names.length > 5, `expected several files, got ${names}`);
    assert.deepEqual(names, names.map((_, i) => `r-${String(i).padStart(4, "0")}.mpack`));
    const read: unknown[] = [];
    let maxRecord = 0;
    for (const r of all) maxRecord = Math.max(maxRecord, r.encoded!.msgpack!.length);
    for (const n of names) {
      const b = await Deno.readFile(`${env.dir}/${n}`);
      const values = decodeMsgpackMultiple(b);
      assert.ok(b.length <= limit + maxRecord);
      if (values.length > 1) assert.ok(b.length <= limit, `${n} has ${b.length} B`);
      read.push(...values);
    }
    assert.deepEqual(read, all.map((r) => r.data));
  });
});

Deno.test("rotation by interval: a new file after the wall-clock boundary", async () => {
  await withEnv(async (env) => {
    const out = await env.open({ path: `${env.dir}/t-{datetime}-{seq}.mpack`, rotate_interval: "200ms" });
    await out.write([rec({ n: 1 })]);
    const first = out.currentPath;
    await new Promise((r) => setTimeout(r, 250));
    await out.write([rec({ n: 2 }), rec({ n: 3 })]);
    const second = out.currentPath;
    await out.close();
    assert.notEqual(first, second);
    const names = await listFiles(env.dir);
    assert.equal(names.length, 2);
    for (const n of names) assert.match(n, /^t-\d{8}T\d{6}Z-\d{4}\.mpack$/);
    const values = [];
    for (const n of names) values.push(...decodeMsgpackMultiple(await Deno.readFile(`${env.dir}/${n}`)));
    assert.deepEqual(values, [{ n: 1 }, { n: 2 }, { n: 3 }]);
  });
});

Deno.test("rotation by interval: a file that got no record in its interval is removed", async () => {
  await withEnv(async (env) => {
    const out = await env.open({ path: `${env.dir}/e-{seq}.mpack`, rotate_interval: "100ms", fsync: "never" });
    await new Promise((r) => setTimeout(r, 120));
    await out.write([rec({ n: 1 })]);
    await out.close();
    // The empty start-up file was removed, so its name was free again.
    assert.deepEqual(await listFiles(env.dir), ["e-0000.mpack"]);
    assert.deepEqual(decodeMsgpackMultiple(await Deno.readFile(`${env.dir}/e-0000.mpack`)), [{ n: 1 }]);
    assert.equal(env.stats.counters.get("files_opened"), 2);
  });
});

Deno.test("path template placeholders", async () => {
  const t = Date.UTC(2024, 0, 2, 3, 4, 5, 678);
  assert.equal(
    expandPathTemplate("{name}/{date}_{time}_{datetime}_{seq}_{host}", { name: "n", host: "h", timeMs: t, seq: 7 }),
    "n/20240102_030405_20240102T030405Z_0007_h",
  );
  assert.equal(expandPathTemplate("x-{seq}.mpack", { name: "n", host: "h", timeMs: t }), "x-{seq}.mpack");
  assert.equal(withNumberSuffix("a/b.c/log.mpack", 2), "a/b.c/log.2.mpack");
  assert.equal(withNumberSuffix("a/b.c/log", 3), "a/b.c/log.3");

  await withEnv(async (env) => {
    const out = await env.open({ path: `${env.dir}/{host}/{name}/x-{date}-{seq}.mpack`, fsync: "never" });
    const host = Deno.hostname().replace(/[^A-Za-z0-9_.-]/g, "_");
    const date = new Date().toISOString().slice(0, 10).replaceAll("-", "");
    assert.equal(out.currentPath, `${env.dir}/${host}/out/x-${date}-0000.mpack`);
    assert.ok(env.lines.some((l) => l.includes("INFO") && l.includes(`writing path=${out.currentPath}`)));
    await out.close();
    // {seq} continues after the highest number present, even with gaps.
    await Deno.writeFile(`${env.dir}/${host}/out/x-${date}-0005.mpack`, new Uint8Array());
    const next = await env.open({ path: `${env.dir}/{host}/{name}/x-{date}-{seq}.mpack`, fsync: "never" });
    assert.equal(next.currentPath, `${env.dir}/${host}/out/x-${date}-0006.mpack`);
  });
});

Deno.test("{datetime} is the start of the rotation interval; {started} is when the output started", async () => {
  const t = Date.UTC(2024, 0, 2, 13, 0, 0);
  const started = Date.UTC(2024, 0, 2, 13, 27, 15, 500);
  assert.equal(
    expandPathTemplate("{datetime}_{started}", { name: "n", host: "h", timeMs: t, startedMs: started }),
    "20240102T130000Z_20240102T132715Z",
  );
  assert.equal(expandPathTemplate("{started}", { name: "n", host: "h", timeMs: t }), "20240102T130000Z");
  await withEnv(async (env) => {
    const stamp = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/[-:]|\.000/g, "");
    const before = Date.now();
    const out = await env.open({ path: `${env.dir}/{datetime}_{started}.mpack`, rotate_interval: "1h" });
    const after = Date.now();
    const [, datetime, start] = /\/(\w+)_(\w+)\.mpack$/.exec(out.currentPath!)!;
    assert.equal(datetime, stamp(Math.floor(before / 3_600_000) * 3_600_000).replace(/\d{4}Z$/, "0000Z"));
    assert.ok(start >= stamp(before) && start <= stamp(after), `${start} within ${stamp(before)}…${stamp(after)}`);
  });
});

Deno.test("append=true cuts a torn tail and appends after the last good record", async () => {
  await withEnv(async (env) => {
    const path = `${env.dir}/torn.mpack`;
    // Records spanning several 1 MiB scan chunks, then half a record.
    const good = [
      { time: 1.5, big: new Uint8Array(700_000).fill(1) },
      { time: 2.5, big: new Uint8Array(700_000).fill(2) },
      { time: 3.5, s: "ok" },
    ];
    const torn = encodeMsgpack({ time: 4.5, t: "torn record" });
    const goodBytes = cat(...good.map((g) => encodeMsgpack(g)));
    await Deno.writeFile(path, cat(goodBytes, torn.subarray(0, torn.length >> 1)));
    const out = await env.open({ path });
    assert.equal(out.currentSize, goodBytes.length);
    await out.write([rec({ time: 5.5 }), rec({ time: 6.5 })]);
    await out.close();
    const values = decodeMsgpackMultiple(await Deno.readFile(path));
    assert.deepEqual(values, [...good, { time: 5.5 }, { time: 6.5 }]);
    const warn = env.lines.find((l) => l.includes("WARN") && l.includes("torn tail"));
    assert.ok(warn, env.lines.join("\n"));
    assert.ok(warn.includes(`offset=${goodBytes.length}`) && warn.includes(`bytes=${torn.length >> 1}`), warn);
    assert.equal(env.stats.counters.get("repaired_bytes"), torn.length >> 1);
  });
});

Deno.test("tail repair finds the boundary whatever byte a record was cut at", async () => {
  await withEnv(async (env) => {
    const good = cat(encodeMsgpack({ g: 1 }), encodeMsgpack({ g: 2.5 }));
    const lasts = [
      encodeMsgpack({ time: 1.5, y: [1.5, 2], s: "hello world", nested: { k: "v" }, b: Uint8Array.of(1, 2) }),
      encodeMsgpack({ s: "hello world" }), // a cut fixstr decodes without error: only the span check catches it
      encodeMsgpack({ time: 1.5, x: 7, s: "x".repeat(40), b: Uint8Array.of(1, 2, 3) }),
    ];
    for (const [n, last] of lasts.entries()) {
      for (let cut = 1; cut < last.length; cut++) {
        const path = `${env.dir}/cut-${n}-${cut}.mpack`;
        await Deno.writeFile(path, cat(good, last.subarray(0, cut)));
        const r = await repairMpackTail(path);
        const expected = {
          size: good.length,
          records: 2,
          cut,
          tail: "torn",
          middleGarbage: 0,
          foreign: false,
          scanned: good.length + cut,
        };
        assert.deepEqual(r, expected, `record ${n} cut at ${cut}`);
        assert.equal((await Deno.stat(path)).size, good.length);
      }
    }
  });
});

Deno.test("tail repair reads records that straddle its 1 MiB read boundaries", async () => {
  await withEnv(async (env) => {
    const path = `${env.dir}/big.mpack`;
    const MiB = 1 << 20;
    // For each cut offset: a filler record ending just before a 1 MiB boundary, so that a string (then a float,
    // then a bin) payload is cut by the boundary, then ordinary records.
    for (const before of [50, 7, 3]) {
      const filler = encodeMsgpack({ b: new Uint8Array(MiB - before - 8) }); // 81 a1 62 c6 <u32> = 8 header bytes
      assert.equal(filler.length, MiB - before);
      const parts = [filler, encodeMsgpack({ s: "x".repeat(100) }), encodeMsgpack({ f: 0.5, b: Uint8Array.of(1, 2) })];
      for (let i = 0; i < 100; i++) parts.push(encodeMsgpack({ i, s: "y".repeat(i) }));
      const bytes = cat(...parts);
      await Deno.writeFile(path, bytes);
      assert.deepEqual(await repairMpackTail(path), {
        size: bytes.length,
        records: parts.length,
        cut: 0,
        tail: "none",
        middleGarbage: 0,
        foreign: false,
        scanned: bytes.length,
      }, `${before} bytes before the boundary`);
    }
  });
});

Deno.test("append=true leaves garbage in the middle alone and repairs only the tail", async () => {
  await withEnv(async (env) => {
    const path = `${env.dir}/mid.mpack`;
    const a = encodeMsgpack({ a: 1, pad: "a".repeat(40) });
    const b = encodeMsgpack({ b: 2, pad: "b".repeat(40) });
    const garbage = Uint8Array.of(0xc1, 0x00, 0x01);
    const torn = encodeMsgpack({ c: 3 }).subarray(0, 3);
    await Deno.writeFile(path, cat(a, garbage, b, torn));
    const out = await env.open({ path });
    await out.write([rec({ d: 4 })]);
    await out.close();
    const bytes = await Deno.readFile(path);
    assert.equal(hex(bytes), hex(cat(a, garbage, b, encodeMsgpack({ d: 4 }))));
    const reader = new MpackStreamReader();
    reader.push(bytes);
    const items: MpackStreamItem[] = [];
    for (let it = reader.next(); it; it = reader.next()) items.push(it);
    assert.deepEqual(items.map((i) => i.kind), ["record", "garbage", "record", "record"]);
    assert.equal(reader.finish(), undefined);
  });
});

Deno.test("a clean existing file is appended to unchanged; a file of only zeros is emptied", async () => {
  await withEnv(async (env) => {
    const path = `${env.dir}/clean.mpack`;
    await Deno.writeFile(path, unhex(VECTOR_1));
    const out = await env.open({ path, fsync: "never" });
    await out.write([rec({ x: 1 })]);
    await out.close();
    assert.equal(hex(await Deno.readFile(path)), VECTOR_1 + "81a17801");
    assert.ok(!env.lines.some((l) => l.includes("WARN")));

    const zeros = `${env.dir}/zeros.mpack`;
    await Deno.writeFile(zeros, new Uint8Array(4096)); // what a power loss can leave
    assert.deepEqual(await repairMpackTail(zeros), {
      size: 0,
      records: 0,
      cut: 4096,
      tail: "zeros",
      middleGarbage: 0,
      foreign: false,
      scanned: 4096,
    });
    assert.equal((await Deno.stat(zeros)).size, 0);
  });
});

Deno.test("a file that is not an mpack log is never truncated; a new name is used", async () => {
  await withEnv(async (env) => {
    const path = `${env.dir}/notes.mpack`;
    const text = new TextEncoder().encode("these are someone's notes, not telemetry\n".repeat(10));
    await Deno.writeFile(path, text);
    const out = await env.open({ path, fsync: "never" });
    assert.equal(out.currentPath, `${env.dir}/notes.1.mpack`);
    await out.write([rec({ x: 1 })]);
    await out.close();
    assert.deepEqual(await Deno.readFile(path), text);
  });
});

Deno.test("append=false picks the next free name; append=true continues the newest of the chain", async () => {
  await withEnv(async (env) => {
    const path = `${env.dir}/log.mpack`;
    await Deno.writeFile(path, unhex(VECTOR_1));
    const o1 = await env.open({ path, append: false, fsync: "never" });
    assert.equal(o1.currentPath, `${env.dir}/log.1.mpack`);
    await o1.write([rec({ n: 1 })]);
    await o1.close();
    const o2 = await env.open({ path, append: "false", fsync: "never" });
    assert.equal(o2.currentPath, `${env.dir}/log.2.mpack`);
    await o2.close();
    assert.equal(hex(await Deno.readFile(path)), VECTOR_1);
    assert.deepEqual(decodeMsgpackMultiple(await Deno.readFile(`${env.dir}/log.1.mpack`)), [{ n: 1 }]);
    const o3 = await env.open({ path, fsync: "never" });
    assert.equal(o3.currentPath, `${env.dir}/log.2.mpack`);
    await o3.close();
  });
});

Deno.test("a size limit without {seq} rotates to .1, .2 names", async () => {
  await withEnv(async (env) => {
    const out = await env.open({ path: `${env.dir}/day-{date}.mpack`, rotate_size: 5, fsync: "never" });
    // Each record is 4 bytes: two would exceed 5.
    await out.write([rec({ a: 1 }), rec({ a: 2 }), rec({ a: 3 })]);
    await out.close();
    const names = await listFiles(env.dir);
    assert.equal(names.length, 3);
    assert.match(names.join(" "), /^day-\d{8}\.1\.mpack day-\d{8}\.2\.mpack day-\d{8}\.mpack$/);
  });
});

Deno.test("fsync policies write the same bytes and close cleanly", async () => {
  for (const fsync of ["never", "interval", "every_batch"]) {
    await withEnv(async (env) => {
      const path = `${env.dir}/f.mpack`;
      const out = await env.open({ path, fsync, fsync_interval: "10ms" });
      await out.write([rec({ foo: 1, something: "else" })]);
      await new Promise((r) => setTimeout(r, 30)); // let the interval timer fire
      await out.write([rec({ foo: 1, something: "else" })]);
      await out.close();
      await out.close(); // a second close is harmless
      assert.equal(hex(await Deno.readFile(path)), VECTOR_1 + VECTOR_1);
      await assert.rejects(out.write([rec({ a: 1 })]), /closed/);
      assert.equal(env.stats.errors, 1);
    });
  }
});

Deno.test("stream_key and time_key are put first; data is not mutated, its cache is reused", async () => {
  await withEnv(async (env) => {
    const out = await env.open({ path: `${env.dir}/k.mpack`, stream_key: "stream", time_key: "time" });
    const r1 = rec({ a: 1 }, "robot/imu", 1.5);
    const r2 = rec({ b: 2 }, "x", 2); // a whole second is still written as float64
    r2.encoded = { msgpack: unhex("81a162cb4000000000000000") }; // b: 2.0 as float64 stays float64
    const r3 = rec({ stream: "old", time: 9, c: 3 }, "y", 3); // clashing keys: the configured values win
    await out.write([r1, r2, r3]);
    await out.close();
    const bytes = hex(await Deno.readFile(`${env.dir}/k.mpack`));
    const streamKey = "a673747265616d";
    const timeKey = "a474696d65";
    assert.equal(
      bytes,
      `83${streamKey}a9726f626f742f696d75${timeKey}cb3ff8000000000000a16101` +
        `83${streamKey}a178${timeKey}cb4000000000000000a162cb4000000000000000` +
        `83${streamKey}a179${timeKey}cb4008000000000000a16303`,
    );
    assert.deepEqual(r1.data, { a: 1 });
    assert.deepEqual(r3.data, { stream: "old", time: 9, c: 3 });
    assert.equal(hex(r1.encoded!.msgpack!), "81a16101");
  });
});

Deno.test("a write error is logged with the path, counted and rethrown", async () => {
  if (Deno.build.os !== "linux") return;
  try {
    await Deno.stat("/dev/full");
  } catch {
    return;
  }
  await withEnv(async (env) => {
    const out = await env.open({ path: "/dev/full", fsync: "never" }); // every write fails with ENOSPC
    await assert.rejects(out.write([rec({ a: 1 })]));
    await assert.rejects(out.write([rec({ a: 2 })]));
    assert.equal(env.stats.errors, 2);
    assert.equal(env.stats.bytes, 0);
    assert.ok(env.lines.some((l) => l.includes("ERROR") && l.includes("write failed path=/dev/full")));
    await out.close();
  });
});

Deno.test("schema: defaults, units, strictness, placeholders", () => {
  const c: MpackFileConfig = mpackFileSchema.parse({ path: "data/x-{datetime}-{seq}.mpack" });
  assert.equal(c.fsync, "interval");
  assert.equal(c.fsync_interval, 1000);
  assert.equal(c.append, true);
  assert.equal(c.when_full, "block");
  assert.equal(c.rotate_size, undefined);
  const d = mpackFileSchema.parse({ path: "x.mpack", rotate_size: "1KiB", rotate_interval: "1h", append: "false" });
  assert.equal(d.rotate_size, 1024);
  assert.equal(d.rotate_interval, 3_600_000);
  assert.equal(d.append, false);
  assert.equal(mpackFileSchema.safeParse({ path: "x-{nope}.mpack" }).success, false);
  assert.equal(mpackFileSchema.safeParse({ path: "x.mpack", bogus: 1 }).success, false);
  assert.equal(mpackFileSchema.safeParse({}).success, false);
  assert.equal(mpackFileSchema.safeParse({ path: "x.mpack", fsync: "always" }).success, false);
  assert.equal(mpackFileSchema.safeParse({ path: "x.mpack", stream_key: "k", time_key: "k" }).success, false);
});

Deno.test("the transport definition creates a working output", async () => {
  assert.equal(transport.type, "mpack_file");
  await withEnv(async (env) => {
    const parsed = transport.output!.schema.safeParse({ path: `${env.dir}/m.mpack` });
    assert.ok(parsed.success);
    const out = await transport.output!.create(parsed.data as never, env.ctx);
    await out.write([rec({ foo: 1, something: "else" })]);
    await out.close();
    assert.equal(hex(await Deno.readFile(`${env.dir}/m.mpack`)), VECTOR_1);
  });
});

/** A value nested `levels` lists deep. */
function nested(levels: number): Dict {
  let v: unknown = 1;
  for (let i = 0; i < levels; i++) v = [v];
  return { deep: v as Dict["deep"] };
}

Deno.test("a record it cannot write costs only itself: too deep, beyond the reader's limit, or a bigint beyond 64 bits", async () => {
  for (const cfg of [{}, { stream_key: "stream", time_key: "time" }]) {
    await withEnv(async (env) => {
      const out = await env.open({ path: `${env.dir}/x.mpack`, ...cfg });
      await out.write([
        rec({ i: 0 }),
        rec(nested(5000), "bad/stack"), // msgpackr's encoder overflows the call stack
        rec({ i: 1 }),
        rec({ i: 2, big: 2n ** 64n }, "bad/bigint"),
        rec({ i: 3 }),
        rec(nested(100), "bad/deep"), // encodable, but telebus's reader would take it for garbage
        rec({ i: 4, ok: nested(98) }), // its 1 sits at level 100, the limit: written
      ]);
      await out.close();
      const reader = new MpackStreamReader();
      reader.push(await Deno.readFile(`${env.dir}/x.mpack`));
      const got: unknown[] = [];
      for (let item = reader.next(); item; item = reader.next()) {
        assert.equal(item.kind, "record", JSON.stringify(item));
        if (item.kind === "record") got.push(item.value.i);
      }
      assert.equal(reader.finish(), undefined);
      assert.deepEqual(got, [0, 1, 2, 3, 4].filter((i) => i !== 2));
      assert.deepEqual(Object.fromEntries(env.stats.rejected), { too_deep: 2, unencodable: 1 });
      const logged = env.lines.filter((l) => l.includes("record refused"));
      assert.equal(logged.length, 2, logged.join("\n"));
      assert.match(logged[0], /stream=bad\/stack .*reason=too_deep/);
      assert.match(logged[1], /stream=bad\/bigint .*reason=unencodable/);
      assert.equal(env.stats.errors, 0);
    });
  }
});

Deno.test("marks: each group is marked with the file and the length just after its last record, across rotations", async () => {
  await withEnv(async (env) => {
    const path = `${env.dir}/m.mpack`;
    const size = encodeMsgpack({ i: 0, pad: "p".repeat(20) }).length; // the same for every i < 128
    const out = await env.open({ path, rotate_size: 10 * size, fsync: "never" });
    const g1 = group(0, 3), g2 = group(3, 12), g3 = group(12, 13);
    await out.write([...g1.records, ...g2.records.slice(0, 4)]);
    assert.deepEqual({ ...markOf(g2.token) }, {
      run: markOf(g1.token).run,
      path,
      ino: markOf(g1.token).ino,
      size: 7 * size,
    });
    await out.write([...g2.records.slice(4), ...g3.records]); // records 10… go to m.1.mpack
    await out.close();
    const second = `${env.dir}/m.1.mpack`;
    assert.deepEqual(await indices(path, second), range(0, 13));
    const ino = (p: string) => Deno.stat(p).then((s) => s.ino ?? 0);
    const run = markOf(g1.token).run;
    assert.deepEqual(markOf(g1.token), { run, path, ino: await ino(path), size: 3 * size });
    assert.deepEqual(markOf(g2.token), { run, path: second, ino: await ino(second), size: 2 * size });
    assert.deepEqual(markOf(g3.token), { run, path: second, ino: await ino(second), size: 3 * size });
  });
});

Deno.test("rewind: after a crash, cut back to the mark, remove files opened after it, continue the lineage", async () => {
  await withEnv(async (env) => {
    const path = `${env.dir}/w.mpack`;
    const cfg = { path, rotate_size: 300, fsync: "every_batch" };
    const a = await env.open(cfg);
    const g1 = group(0, 5), g2 = group(5, 30);
    await a.write(g1.records);
    await a.write(g2.records); // rotates into w.1.mpack, w.2.mpack …
    // kill -9: `a` is never closed; the input's checkpoint holds g1's mark.
    const m1 = markOf(g1.token);
    assert.ok((await listFiles(env.dir)).length > 2, "rotated");
    const b = await env.open(cfg);
    await b.rewind(m1, "test");
    assert.deepEqual(await listFiles(env.dir), ["w.mpack"], "files opened after the mark are gone");
    assert.equal((await Deno.stat(path)).size, m1.size);
    assert.equal(b.currentPath, path);
    assert.equal(b.currentSize, m1.size);
    assert.ok(env.lines.some((l) => l.includes("cut back to the input's checkpoint") && l.includes("removed_files=")));
    // The input re-delivers from its checkpoint.
    const g2b = group(5, 30);
    await b.write(g2b.records);
    const m2 = markOf(g2b.token);
    assert.equal(m2.run, m1.run, "the lineage goes on");
    // kill -9 again, with a checkpoint one group further: the same lineage is cut back again.
    const g3 = group(30, 40);
    await b.write(g3.records);
    const c = await env.open(cfg);
    await c.rewind(m2, "test");
    await c.write(group(30, 40).records);
    await c.close();
    const names = (await listFiles(env.dir)).sort((x, y) => x.length - y.length || (x < y ? -1 : 1));
    assert.deepEqual(await indices(...names.map((n) => `${env.dir}/${n}`)), range(0, 40), "each record once");
  });
});

Deno.test("rewind is refused, and nothing cut, unless the mark is provably the last lineage's, by one input", async () => {
  await withEnv(async (env) => {
    const path = `${env.dir}/r.mpack`;
    const refused = (why: string) => env.lines.filter((l) => l.includes("not cutting back") && l.includes(why)).length;
    // A mark of an older lineage: a later run wrote without rewinding (e.g. the input did not resume).
    const a = await env.open({ path, fsync: "never" });
    const g1 = group(0, 3);
    await a.write(g1.records);
    await a.close();
    const b = await env.open({ path, fsync: "never" });
    await b.write(group(3, 6).records);
    const c = await env.open({ path, fsync: "never" });
    const size = (await Deno.stat(path)).size;
    await c.rewind(markOf(g1.token), "test");
    assert.equal(refused("older than the output's last run"), 1);
    assert.equal((await Deno.stat(path)).size, size);
    // Written before the input resumed.
    const g2 = group(6, 8);
    await c.write(g2.records);
    await c.rewind(markOf(g2.token), "test");
    assert.equal(refused("written before the input resumed"), 1);
    // Records of two inputs.
    await c.write(group(8, 9, "other").records);
    const d = await env.open({ path, fsync: "never" });
    await d.rewind(markOf(g2.token), "test");
    assert.equal(refused("other inputs wrote to it too"), 1);
    await d.close();
    // The selection changed.
    const e = await env.open({ path, fsync: "never" });
    const g3 = group(9, 10);
    await e.write(g3.records);
    const f = await env.open({ path, fsync: "never", streams: ["robot/*"] });
    await f.rewind(markOf(g3.token), "test");
    assert.equal(refused("inputs or streams changed"), 1);
    await f.close();
    // The file is shorter than the mark (what was written last never reached the disk).
    const g = await env.open({ path, fsync: "never" });
    const g4 = group(10, 12);
    await g.write(g4.records);
    await Deno.truncate(path, markOf(g4.token).size - 1);
    const h = await env.open({ path, fsync: "never" });
    await h.rewind(markOf(g4.token), "test");
    assert.equal(refused("shorter than the mark"), 1);
    // A malformed mark.
    const i = await env.open({ path, fsync: "never" });
    await i.rewind({ path }, "test");
    assert.equal(refused("malformed mark"), 1);
    await i.close();
    // A file after the mark that the lineage appended to (it existed before): it holds older records.
    const j = await env.open({ path: `${env.dir}/a.mpack`, rotate_size: 40, fsync: "never" });
    const g5 = group(12, 13), g6 = group(13, 16);
    await j.write([...g5.records, ...g6.records]);
    const statePath = `${env.dir}/mpack_file/out.json`;
    const state = JSON.parse(await Deno.readTextFile(statePath));
    assert.ok(state.files.length >= 2, "rotated");
    state.files.at(-1).created = false;
    await Deno.writeTextFile(statePath, JSON.stringify(state));
    const k = await env.open({ path: `${env.dir}/a.mpack`, rotate_size: 40, fsync: "never" });
    assert.equal(markOf(g5.token).path, `${env.dir}/a.mpack`);
    await k.rewind(markOf(g5.token), "test");
    assert.equal(refused("appended to after the mark"), 1);
    assert.equal(env.stats.counters.get("rewound_bytes"), undefined, "nothing was cut");
  });
});

Deno.test("start-up reads only what follows the last saved end of whole records", async () => {
  await withEnv(async (env) => {
    const path = `${env.dir}/s.mpack`;
    const a = await env.open({ path, fsync: "never" });
    const blob = new Uint8Array(1 << 16);
    for (let i = 0; i < 16; i++) await a.write(Array.from({ length: 16 }, () => rec({ blob })));
    await a.close();
    const size = (await Deno.stat(path)).size;
    assert.ok(size > 16 << 20);
    const scanned = () => env.stats.counters.get("scanned_bytes") ?? 0;
    // After a clean close: nothing to read.
    const b = await env.open({ path, fsync: "never" });
    assert.equal(scanned(), 0);
    assert.equal(b.currentSize, size);
    await b.close();
    // A torn record after it (as kill -9 can leave): only that is read, and cut.
    const torn = encodeMsgpack({ blob }).subarray(0, 1000);
    await Deno.writeFile(path, torn, { append: true });
    const c = await env.open({ path, fsync: "never" });
    assert.equal(scanned(), torn.length);
    assert.equal(c.currentSize, size);
    assert.equal(env.stats.counters.get("repaired_bytes"), torn.length);
    await c.close();
    // Another file in its place: read in full.
    await Deno.copyFile(path, `${path}.new`);
    await Deno.rename(`${path}.new`, path);
    const d = await env.open({ path, fsync: "never" });
    assert.equal(scanned(), torn.length + size);
    await d.close();
  });
});

Deno.test("tail repair keeps the records another writer appended after a torn record", async () => {
  await withEnv(async (env) => {
    const path = `${env.dir}/torn-then-more.mpack`;
    const good = cat(encodeMsgpack({ g: 1 }), encodeMsgpack({ g: 2 }));
    // A writer died 100 bytes into a record with a 1 MiB binary field; a new writer appended 50 records.
    const torn = encodeMsgpack({ b: new Uint8Array(1 << 20) }).subarray(0, 100);
    const more = Array.from({ length: 50 }, (_, i) => encodeMsgpack({ after: i, time: 1.5 + i }));
    const bytes = cat(good, torn, ...more);
    await Deno.writeFile(path, bytes);
    const r = await repairMpackTail(path);
    assert.equal(r.records, 52, "the 50 records after the torn one are found");
    assert.equal(r.cut, 0);
    assert.equal(r.tail, "none");
    assert.equal(r.middleGarbage, 100);
    assert.equal(r.foreign, false);
    assert.equal((await Deno.stat(path)).size, bytes.length, "nothing cut");
  });
});
