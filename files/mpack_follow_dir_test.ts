/** Following a directory, from the end, and resuming from a saved position. */
import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import { join } from "node:path";
import { type FollowPosition } from "./mpack_follow.ts";
import { letTimePass } from "../testing/mod.ts";
import { append, Follower, kinds, readAll, recordCount, records, seqs, withTempDir } from "./mpack_follow_test_util.ts";

Deno.test("follow: a directory follows its newest file and switches to a newer one after finishing the old", async () => {
  await withTempDir(async (dir) => {
    const old = join(dir, "a.mpack");
    const cur = join(dir, "b.mpack");
    await Deno.writeFile(old, records(2, 900));
    await Deno.writeFile(cur, records(3, 0));
    await Deno.writeTextFile(join(dir, "z.txt"), "not a log"); // ignored: not *.mpack
    const past = new Date(Date.now() - 60_000);
    await Deno.utime(old, past, past);
    const f = new Follower(dir);
    await f.until((e) => recordCount(e) === 3);
    const first = f.events[0];
    ok(first.kind === "switch" && first.reason === "open" && first.to.path === cur);
    // Synchronously: a last record for b, then a newer c. b must be finished before c is read.
    append(cur, records(1, 3));
    const next = join(dir, "c.mpack");
    Deno.writeFileSync(next, records(2, 10));
    const future = new Date(Date.now() + 5_000);
    Deno.utimeSync(next, future, future);
    await f.until((e) => recordCount(e) === 6);
    append(next, records(1, 12));
    await f.until((e) => recordCount(e) === 7);
    const events = await f.stop();
    deepStrictEqual(seqs(events), [0, 1, 2, 3, 10, 11, 12]);
    const sw = events.filter((e) => e.kind === "switch");
    strictEqual(sw.length, 2);
    ok(sw[1].kind === "switch" && sw[1].reason === "newer file" && sw[1].from?.path === cur && sw[1].to.path === next);
  });
});

Deno.test("follow: an empty directory ends at once when not following and is waited for when following", async () => {
  await withTempDir(async (dir) => {
    deepStrictEqual(await readAll(dir), []);
    await rejects(readAll(join(dir, "missing.mpack")), Deno.errors.NotFound);

    const f = new Follower(dir, { from: "end" });
    await letTimePass(20); // a window in which nothing may come: the directory is empty
    strictEqual(f.events.length, 0);
    // A file that appears after the start is new data: read from 0 even with from "end".
    await Deno.writeFile(join(dir, "late.mpack"), records(2));
    await f.until((e) => recordCount(e) === 2);
    const events = await f.stop();
    deepStrictEqual(seqs(events), [0, 1]);
    ok(events[0].kind === "switch" && events[0].reason === "open");
  });
});

Deno.test("follow: from end skips what is there and reads what is appended", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "log.mpack");
    await Deno.writeFile(path, records(4, 0));
    const f = new Follower(path, { from: "end" });
    await f.until((e) => e.length >= 1);
    append(path, records(2, 50));
    await f.until((e) => recordCount(e) === 2);
    deepStrictEqual(seqs(await f.stop()), [50, 51]);

    // In a directory: the end of the newest file.
    await Deno.writeFile(join(dir, "log.mpack"), records(1, 0), { append: true });
    const events = await readAll(dir, { from: "end" });
    deepStrictEqual(kinds(events), ["switch"]);
  });
});

Deno.test("follow: resuming from a position continues without loss or repeat", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "log.mpack");
    await Deno.writeFile(path, records(5, 0));
    const first = await readAll(path, { chunkSize: 40 });
    const mid = first.filter((e) => e.kind === "records")[1];
    ok(mid.kind === "records");
    const seen = seqs(first.slice(0, first.indexOf(mid) + 1));
    const pos: FollowPosition = { file: mid.file, offset: mid.endOffset };
    append(path, records(2, 5));
    const resumed = await readAll(path, { from: JSON.parse(JSON.stringify(pos)) });
    ok(resumed[0].kind === "switch" && resumed[0].from === undefined);
    deepStrictEqual([...seen, ...seqs(resumed)], [0, 1, 2, 3, 4, 5, 6]);

    // A position of another file: start at 0 and say so in the first event.
    const other: FollowPosition = { file: { path, dev: mid.file.dev, ino: mid.file.ino + 1_000_000 }, offset: 10 };
    const restarted = await readAll(path, { from: other });
    const open = restarted[0];
    ok(open.kind === "switch" && open.reason === "open" && open.from?.ino === other.file?.ino);
    deepStrictEqual(seqs(restarted), [0, 1, 2, 3, 4, 5, 6]);

    // An offset beyond the end (the file shrank meanwhile): from 0 too.
    const beyond = await readAll(path, { from: { file: mid.file, offset: 1 << 30 } });
    ok(beyond[0].kind === "switch" && beyond[0].from !== undefined);
    deepStrictEqual(seqs(beyond), [0, 1, 2, 3, 4, 5, 6]);
  });
});

Deno.test("follow: in a directory, resuming in an older file finishes it, then moves on to newer files", async () => {
  await withTempDir(async (dir) => {
    const a = join(dir, "a.mpack");
    const b = join(dir, "b.mpack");
    await Deno.writeFile(a, records(4, 0));
    const ev = (await readAll(a, { chunkSize: 30 })).filter((e) => e.kind === "records")[0];
    ok(ev.kind === "records");
    const done = seqs([ev]);
    await Deno.writeFile(b, records(2, 10));
    const t1 = new Date(Date.now() - 10_000);
    const t2 = new Date(Date.now() - 5_000);
    await Deno.utime(a, t1, t1);
    await Deno.utime(b, t2, t2);
    const rest = await readAll(dir, { from: { file: ev.file, offset: ev.endOffset } });
    ok(rest[0].kind === "switch" && rest[0].to.path === a && rest[0].from === undefined);
    deepStrictEqual([...done, ...seqs(rest)], [0, 1, 2, 3, 10, 11]);
    ok(rest.some((e) => e.kind === "switch" && e.reason === "newer file" && e.to.path === b));

    // Following from the same position gives the same, then waits.
    const f = new Follower(dir, { from: { file: ev.file, offset: ev.endOffset } });
    await f.until((e) => recordCount(e) === 6 - done.length);
    deepStrictEqual([...done, ...seqs(await f.stop())], [0, 1, 2, 3, 10, 11]);
  });
});
