/**
 * `list`'s byte walk on logs whose records repeat their keys, as real logs
 * do: a record with the keys of the last one taken whole is answered from
 * its key skeleton without a walk. The answers must stay those of
 * collectNewPaths on the decoded records, whatever changes between records.
 */
import assert from "node:assert/strict";
import { collectRecordPaths } from "./mpack_json.ts";
import { decodeMsgpack, encodeMsgpack } from "./msgpack.ts";
import { collectNewPaths, newPathTree } from "../cli/list.ts";
import type { Dict } from "../core/record.ts";
import { prng } from "../testing/mod.ts";

/** Variations of a telemetry record: same keys, other values, and each kind of change of keys or nesting. */
function variant(i: number, r: () => number): Dict {
  const base: Dict = { time: 1_700_000_000 + i, x: r(), mode: "drive", pose: { x: r(), y: 1, q: { w: 1 } } };
  switch (Math.floor(r() * 13)) {
    case 0:
      return { ...base, extra: 1 }; // a new key at the end
    case 1:
      return { x: base.x, time: base.time, mode: "idle", pose: base.pose }; // other order
    case 2:
      return { ...base, pose: 5 }; // a map became a leaf
    case 3:
      return { ...base, mode: { sub: "x" } }; // a leaf became a map
    case 4:
      return { ...base, pose: { x: 1, y: 2, q: { w: 1, z: 0 } } }; // a new nested key
    case 5:
      return { ...base, pose: { x: 1, y: 2, q: {} } }; // an emptied map
    case 9:
      return { ...base, pose: { x: 1, y: 2, q: 7 } }; // the emptied map became a leaf
    case 6:
      return { ...base, "ключ": [1, { a: 2 }] }; // non-ASCII key, a list holding a map (a leaf)
    case 7:
      return { ...base, ["k".repeat(40)]: "long key (str 8)" };
    case 8:
      return { ...base, "1": "an index-like key: the decoder's" };
    default:
      return { ...base, x: r() < 0.5 ? "text now" : null, mode: r() < 0.5 ? 3 : "drive" }; // same keys
  }
}

Deno.test("mpack_paths: records repeating the keys of the last one are answered as collectNewPaths answers", () => {
  const seed = Date.now() >>> 0;
  const r = prng(seed);
  const treeA = newPathTree(), treeB = newPathTree();
  const seenA = new Set<string>(), seenB = new Set<string>();
  let taken = 0;
  for (let i = 0; i < 5000; i++) {
    const bytes = encodeMsgpack(variant(i, r));
    // Some records sit at an offset of a larger buffer, as the reader hands them over.
    const buf = new Uint8Array(bytes.length + 9);
    buf.set(bytes, 5);
    const a: string[] = [];
    const b: string[] = [];
    collectNewPaths(decodeMsgpack(bytes) as Dict, treeA, seenA, a);
    if (collectRecordPaths(buf, 5, 5 + bytes.length, treeB, seenB, b)) taken++;
    else {
      assert.deepEqual(b, [], "nothing added when the record is left alone");
      collectNewPaths(decodeMsgpack(bytes) as Dict, treeB, seenB, b);
    }
    assert.deepEqual(b.sort(), a.sort(), `record ${i} (seed ${seed})`);
  }
  assert.deepEqual([...seenB].sort(), [...seenA].sort());
  assert.ok(taken > 4000, `the walk took ${taken} of 5000 records`);
});

Deno.test("mpack_paths: the skeleton belongs to one tree and set: another list starts from nothing", () => {
  const bytes = encodeMsgpack({ a: 1, b: { c: 2 } });
  const first: string[] = [];
  assert.ok(collectRecordPaths(bytes, 0, bytes.length, newPathTree(), new Set(), first));
  assert.deepEqual(first.sort(), ["a", "b/c"]);
  // Same keys, but a new tree and set: the paths are new to them.
  const second: string[] = [];
  assert.ok(collectRecordPaths(bytes, 0, bytes.length, newPathTree(), new Set(), second));
  assert.deepEqual(second.sort(), ["a", "b/c"]);
});

Deno.test("mpack_paths: a record whose keys differ from the last one's only in what is a map is walked", () => {
  // Pairs: the second has a path the first had not, with every key byte the same.
  const pairs: [Dict, Dict, string[]][] = [
    [{ a: {}, b: 1 }, { a: 5, b: 1 }, ["a"]],
    [{ a: {}, b: 1.5 }, { a: 2.5, b: 1.5 }, ["a"]],
    [{ a: 5, b: 1 }, { a: { c: 1 }, b: 1 }, ["a/c"]],
    [{ a: { c: 1 } }, { a: { c: { d: 1 } } }, ["a/c/d"]],
    [{ a: { c: {} } }, { a: { c: 2 } }, ["a/c"]],
  ];
  for (const [first, second, fresh] of pairs) {
    const tree = newPathTree();
    const seen = new Set<string>();
    const one = encodeMsgpack(first), two = encodeMsgpack(second);
    assert.ok(collectRecordPaths(one, 0, one.length, tree, seen, []));
    const got: string[] = [];
    assert.ok(collectRecordPaths(two, 0, two.length, tree, seen, got));
    assert.deepEqual(got, fresh, JSON.stringify([first, second]));
  }
});
