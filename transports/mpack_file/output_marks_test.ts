/** The mpack_file output's marks and rewinds after a crash (exactly-once with a tailing input). */
import assert from "node:assert/strict";
import { encodeMsgpack } from "../../codecs/msgpack.ts";

import { group, indices, listFiles, markOf, range, withEnv } from "./test_util.ts";

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
