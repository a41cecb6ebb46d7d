/** The mcap output: indexed files, encodings, compressions, rotation, timed chunks, a torn file finished at start. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createLogger } from "../../core/log.ts";
import { type BusRecord, type Dict, makeRecord } from "../../core/record.ts";
import { PartStats } from "../../core/stats.ts";
import type { OutputContext } from "../../core/transport.ts";
import { decodeMcapMessage, openIndexedMcap, readMcapRecords } from "../../codecs/mcap_read.ts";
import { until } from "../../testing/mod.ts";
import { EncodedRecord } from "../../codecs/encoded_record.ts";
import { encodeMsgpack } from "../../codecs/msgpack.ts";
import { toJson } from "../../codecs/json.ts";
import { McapOutput } from "./output.ts";
import { type McapConfig, mcapSchema } from "./schema.ts";
import { hasFooter } from "./repair.ts";

interface Env {
  dir: string;
  stats: PartStats;
  lines: string[];
  open(cfg: Record<string, unknown>): Promise<McapOutput>;
}

async function withEnv(fn: (env: Env) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "mcap_test_" });
  const lines: string[] = [];
  const stats = new PartStats("output", "out", "mcap");
  const ctx: OutputContext = {
    name: "out",
    log: createLogger("output.out", { level: "debug", write: (l) => lines.push(l) }),
    stats,
    dataDir: join(dir, "data"),
    http: { route() {} },
  };
  const outputs: McapOutput[] = [];
  try {
    await fn({
      dir,
      stats,
      lines,
      async open(cfg) {
        const out = await McapOutput.open(mcapSchema.parse({ worker, ...cfg }) as McapConfig, ctx);
        outputs.push(out);
        return out;
      },
    });
  } finally {
    for (const o of outputs) await o.close().catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
}

/** Whether the test running uses the worker: each test runs with it and without (see `test`). */
let worker = true;

/** Registers `fn` twice: with the worker (the default) and in one thread (`worker = false`). */
function test(name: string, fn: () => Promise<void> | void): void {
  for (const w of [true, false]) {
    Deno.test(`${name} (${w ? "worker" : "one thread"})`, () => {
      worker = w;
      return fn();
    });
  }
}

function rec(stream: string, i: number, extra: Dict = {}): BusRecord {
  return makeRecord(
    stream,
    1_700_000_000_000_000_000n + BigInt(i) * 1_000_000n,
    { seq: i, v: i * 0.5, ...extra },
    "in",
  );
}

/** The JSON text of a map as `toJson` prints it, as bytes. */
function encodeJson(d: Dict): Uint8Array {
  return new TextEncoder().encode(toJson(d));
}

/** Every message of a file through McapIndexedReader, as [topic, time, data]. */
async function readIndexed(path: string): Promise<[string, bigint, Dict][]> {
  const { reader, close } = await openIndexedMcap(path);
  try {
    const out: [string, bigint, Dict][] = [];
    for await (const m of reader.readMessages()) {
      const ch = reader.channelsById.get(m.channelId)!;
      out.push([ch.topic, m.logTime, decodeMcapMessage(m.data, ch.messageEncoding)]);
    }
    assert.equal(reader.statistics?.messageCount, BigInt(out.length));
    return out;
  } finally {
    close();
  }
}

async function mcapFiles(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) if (e.name.endsWith(".mcap")) names.push(join(dir, e.name));
  return names.sort();
}

