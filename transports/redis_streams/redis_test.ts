import assert from "node:assert/strict";
import { createClient } from "npm:redis@^5.8.0";
import { type BusRecord, makeRecord } from "../../core/record.ts";
import { RedisServer, testDaemon, until } from "../../testing/mod.ts";
import { decodeMsgpack, encodeMsgpack } from "../../codecs/msgpack.ts";
import { asBuffer, binary } from "../../net/redis.ts";
import { decodeEntry, encodeEntry } from "./codec.ts";

async function redisClient(url: string) {
  const c = createClient({ url });
  await c.connect();
  return c;
}

/** A daemon from `config` with a test input and a subscription that collects the records of the input "redis". */
async function daemon(config: Record<string, unknown>) {
  const daemonTable = (config.daemon ?? {}) as { data_dir?: string };
  const t = await testDaemon({ ...config, daemon: { http: "off", ...daemonTable } }, daemonTable.data_dir);
  const got: BusRecord[] = [];
  const unsubscribe = t.daemon.subscribe((rs) => void got.push(...rs), { whenFull: "block", inputs: ["redis"] });
  return {
    dir: t.dir,
    got,
    daemon: t.daemon,
    emit: t.emitRecords,
    async stop(keepDir = false) {
      await unsubscribe();
      await t.close(keepDir);
    },
  };
}

Deno.test("redis codec: every layout round-trips", () => {
  const data = { a: 1.5, s: "é", n: 3, b: true };
  const enc = (c: "msgpack" | "json" | "fields") => {
    const f = encodeEntry(data, c);
    return Object.fromEntries(
      Object.entries(f).map(([k, v]) => [k, typeof v === "string" ? new TextEncoder().encode(v) : v]),
    );
  };
  assert.deepEqual(decodeEntry(enc("msgpack"), "msgpack"), data);
  assert.deepEqual(decodeEntry(enc("json"), "json"), data);
  assert.deepEqual(decodeEntry(enc("fields"), "fields"), data);
  assert.deepEqual(decodeEntry({ d: new Uint8Array([1, 2]) }, "bytes"), { d: new Uint8Array([1, 2]) });
  assert.throws(() => decodeEntry({ x: new Uint8Array([1]) }, "msgpack"), /no field d/);
  assert.throws(() => decodeEntry({ d: encodeMsgpack([1, 2]) }, "msgpack"), /not a MessagePack map/);
});

Deno.test("redis output: XADD with the streamer's key layout and MAXLEN ~ trimming", async () => {
  const redis = await RedisServer.start();
  const t = await daemon({
    outputs: { redis_streams: [{ url: redis.url, key: "{device}:{stream}", device: "robot1", maxlen: 100 }] },
  });
  const records = Array.from({ length: 1000 }, (_, i) => makeRecord("imu", BigInt(i), { seq: i, x: i * 0.5 }, "test"));
  for (let i = 0; i < records.length; i += 100) await t.emit(records.slice(i, i + 100));
  const c = await redisClient(redis.url);
  await until("the last entry", async () => {
    const last = await binary(c).xRevRange("robot1:imu", "+", "-", { COUNT: 1 });
    return last.length === 1 && (decodeMsgpack(last[0].message.d as Uint8Array) as { seq: number }).seq === 999;
  }, 15_000);
  const len = await c.xLen("robot1:imu");
  assert.ok(len >= 100 && len < 300, `approximately trimmed to ${len}`);
  await c.close();
  await t.stop();
  await redis.close();
});

