import assert from "node:assert/strict";
import { checkRecordSpan, type MpackStreamItem, MpackStreamReader } from "./mpack_stream.ts";
import { encodeMsgpack } from "./msgpack.ts";

const FIXTURES = new URL("../testdata/mpacklog/", import.meta.url);

function readAll(chunks: Uint8Array[], finish = true): MpackStreamItem[] {
  const r = new MpackStreamReader();
  const out: MpackStreamItem[] = [];
  for (const c of chunks) {
    r.push(c);
    for (let it = r.next(); it; it = r.next()) out.push(it);
  }
  const g = finish ? r.finish() : undefined;
  if (g) out.push(g);
  return out;
}

Deno.test("mpack stream: every fixture record, whatever the chunk boundaries", async () => {
  for (const name of ["plain", "quirks", "binary"]) {
    const bytes = await Deno.readFile(new URL(`${name}.mpack`, FIXTURES));
    const expected = (await Deno.readTextFile(new URL(`${name}.records.jsonl`, FIXTURES))).trim().split("\n").length;
    for (const size of [1, 7, 100, 1000, 1 << 20]) {
      const chunks: Uint8Array[] = [];
      for (let o = 0; o < bytes.length; o += size) chunks.push(bytes.subarray(o, o + size));
      const items = readAll(chunks);
      assert.equal(items.filter((i) => i.kind === "garbage").length, 0, `${name} in ${size} B chunks`);
      assert.equal(items.length, expected, `${name} in ${size} B chunks`);
      // Records tile the file exactly and carry their own bytes.
      let at = 0;
      for (const it of items) {
        assert.ok(it.kind === "record" && it.start === at);
        assert.deepEqual(it.raw, bytes.subarray(it.start, it.end));
        at = it.end;
      }
      assert.equal(at, bytes.length);
    }
  }
});

Deno.test("mpack stream: a torn record is held back, never emitted, until its rest arrives", () => {
  const rec = encodeMsgpack({ a: 1.5, s: "hello", b: new Uint8Array([1, 2, 3]) });
  for (let cut = 1; cut < rec.length; cut++) {
    const r = new MpackStreamReader();
    r.push(rec.subarray(0, cut));
    assert.equal(r.next(), undefined, `cut at ${cut}`);
    assert.equal(r.pending, cut);
    r.push(rec.subarray(cut));
    const it = r.next();
    assert.ok(it?.kind === "record");
    assert.deepEqual(it.value, { a: 1.5, s: "hello", b: new Uint8Array([1, 2, 3]) });
  }
});

Deno.test("mpack stream: garbage is skipped, located and reported once", () => {
  const a = encodeMsgpack({ seq: 1 }), b = encodeMsgpack({ seq: 2 });
  const junk = new Uint8Array([0xc1, 0x80, 0x81, 0x01, 0x02, 0x93, 1, 2, 3, 0xff]);
  const items = readAll([new Uint8Array([...a, ...junk, ...b])]);
  assert.deepEqual(items.map((i) => i.kind), ["record", "garbage", "record"]);
  const g = items[1];
  assert.ok(g.kind === "garbage");
  assert.equal(g.start, a.length);
  assert.equal(g.length, junk.length);
  assert.match(g.reason, /0xc1/);
});

Deno.test("mpack stream: trailing junk and a torn end are reported by finish()", () => {
  const a = encodeMsgpack({ seq: 1 });
  const items = readAll([new Uint8Array([...a, ...a.subarray(0, 3)])]);
  assert.deepEqual(items.map((i) => i.kind), ["record", "garbage"]);
  assert.match((items[1] as { reason: string }).reason, /torn/);
});

Deno.test("mpack stream: a header claiming more than the record limit is garbage at once", () => {
  // A map whose one value claims a 4 GiB string.
  const b = new Uint8Array([0x81, 0xa1, 0x61, 0xdb, 0xff, 0xff, 0xff, 0xff, 0x00]);
  assert.equal(checkRecordSpan(b, 0, b.length, 1 << 20), -1);
});

Deno.test("mpack stream: a large record arriving in small pieces is read once", () => {
  const big = encodeMsgpack({ blob: new Uint8Array(3 << 20).fill(7) });
  const chunks: Uint8Array[] = [];
  for (let o = 0; o < big.length; o += 4096) chunks.push(big.subarray(o, o + 4096));
  const items = readAll(chunks);
  assert.equal(items.length, 1);
  assert.ok(items[0].kind === "record" && (items[0].value.blob as Uint8Array).length === 3 << 20);
});

Deno.test("mpack stream: an empty map is a record where a record is expected, not inside or opening garbage", () => {
  const a = encodeMsgpack({ seq: 1 });
  const items = readAll([new Uint8Array([0x80, ...a, 0xc1, 0x80, ...a, 0x80, 0xc1, ...a])]);
  assert.deepEqual(items.map((i) => i.kind), ["record", "record", "garbage", "record", "garbage", "record"]);
  assert.deepEqual((items[0] as { value: unknown }).value, {});
  assert.equal((items[2] as { length: number }).length, 2);
  assert.equal((items[4] as { length: number }).length, 2);
});
