/** Torn records while following: held back until whole, declared torn after tornAfter, a crashed writer's torn record. */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { join } from "node:path";
import { encodeMsgpack } from "../codecs/msgpack.ts";
import { concat, letTimePass, randomBytes, tornLog } from "../testing/mod.ts";
import {
  append,
  Follower,
  garbageSpans,
  readAll,
  rec,
  recordCount,
  records,
  seqs,
  withTempDir,
} from "./mpack_follow_test_util.ts";

Deno.test("follow: a torn end is held back while following and reported as garbage when not", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "log.mpack");
    const whole = records(3);
    const torn = rec(3, 100);
    await Deno.writeFile(path, concat(whole, torn.subarray(0, 40)));

    const events = await readAll(path);
    deepStrictEqual(seqs(events), [0, 1, 2]);
    const last = events.at(-1);
    ok(last?.kind === "garbage");
    strictEqual(last.start, whole.length);
    strictEqual(last.length, 40);
    strictEqual(last.reason, "torn record at end of data");

    const f = new Follower(path);
    await f.until((e) => recordCount(e) === 3);
    await letTimePass(30); // a few polls (5 ms apart) at the torn end, which must hold it back
    append(path, torn.subarray(40));
    await f.until((e) => recordCount(e) === 4);
    const followed = await f.stop();
    deepStrictEqual(seqs(followed), [0, 1, 2, 3]);
    ok(!followed.some((e) => e.kind === "garbage"));
  });
});

Deno.test("follow: a record torn inside its last string or float is held back, not decoded short", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "log.mpack");
    const str = encodeMsgpack({ a: "hello" }); // 81 a1 61 a5 68 65 6c 6c 6f
    const flt = encodeMsgpack({ b: 1.5 }); // 81 a1 62 cb 3f f8 00 ...
    await Deno.writeFile(path, str.subarray(0, 6));
    const f = new Follower(path);
    await f.until((e) => e.length >= 1);
    await letTimePass(20); // several polls (5 ms apart) at the torn end, which must hold it back
    append(path, concat(str.subarray(6), flt.subarray(0, 5)));
    await f.until((e) => recordCount(e) >= 1);
    await letTimePass(20); // the same for the float cut short
    append(path, flt.subarray(5));
    await f.until((e) => recordCount(e) >= 2);
    const events = await f.stop();
    const values = events.flatMap((e) => e.kind === "records" ? e.items.map((it) => it.value) : []);
    deepStrictEqual(values, [{ a: "hello" }, { b: 1.5 }]);
    ok(!events.some((e) => e.kind === "garbage"));
  });
});

Deno.test("follow: a crashed writer's torn 1 MiB record costs only itself when a new writer outruns it", async () => {
  // The case: 100 bytes of a record with a 1 MiB binary field, then 20,000 records (1.3 MB) by a new
  // writer. Before, 14,980 of them vanished into 2 bogus records.
  await withTempDir(async (dir) => {
    const path = join(dir, "log.mpack");
    const log = tornLog();
    await Deno.writeFile(path, concat(log.before, log.torn));
    const tornAfter = 1000;
    const f = new Follower(path, { tornAfter });
    await f.until((e) => recordCount(e) === 3);
    const t0 = performance.now();
    append(path, log.after);
    await f.until((e) => recordCount(e) === log.seqs.length, tornAfter + 5000);
    const elapsed = performance.now() - t0;
    const events = await f.stop();
    deepStrictEqual(seqs(events), log.seqs, "every record, no bogus one");
    deepStrictEqual(garbageSpans(events), [[log.before.length, log.torn.length]]);
    const g = events.find((e) => e.kind === "garbage");
    ok(g?.kind === "garbage" && /declared length runs over records/.test(g.reason), "found without waiting");
    ok(elapsed < tornAfter + 5000, `delivered after ${elapsed} ms`);

    // Read whole, the same.
    const whole = await readAll(path);
    deepStrictEqual(seqs(whole), log.seqs);
    deepStrictEqual(garbageSpans(whole), [[log.before.length, log.torn.length]]);
  });
});

Deno.test("follow: a torn record still incomplete after tornAfter is declared torn; reading resumes after it", async () => {
  // The new writer appends 5,000 records (330 kB) in pieces: the 1 MiB field never completes. Before, they
  // waited for 1 MiB more, forever if it never came.
  await withTempDir(async (dir) => {
    const path = join(dir, "log.mpack");
    const log = tornLog({ records: 5000 });
    await Deno.writeFile(path, concat(log.before, log.torn));
    const tornAfter = 300;
    const f = new Follower(path, { tornAfter });
    await f.until((e) => recordCount(e) === 3);
    const t0 = performance.now();
    const step = Math.ceil(log.after.length / 4);
    for (let o = 0; o < log.after.length; o += step) {
      append(path, log.after.subarray(o, o + step));
      await letTimePass(20); // a writer at work, not a synchronisation
    }
    await f.until((e) => recordCount(e) === log.seqs.length, tornAfter + 5000);
    const elapsed = performance.now() - t0;
    const events = await f.stop();
    deepStrictEqual(seqs(events), log.seqs);
    deepStrictEqual(garbageSpans(events), [[log.before.length, log.torn.length]]);
    const g = events.find((e) => e.kind === "garbage");
    ok(g?.kind === "garbage" && /still incomplete after 300 ms/.test(g.reason), g?.kind === "garbage" ? g.reason : "");
    ok(elapsed < tornAfter + 5000, `delivered after ${elapsed} ms`);

    // The same file read from its start while following (a closed file): resumed after tornAfter too.
    const again = new Follower(path, { tornAfter });
    await again.until((e) => recordCount(e) === log.seqs.length, tornAfter + 5000);
    const events2 = await again.stop();
    deepStrictEqual(seqs(events2), log.seqs);
    deepStrictEqual(garbageSpans(events2), [[log.before.length, log.torn.length]]);

    // And read whole.
    const whole = await readAll(path);
    deepStrictEqual(seqs(whole), log.seqs);
    deepStrictEqual(garbageSpans(whole), [[log.before.length, log.torn.length]]);
  });
});

Deno.test("follow: a whole 1 MiB record written slowly, in pieces, is not torn", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "log.mpack");
    const log = tornLog({ records: 0 });
    const big = encodeMsgpack({ seq: 7, image: randomBytes(1 << 20, 3), after: 1 });
    await Deno.writeFile(path, log.before);
    const f = new Follower(path, { tornAfter: 2000 });
    await f.until((e) => recordCount(e) === 3);
    for (const [a, b] of [[0, 100], [100, 500_000], [500_000, big.length]]) {
      append(path, big.subarray(a, b));
      await letTimePass(100); // a slow writer, well within tornAfter
    }
    append(path, log.before);
    await f.until((e) => recordCount(e) === 7);
    const events = await f.stop();
    deepStrictEqual(seqs(events), [0, 1, 2, 7, 0, 1, 2]);
    deepStrictEqual(garbageSpans(events), []);
  });
});
