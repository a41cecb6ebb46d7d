/** Following one .mpack file: the fixtures read whole, torn writes, garbage, truncation, rotation, stopping. */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { join } from "node:path";
import type { Dict } from "../core/record.ts";
import { type FollowEvent, followMpack } from "./mpack_follow.ts";
import { concat, letTimePass, prng, until } from "../testing/mod.ts";
import {
  append,
  FIXTURES,
  Follower,
  garbageBlock,
  kinds,
  readAll,
  rec,
  recordCount,
  records,
  seqs,
  summary,
  unbin,
  withTempDir,
} from "./mpack_follow_test_util.ts";

for (const name of ["plain", "quirks", "binary"]) {
  Deno.test(`follow (not following) reads every record of fixture ${name}.mpack`, async () => {
    const path = new URL(`${name}.mpack`, FIXTURES).pathname;
    const expected = (await Deno.readTextFile(new URL(`${name}.records.jsonl`, FIXTURES)))
      .split("\n").filter((l) => l.trim()).map((l) => unbin(JSON.parse(l)) as Dict);
    // A small chunk size puts many records across chunk boundaries.
    for (const chunkSize of [undefined, 1000]) {
      const events = await readAll(path, { chunkSize });
      const first = events[0];
      ok(first.kind === "switch" && first.reason === "open" && first.to.path === path && first.from === undefined);
      ok(!events.some((e) => e.kind === "garbage"), "no garbage");
      const items = events.flatMap((e) => e.kind === "records" ? e.items : []);
      strictEqual(items.length, expected.length);
      const size = (await Deno.stat(path)).size;
      const last = events.at(-1);
      ok(last?.kind === "records" && last.endOffset === size);
      let offset = 0;
      for (let i = 0; i < items.length; i++) {
        const got = items[i].value;
        const want = expected[i];
        strictEqual(items[i].start, offset, "records are back to back");
        offset = items[i].end;
        strictEqual(items[i].raw.length, items[i].end - items[i].start);
        deepStrictEqual(Object.keys(got), Object.keys(want));
        strictEqual(got.seq, want.seq);
        strictEqual(got.time, want.time);
        strictEqual(got.text, want.text);
        deepStrictEqual(got.observation, want.observation);
        for (const [k, v] of Object.entries(want)) {
          if (v instanceof Uint8Array) deepStrictEqual(new Uint8Array(got[k] as Uint8Array), v, `bytes of ${k}`);
        }
      }
      if (name === "binary") {
        ok(items.every((it) => Object.values(it.value).some((v) => v instanceof Uint8Array)), "bytes in every record");
      }
    }
  });
}

Deno.test("follow: records written in torn pieces arrive once, in order, without garbage", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "log.mpack");
    await Deno.writeFile(path, new Uint8Array(0));
    const n = 300;
    const all = concat(...Array.from({ length: n }, (_, i) => rec(i, i % 7 === 0 ? 3000 : i % 50)));
    const f = new Follower(path, { pollInterval: 1 });
    const file = await Deno.open(path, { write: true, append: true });
    try {
      // Deterministic pseudo-random cut points, many of them inside records.
      const rand = prng(12345);
      for (let p = 0; p < all.length;) {
        const len = 1 + Math.floor(rand() * 700);
        await file.write(all.subarray(p, Math.min(all.length, p + len)));
        p += len;
        if (rand() < 0.15) await letTimePass(1 + Math.floor(rand() * 3)); // a writer at work, not a synchronisation
      }
    } finally {
      file.close();
    }
    await f.until((e) => recordCount(e) >= n);
    const events = await f.stop();
    deepStrictEqual(seqs(events), Array.from({ length: n }, (_, i) => i));
    ok(!events.some((e) => e.kind === "garbage"), "no garbage");
    strictEqual(events.filter((e) => e.kind === "switch").length, 1);
  });
});

Deno.test("follow: a garbage block in the middle is reported once with its offset; records around it arrive", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "log.mpack");
    const before = records(5, 0);
    const garbage = garbageBlock();
    const after = records(5, 5);
    await Deno.writeFile(path, concat(before, garbage, after));
    for (const chunkSize of [undefined, 64]) {
      const events = await readAll(path, { chunkSize });
      deepStrictEqual(seqs(events), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      const g = events.filter((e) => e.kind === "garbage");
      strictEqual(g.length, 1, JSON.stringify(summary(events)));
      ok(g[0].kind === "garbage");
      strictEqual(g[0].start, before.length);
      strictEqual(g[0].length, garbage.length);
      ok(g[0].reason.length > 0);
      strictEqual(g[0].file.path, path);
      // Garbage comes between the records before and after it.
      const gi = events.indexOf(g[0]);
      deepStrictEqual(seqs(events.slice(0, gi)), [0, 1, 2, 3, 4]);
    }

    // The same while following, with the garbage appended later.
    await Deno.writeFile(path, before);
    const f = new Follower(path);
    await f.until((e) => recordCount(e) === 5);
    append(path, garbage);
    append(path, after);
    await f.until((e) => recordCount(e) === 10);
    const events = await f.stop();
    deepStrictEqual(seqs(events), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const g = events.filter((e) => e.kind === "garbage");
    strictEqual(g.length, 1);
    ok(g[0].kind === "garbage" && g[0].start === before.length && g[0].length === garbage.length);
  });
});

