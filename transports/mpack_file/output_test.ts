/** The mpack_file output: writing, rotation, path templates, fsync, keys, errors, the schema. */
import assert from "node:assert/strict";
import { type BusRecord, type Dict } from "../../core/record.ts";
import { decodeMsgpackMultiple } from "../../codecs/msgpack.ts";
import { MpackStreamReader } from "../../codecs/mpack_stream.ts";
import { expandPathTemplate, withNumberSuffix } from "./output.ts";
import { type MpackFileConfig, mpackFileSchema } from "./schema.ts";
import { transport } from "./mod.ts";

import { hex, letTimePass, unhex, until } from "../../testing/mod.ts";
import { listFiles, rec, VECTOR_1, VECTOR_2, withEnv } from "./test_util.ts";

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

/** Waits until the wall clock is in a later `ms` interval than now (interval rotation is aligned to the clock). */
async function nextInterval(ms: number): Promise<void> {
  const now = Math.floor(Date.now() / ms);
  await until("the next rotation interval", () => Math.floor(Date.now() / ms) > now);
}

Deno.test("rotation by interval: a new file after the wall-clock boundary", async () => {
  await withEnv(async (env) => {
    const out = await env.open({ path: `${env.dir}/t-{datetime}-{seq}.mpack`, rotate_interval: "200ms" });
    await out.write([rec({ n: 1 })]);
    const first = out.currentPath;
    await nextInterval(200);
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
    await nextInterval(100);
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
      // Lets the fsync timer (every 10 ms) fire meanwhile; nothing observable to wait for: the bytes are the same.
      await letTimePass(30);
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