test("json: records that came as MessagePack bytes are written from the bytes, the same maps as decoded", async () => {
  await withEnv(async (env) => {
    const path = join(env.dir, "rec.mcap");
    const out = await env.open({ path, chunk_size: 2048 });
    const maps: Dict[] = [];
    for (let i = 0; i < 200; i++) {
      maps.push({
        seq: i,
        v: i * 0.25 - 7.1,
        s: i % 2 ? "é\u{1F600}" : 'a"b',
        big: 2n ** 63n + BigInt(i),
        neg: -0,
        l: [1, 2.5],
      });
    }
    // A date is a MessagePack timestamp, which the byte walk leaves to the decoder: that record takes the other path.
    maps.push({ seq: 200, when: new Date(1_700_000_000_000) });
    const records = maps.map((d, i) =>
      new EncodedRecord("tail", 1_700_000_000_000_000_000n + BigInt(i), encodeMsgpack(d), "in")
    );
    await out.write(records);
    await out.close();
    const got = await readIndexed(path);
    assert.deepEqual(got.map(([, , d]) => d), records.map((r) => decodeMcapMessage(encodeJson(r.data), "json")));
    assert.equal(got.length, 201);
    assert.equal(got[0][2].s, 'a"b');
    assert.equal(got[1][2].s, "é\u{1F600}");
    // Written from the bytes: the walk's Python-style spacing, where toJson would print compact JSON.
    const { reader, close } = await openIndexedMcap(path);
    try {
      for await (const m of reader.readMessages()) {
        assert.match(new TextDecoder().decode(m.data), /^\{"seq": 0, "v": -7\.1, /);
        break;
      }
    } finally {
      close();
    }
  });
});

for (const compression of ["zstd", "lz4", "none"] as const) {
  for (const encoding of ["json", "msgpack"] as const) {
    test(`${compression}/${encoding}: the file opens indexed and holds every record, one channel per stream`, async () => {
      await withEnv(async (env) => {
        const path = join(env.dir, "rec.mcap");
        // A small chunk size gives several chunks; the values cover what JSON must carry exactly.
        const out = await env.open({ path, compression, encoding, chunk_size: 2048 });
        const records: BusRecord[] = [];
        for (let i = 0; i < 300; i++) {
          records.push(
            rec(i % 3 === 0 ? "a/imu" : "b/odom", i, {
              big: 2n ** 63n + BigInt(i),
              bin: new Uint8Array([i & 255, 1]),
              s: "é",
            }),
          );
        }
        await out.write(records.slice(0, 150));
        await out.write(records.slice(150));
        await out.close();
        const got = await readIndexed(path);
        assert.deepEqual(got, records.map((r) => [r.stream, r.time, r.data]));
        const { reader, close } = await openIndexedMcap(path);
        try {
          assert.ok(reader.chunkIndexes.length > 1, "several chunks");
          for (const c of reader.chunkIndexes) assert.equal(c.compression, compression === "none" ? "" : compression);
          const channels = [...reader.channelsById.values()];
          assert.deepEqual(channels.map((c) => [c.topic, c.messageEncoding]).sort(), [["a/imu", encoding], [
            "b/odom",
            encoding,
          ]]);
          if (encoding === "json") {
            const schema = JSON.parse(new TextDecoder().decode(reader.schemasById.get(channels[0].schemaId)!.data));
            assert.equal(schema.properties.seq.type, "number");
            assert.equal(schema.properties.big.type, "integer");
          }
          // Indexed reads by topic and time work.
          let n = 0;
          for await (const _m of reader.readMessages({ topics: ["a/imu"], startTime: records[150].time })) n++;
          assert.equal(n, records.slice(150).filter((r) => r.stream === "a/imu").length);
        } finally {
          close();
        }
        assert.equal(env.stats.bytes, (await Deno.stat(path)).size);
        assert.equal(env.stats.counters.get("files_opened"), 1);
      });
    });
  }
}

test("rotate_size starts new files, each complete and indexed, together holding every record in order", async () => {
  await withEnv(async (env) => {
    const out = await env.open({
      path: join(env.dir, "r-{seq}.mcap"),
      rotate_size: "8KiB",
      chunk_size: 2048,
      compression: "none",
    });
    const records = Array.from({ length: 400 }, (_, i) => rec("s", i));
    for (let i = 0; i < records.length; i += 50) await out.write(records.slice(i, i + 50));
    await out.close();
    const files = await mcapFiles(env.dir);
    assert.ok(files.length >= 3, `several files: ${files.length}`);
    const all: Dict[] = [];
    for (const f of files) {
      // About the limit: the open chunk is counted uncompressed, the summary comes on top.
      assert.ok((await Deno.stat(f)).size < 8192 + 4096, f);
      all.push(...(await readIndexed(f)).map((m) => m[2]));
    }
    assert.deepEqual(all, records.map((r) => r.data));
    assert.equal(env.stats.counters.get("files_opened"), files.length);
  });
});

test("rotate_interval names files after their interval and starts a new one when it ends", async () => {
  await withEnv(async (env) => {
    const out = await env.open({ path: join(env.dir, "i-{datetime}.mcap"), rotate_interval: "1s" });
    await out.write([rec("s", 0)]);
    await out.settled();
    const first = out.currentPath!;
    assert.match(first, /i-\d{8}T\d{6}Z\.mcap$/);
    // Waits for the next interval by the clock the output uses.
    await until("the next interval", () => nextSecond(first), 5000);
    await out.write([rec("s", 1)]);
    await out.settled();
    assert.notEqual(out.currentPath, first);
    await out.close();
    assert.deepEqual((await readIndexed(first)).map((m) => m[2].seq), [0]);
    assert.deepEqual((await readIndexed(out.currentPath!)).map((m) => m[2].seq), [1]);
  });
});

/** True once the wall clock is past the second a `{datetime}` file name holds. */
function nextSecond(path: string): boolean {
  const m = path.match(/(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z/)!;
  const ms = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
  return Date.now() >= ms + 1000;
}

test("flush_interval: a chunk is written without more records coming", async () => {
  await withEnv(async (env) => {
    const path = join(env.dir, "f.mcap");
    const out = await env.open({ path, flush_interval: "100ms" });
    const header = (await Deno.stat(path)).size;
    await out.write([rec("s", 0)]);
    await until("the chunk is written", async () => (await Deno.stat(path)).size > header, 5000);
    // What is on disk now reads back (a crash here would lose nothing).
    const got: Dict[] = [];
    for await (const r of readMcapRecords(path)) got.push(r.data);
    assert.deepEqual(got, [{ seq: 0, v: 0 }]);
    await out.close();
  });
});

test("a file left without its summary is finished at the next start and opens indexed", async () => {
  await withEnv(async (env) => {
    const path = join(env.dir, "t.mcap");
    // No timed chunk: the crash below must find exactly what the writes left.
    const out = await env.open({ path, chunk_size: 1024, flush_interval: "1h" });
    const records = Array.from({ length: 200 }, (_, i) => rec(i % 2 ? "x" : "y", i));
    await out.write(records);
    await out.settled();
    // A crash: the file as it is now, with half a record more at its end, and no close.
    const torn = await Deno.readFile(path);
    const cut = new Uint8Array(torn.length + 7);
    cut.set(torn);
    cut.set([0x06, 0xff, 0xff, 0, 0, 0, 0], torn.length);
    await Deno.writeFile(path, cut);
    assert.equal(await hasFooter(path), false);
    // The next start (same data_dir) finishes it before opening a new file.
    const again = await env.open({ path, chunk_size: 1024 });
    assert.notEqual(again.currentPath, path);
    assert.ok(await hasFooter(path));
    const got = await readIndexed(path);
    // Every whole chunk is kept: all but the open chunk (under 1 KiB of records).
    assert.ok(got.length > 150 && got.length < 200, `kept ${got.length}`);
    assert.deepEqual(got.map((m) => m[2]), records.slice(0, got.length).map((r) => r.data));
    assert.equal(env.stats.counters.get("repaired_files"), 1);
    await out.close().catch(() => {});
  });
});

test("the schema checks placeholders and the options", () => {
  assert.throws(() => mcapSchema.parse({ path: "a/{nope}.mcap" }), /unknown placeholder \{nope\}/);
  assert.throws(() => mcapSchema.parse({ path: "a.mcap", compression: "gzip" }));
  const c = mcapSchema.parse({ path: "a.mcap" });
  assert.equal(c.compression, "zstd");
  assert.equal(c.encoding, "json");
  assert.equal(c.flush_interval, 1000);
  assert.equal(c.worker, true);
});

test("a file the state names that is not MCAP at all is left as it is", async () => {
  await withEnv(async (env) => {
    const path = join(env.dir, "foreign.mcap");
    await Deno.writeTextFile(path, "not an MCAP file");
    await Deno.mkdir(join(env.dir, "data", "mcap"), { recursive: true });
    await Deno.writeTextFile(join(env.dir, "data", "mcap", "out.json"), JSON.stringify({ open: path }));
    const out = await env.open({ path });
    assert.equal(await Deno.readTextFile(path), "not an MCAP file");
    assert.notEqual(out.currentPath, path);
    assert.ok(env.lines.some((l) => l.includes("cannot finish a torn file")), env.lines.join("\n"));
  });
});

test("a crash between naming a file in the state and its header: the empty file is finished at the next start", async () => {
  await withEnv(async (env) => {
    const path = join(env.dir, "empty.mcap");
    await Deno.writeFile(path, new Uint8Array());
    await Deno.mkdir(join(env.dir, "data", "mcap"), { recursive: true });
    await Deno.writeTextFile(join(env.dir, "data", "mcap", "out.json"), JSON.stringify({ open: path }));
    const out = await env.open({ path });
    assert.notEqual(out.currentPath, path);
    assert.ok(await hasFooter(path), env.lines.join("\n"));
    assert.deepEqual(await readIndexed(path), []);
    await out.close();
  });
});