Deno.test("redis input: XREAD from 0, then from the checkpoint after a restart: nothing lost or repeated", async () => {
  const redis = await RedisServer.start();
  const c = await redisClient(redis.url);
  for (let i = 0; i < 50; i++) await c.xAdd("lab:temp", "*", { d: asBuffer(encodeMsgpack({ seq: i })) });
  const config = {
    inputs: {
      redis_streams: [{ name: "redis", url: redis.url, streams: ["lab:*"], from: "checkpoint", strip_prefix: "lab:" }],
    },
  };
  // First run: no checkpoint, from = checkpoint starts at the end ("$")… so use from 0 for the first run.
  const first = await daemon({ inputs: { redis_streams: [{ ...config.inputs.redis_streams[0], from: "0" }] } });
  await until("50 records", () => first.got.length === 50, 15_000);
  assert.equal(first.got[0].stream, "temp");
  assert.deepEqual(first.got.map((r) => r.data.seq), Array.from({ length: 50 }, (_, i) => i));
  assert.equal(typeof first.got[0].meta?.redis_id, "string");
  await first.stop(true); // the second daemon resumes from this data folder's checkpoint
  // Entries added while the daemon is down, and a key that appears later.
  for (let i = 50; i < 60; i++) await c.xAdd("lab:temp", "*", { d: asBuffer(encodeMsgpack({ seq: i })) });
  const second = await daemon({
    daemon: { http: "off", data_dir: first.dir },
    ...config,
  });
  await until("the 10 new records", () => second.got.length === 10, 15_000);
  // A key that appears while the daemon runs is read from its first entry.
  await c.xAdd("lab:humidity", "*", { d: asBuffer(encodeMsgpack({ seq: 100 })) });
  await until("the new key", () => second.got.length === 11, 15_000);
  assert.deepEqual(
    second.got.filter((r) => r.stream === "temp").map((r) => r.data.seq),
    Array.from({ length: 10 }, (_, i) => 50 + i),
  );
  assert.deepEqual(second.got.filter((r) => r.stream === "humidity").map((r) => r.data.seq), [100]);
  await second.stop();
  await c.close();
  await redis.close();
});

Deno.test("redis input: survives a Redis restart and resumes from the last id", async () => {
  const redis = await RedisServer.start();
  const c = await redisClient(redis.url);
  const t = await daemon({
    inputs: { redis_streams: [{ name: "redis", url: redis.url, streams: ["s"], from: "0", block: "200ms" }] },
  });
  for (let i = 0; i < 20; i++) await c.xAdd("s", "*", { d: asBuffer(encodeMsgpack({ seq: i })) });
  await until("20 records", () => t.got.length === 20, 15_000);
  await c.close();
  await redis.stop();
  const input = t.daemon.stats.find((st) => st.name === "redis")!;
  await until("the input to notice the outage", () => (input.counters.get("read_errors") ?? 0) >= 1, 15_000);
  await redis.restart();
  const c2 = await redisClient(redis.url);
  for (let i = 20; i < 40; i++) await c2.xAdd("s", "*", { d: asBuffer(encodeMsgpack({ seq: i })) });
  await until("40 records", () => t.got.length >= 40, 20_000);
  assert.deepEqual(t.got.map((r) => r.data.seq), Array.from({ length: 40 }, (_, i) => i));
  await t.stop();
  await c2.close();
  await redis.close();
});

Deno.test("redis input: a consumer group acks only what the outputs accepted, and takes over a dead consumer's entries", async () => {
  const redis = await RedisServer.start();
  const c = await redisClient(redis.url);
  await c.xGroupCreate("jobs", "workers", "0", { MKSTREAM: true });
  for (let i = 0; i < 30; i++) await c.xAdd("jobs", "*", { d: asBuffer(encodeMsgpack({ seq: i })) });
  // A consumer that read 10 entries and died without acknowledging them.
  await c.xReadGroup("workers", "dead", [{ key: "jobs", id: ">" }], { COUNT: 10 });
  const t = await daemon({
    inputs: {
      redis_streams: [{
        name: "redis",
        url: redis.url,
        streams: ["jobs"],
        group: "workers",
        consumer: "alive",
        claim_idle: "300ms",
        block: "100ms",
      }],
    },
  });
  await until("every entry, the dead consumer's too", () => new Set(t.got.map((r) => r.data.seq)).size === 30, 15_000);
  await until("nothing pending", async () => (await c.xPending("jobs", "workers")).pending === 0, 15_000);
  await t.stop();
  await c.close();
  await redis.close();
});

