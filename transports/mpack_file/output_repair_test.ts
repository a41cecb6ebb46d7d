/** The mpack_file output's tail repair: appending after a torn tail, never truncating a foreign file. */
import assert from "node:assert/strict";
import { decodeMsgpackMultiple, encodeMsgpack } from "../../codecs/msgpack.ts";
import { type MpackStreamItem, MpackStreamReader } from "../../codecs/mpack_stream.ts";
import { repairMpackTail } from "./output.ts";

import { concat as cat, hex, unhex } from "../../testing/mod.ts";
import { rec, VECTOR_1, withEnv } from "./test_util.ts";

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