Deno.test("follow: truncation restarts at offset 0", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "log.mpack");
    await Deno.writeFile(path, records(5, 0, 20));
    const f = new Follower(path);
    await f.until((e) => recordCount(e) === 5);
    // Shorter than before, written in one go (no await), so the follower sees a smaller file.
    Deno.writeFileSync(path, records(2, 100));
    await f.until((e) => recordCount(e) === 7);
    const events = await f.stop();
    deepStrictEqual(seqs(events), [0, 1, 2, 3, 4, 100, 101]);
    const sw = events.filter((e) => e.kind === "switch");
    deepStrictEqual(sw.map((e) => e.kind === "switch" && e.reason), ["open", "truncated"]);
    const t = events.findIndex((e) => e.kind === "switch" && e.reason === "truncated");
    deepStrictEqual(seqs(events.slice(t)), [100, 101]);
  });
});

Deno.test("follow: rotation reads the old file to its end, then the new file from 0", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "log.mpack");
    await Deno.writeFile(path, records(3, 0));
    const f = new Follower(path);
    await f.until((e) => recordCount(e) === 3);
    // All synchronous: the follower cannot poll between these steps, so the rename is seen
    // with the old file's last record still unread.
    const writer = Deno.openSync(path, { write: true, append: true });
    Deno.renameSync(path, join(dir, "log.1.mpack"));
    writer.writeSync(records(2, 3));
    writer.close();
    Deno.writeFileSync(path, records(2, 10));
    await f.until((e) => recordCount(e) === 7);
    const events = await f.stop();
    deepStrictEqual(seqs(events), [0, 1, 2, 3, 4, 10, 11]);
    const sw = events.filter((e) => e.kind === "switch");
    strictEqual(sw.length, 2);
    const rot = sw[1];
    ok(rot.kind === "switch" && rot.reason === "rotated");
    ok(rot.from && rot.from.ino !== rot.to.ino);
    ok(!events.some((e) => e.kind === "garbage"));
  });
});

Deno.test("follow: abort ends an idle follow promptly and closes the file", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "log.mpack");
    await Deno.writeFile(path, records(1));
    const ac = new AbortController();
    const it = followMpack(path, { follow: true, pollInterval: 10_000, signal: ac.signal });
    const events: FollowEvent[] = [];
    const done = (async () => {
      for await (const e of it) events.push(e);
    })();
    await until("the follower idle at the end of the file", () => events.length === 2);
    const t0 = performance.now();
    ac.abort();
    await done;
    ok(performance.now() - t0 < 100, "ends promptly");
    deepStrictEqual(kinds(events), ["switch", "records"]);
    // The resource sanitizer of Deno.test fails the test if the handle stayed open.
  });
});

/** How many of this process's file descriptors are open on `path` (Linux: the links of /proc/PID/fd). */
async function openFds(path: string): Promise<number> {
  const real = await Deno.realPath(path);
  // Through ls: Deno grants reading /proc/self/fd only with --allow-all, which the test run does not have.
  const out = await new Deno.Command("ls", { args: ["-l", `/proc/${Deno.pid}/fd`], stdout: "piped" }).output();
  return new TextDecoder().decode(out.stdout).split("\n").filter((l) => l.endsWith(` -> ${real}`)).length;
}

Deno.test("follow: breaking out of the loop closes the file", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "log.mpack");
    await Deno.writeFile(path, records(3));
    const it = followMpack(path, { follow: true });
    const seen: FollowEvent["kind"][] = [];
    let openWhileReading = 0;
    for await (const e of it) {
      seen.push(e.kind);
      openWhileReading = await openFds(path);
      if (e.kind === "records") break;
    }
    deepStrictEqual(seen, ["switch", "records"]);
    strictEqual(openWhileReading, 1, "the file is open while the loop runs");
    strictEqual(await openFds(path), 0, "and closed once the loop is left");
    deepStrictEqual(await it.next(), { done: true, value: undefined }, "the generator has ended");
  });
});