Deno.test("redis input: MessagePack entries pass on as their bytes; bad entries are skipped, counted and named", async () => {
  const redis = await RedisServer.start();
  const c = await redisClient(redis.url);
  const good = encodeMsgpack({ seq: 1, x: 1.5 });
  await c.xAdd("s", "*", { d: asBuffer(good) });
  await c.xAdd("s", "*", { d: asBuffer(encodeMsgpack([1, 2])) }); // a list, not a map
  await c.xAdd("s", "*", { d: asBuffer(good.subarray(0, good.length - 2)) }); // cut short
  await c.xAdd("s", "*", { x: "no field d" });
  await c.xAdd("s", "*", { d: asBuffer(encodeMsgpack({ seq: 2 })) });
  const t = await daemon({
    inputs: { redis_streams: [{ name: "redis", url: redis.url, streams: ["s"], from: "0", block: "100ms" }] },
  });
  try {
    const input = t.daemon.stats.find((st) => st.name === "redis")!;
    // Entries are handled in order: the three bad ones counted and the last good one passed on is all five.
    await until("all five entries handled", () => t.got.length >= 2 && input.errors >= 3, 15_000);
    assert.equal(t.got.length, 2);
    // Undecoded: the entry's bytes are the record's MessagePack encoding, written on unchanged by byte outputs.
    assert.deepEqual([...t.got[0].encoded!.msgpack!], [...good]);
    assert.deepEqual(t.got.map((r) => r.data.seq), [1, 2]);
    assert.equal(input.errors, 3);
    assert.equal(input.records, 2);
  } finally {
    await t.stop();
    await c.close();
    await redis.close();
  }
});

Deno.test("redis input: a consumer's own pending entries after a crash are read once each, then new ones", async () => {
  const redis = await RedisServer.start();
  const c = await redisClient(redis.url);
  await c.xGroupCreate("jobs", "workers", "0", { MKSTREAM: true });
  for (let i = 0; i < 25; i++) await c.xAdd("jobs", "*", { d: asBuffer(encodeMsgpack({ seq: i })) });
  // This consumer read 25 entries and crashed before acknowledging them.
  await c.xReadGroup("workers", "me", [{ key: "jobs", id: ">" }], { COUNT: 25 });
  const t = await daemon({
    inputs: {
      redis_streams: [{
        name: "redis",
        url: redis.url,
        streams: ["jobs"],
        group: "workers",
        consumer: "me",
        count: 4, // fewer than pending: the history is read in several steps
        claim_idle: 0,
        block: "100ms",
      }],
    },
  });
  try {
    await until("the 25 pending entries", () => t.got.length >= 25, 15_000);
    for (let i = 25; i < 30; i++) await c.xAdd("jobs", "*", { d: asBuffer(encodeMsgpack({ seq: i })) });
    await until("the new ones", () => t.got.length >= 30, 15_000);
    await until("nothing pending", async () => (await c.xPending("jobs", "workers")).pending === 0, 15_000);
    // One more entry, read after everything before it: an entry read twice would have come before it.
    await c.xAdd("jobs", "*", { d: asBuffer(encodeMsgpack({ seq: 30 })) });
    await until("the last one", () => t.got.some((r) => r.data.seq === 30), 15_000);
    assert.deepEqual(t.got.map((r) => r.data.seq), Array.from({ length: 31 }, (_, i) => i), "each once, in order");
  } finally {
    await t.stop();
    await c.close();
    await redis.close();
  }
});

Deno.test("redis output: the next batch goes out behind the one Redis works on; order kept, acks once Redis has them", async () => {
  const redis = await RedisServer.start();
  const { RedisStreamsOutput } = await import("./output.ts");
  const { redisOutputSchema } = await import("./schema.ts");
  const { PartStats } = await import("../../core/stats.ts");
  const { createLogger } = await import("../../core/log.ts");
  const stats = new PartStats("output", "redis", "redis_streams");
  const out = await RedisStreamsOutput.create(redisOutputSchema.parse({ url: redis.url, key: "k", maxlen: 0 }), {
    name: "redis",
    log: createLogger("test", { level: "error", write() {} }),
    stats,
    dataDir: "/nonexistent",
    http: { route() {} },
  });
  const c = await redisClient(redis.url);
  try {
    const acked: number[] = [];
    const batch = (from: number) =>
      Array.from({ length: 500 }, (_, i) => {
        const r = makeRecord("s", 0n, { seq: from + i }, "test");
        r.ack = { pending: 1, done: () => acked.push(from + i) };
        return r;
      });
    const a = batch(0), b = batch(500);
    assert.equal(out.write(a), undefined, "the first batch does not hold up the bus");
    const second = out.write(b);
    assert.ok(second instanceof Promise, "the second waits for the first");
    // The bus acknowledges after write(): the output's hold keeps each record open until Redis has its entry.
    for (const r of [...a, ...b]) if (r.ack && --r.ack.pending === 0) r.ack.done();
    await second;
    assert.ok(acked.length >= 500 && acked.slice(0, 500).every((v, i) => v === i));
    await out.close();
    assert.equal(acked.length, 1000);
    assert.equal(stats.counters.get("entries_written"), 1000);
    const entries = await binary(c).xRange("k", "-", "+");
    assert.deepEqual(
      entries.map((e) => (decodeMsgpack(e.message.d as Uint8Array) as { seq: number }).seq),
      Array.from({ length: 1000 }, (_, i) => i),
    );
  } finally {
    await c.close();
    await redis.close();
  }
});

Deno.test("redis output: a record it cannot encode costs only itself, in every codec", async () => {
  const redis = await RedisServer.start();
  const { RedisStreamsOutput } = await import("./output.ts");
  const { redisOutputSchema } = await import("./schema.ts");
  const { PartStats } = await import("../../core/stats.ts");
  const { createLogger } = await import("../../core/log.ts");
  const c = await redisClient(redis.url);
  try {
    let deep: unknown = 1;
    for (let i = 0; i < 100; i++) deep = [deep]; // its 1 at level 101: telebus's readers would refuse it
    const cyclic: Record<string, unknown> = { i: -1 };
    cyclic.self = cyclic;
    for (const codec of ["msgpack", "json", "bytes", "fields"] as const) {
      const stats = new PartStats("output", "redis", "redis_streams");
      const lines: string[] = [];
      const out = await RedisStreamsOutput.create(
        redisOutputSchema.parse({ url: redis.url, key: `k:${codec}`, maxlen: 0, codec }),
        {
          name: "redis",
          log: createLogger("test", { level: "warn", write: (l) => lines.push(l) }),
          stats,
          dataDir: "/nonexistent",
          http: { route() {} },
        },
      );
      await out.write([
        makeRecord("s", 0n, { i: 0 }, "test"),
        makeRecord("bad/big", 0n, { i: -1, big: 2n ** 64n }, "test"),
        makeRecord("s", 0n, { i: 1 }, "test"),
        makeRecord("bad/cyclic", 0n, cyclic as never, "test", 10),
        makeRecord("bad/deep", 0n, { deep: deep as number }, "test"),
        makeRecord("s", 0n, { i: 2 }, "test"),
      ]);
      await out.close();
      assert.equal(await c.xLen(`k:${codec}`), codec === "json" || codec === "fields" ? 4 : 3, codec);
      // JSON prints a bigint; a cyclic value is too deep for every codec.
      const expected = codec === "json" || codec === "fields" ? { too_deep: 2 } : { too_deep: 2, unencodable: 1 };
      assert.deepEqual(Object.fromEntries(stats.rejected), expected, codec);
      assert.equal(stats.errors, 0);
      assert.equal(lines.filter((l) => l.includes("record refused")).length, Object.keys(expected).length, codec);
    }
  } finally {
    await c.close();
    await redis.close();
  }
});
