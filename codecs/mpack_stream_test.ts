import assert from "node:assert/strict";
import {
  checkRecordSpan,
  type MpackGarbageItem,
  type MpackRecordItem,
  type MpackStreamItem,
  MpackStreamReader,
} from "./mpack_stream.ts";
import { encodeMsgpack } from "./msgpack.ts";
import { concat, randomBytes, telemetryRecord, tornLog } from "../testing/mod.ts";

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

/** Reads `bytes` in 64 KiB pushes (as the follower does), then finish(): records' seq and the garbage items. */
function readWhole(bytes: Uint8Array, chunk = 64 * 1024): { seqs: unknown[]; garbage: MpackGarbageItem[] } {
  const r = new MpackStreamReader();
  const seqs: unknown[] = [];
  const garbage: MpackGarbageItem[] = [];
  const take = (it: MpackStreamItem | undefined) => {
    for (; it; it = r.next()) it.kind === "record" ? seqs.push(it.value.seq) : garbage.push(it);
  };
  for (let o = 0; o < bytes.length; o += chunk) {
    r.push(bytes.subarray(o, o + chunk));
    take(r.next());
  }
  take(r.finish());
  return { seqs, garbage };
}

Deno.test("mpack stream: a record torn inside a 1 MiB field costs only itself when the new records outrun it", () => {
  // 20,000 records (1.3 MB) after the cut: the field's declared length ends inside them. Before, 14,980 of them
  // became part of one bogus record.
  const log = tornLog();
  assert.ok(log.after.length > 1 << 20);
  const { seqs, garbage } = readWhole(concat(log.before, log.torn, log.after));
  assert.deepEqual(seqs, log.seqs);
  assert.deepEqual(garbage.map((g) => [g.start, g.length]), [[log.before.length, log.torn.length]]);
  assert.match(garbage[0].reason, /torn record/);
});

Deno.test("mpack stream: a record torn inside a 1 MiB field costs only itself when the data ends inside it", () => {
  // 5,000 records (330 kB) after the cut: the field's declared length runs past the end of the data.
  const log = tornLog({ records: 5000 });
  const { seqs, garbage } = readWhole(concat(log.before, log.torn, log.after));
  assert.deepEqual(seqs, log.seqs);
  assert.deepEqual(garbage.map((g) => [g.start, g.length, g.reason]), [[
    log.before.length,
    log.torn.length,
    "torn record at end of data",
  ]]);
});

Deno.test("mpack stream: declareTorn resumes at the first byte written after the record was seen held", () => {
  const log = tornLog({ records: 3000 });
  const r = new MpackStreamReader();
  r.push(concat(log.before, log.torn));
  const seqs: unknown[] = [];
  for (let it = r.next(); it; it = r.next()) seqs.push((it as MpackRecordItem).value.seq);
  assert.equal(r.declareTorn(), undefined, "nothing is declared torn before heldRecord() saw it");
  assert.equal(r.heldRecord(), log.before.length);
  r.push(log.after.subarray(0, 100_000)); // the new writer has begun; the torn field still waits for more
  assert.equal(r.next(), undefined);
  assert.equal(r.heldRecord(), log.before.length, "still the same record");
  const g = r.declareTorn("torn record: still incomplete");
  assert.deepEqual(g, {
    kind: "garbage",
    start: log.before.length,
    length: log.torn.length,
    reason: "torn record: still incomplete",
  });
  r.push(log.after.subarray(100_000));
  for (let it = r.next(); it; it = r.next()) seqs.push((it as MpackRecordItem).value.seq);
  assert.equal(r.finish(), undefined);
  assert.deepEqual(seqs, log.seqs);
});

Deno.test("mpack stream: a torn record anywhere in a field, with records cut anywhere, costs only itself", () => {
  // The cut falls anywhere in the record (header or payload); the payload is last or followed by more entries.
  let seed = 5;
  const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const after = concat(...Array.from({ length: 300 }, (_, i) => telemetryRecord(i)));
  for (let i = 0; i < 60; i++) {
    const blob = randomBytes(i % 2 ? 8000 : 65536, i);
    const big = encodeMsgpack(i % 3 ? { time: 1.5, seq: -1, image: blob } : { image: blob, seq: -1, meta: { w: 640 } });
    const cut = 1 + Math.floor(rand() * Math.min(big.length - 1, 30_000));
    const { seqs, garbage } = readWhole(concat(big.subarray(0, cut), after), 4096);
    const where = `try ${i}, cut after ${cut} of ${big.length} bytes`;
    assert.deepEqual(seqs, Array.from({ length: 300 }, (_, k) => k), where);
    assert.deepEqual(garbage.map((g) => [g.start, g.length]), [[0, cut]], where);
  }
});

Deno.test("mpack stream: whole records that merely look like a torn one are read as they are", () => {
  // Records a tear check looks at (big ones, ones held at the end of the data and completed later) whose
  // payloads hold maps: an embedded log, a list of maps, nested maps, random bytes, non-ASCII text.
  let seed = 9;
  const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const recs: Uint8Array[] = [];
  for (let i = 0; i < 120; i++) {
    const n = 1 + Math.floor(rand() * 20_000);
    const kinds = [
      () => ({ seq: i, image: randomBytes(n, i), t: 1.5 }),
      () => ({ seq: i, log: concat(...Array.from({ length: 1 + (n >> 6) }, (_, k) => telemetryRecord(k))) }),
      () => ({ seq: i, dets: Array.from({ length: 1 + (n >> 6) }, (_, k) => ({ id: k, x: k / 3 })) }),
      () => ({ seq: i, pose: { x: 1, y: 2 }, blob: randomBytes(n, i) }),
      () => ({ seq: i, text: "ключ 数据 ".repeat(1 + (n >> 4)) }),
      () => ({ seq: i, inner: { time: 1.5, seq: i, name: "a/b" } }),
    ];
    recs.push(encodeMsgpack(kinds[i % kinds.length]()));
  }
  const all = concat(...recs);
  for (const held of [false, true]) {
    const r = new MpackStreamReader();
    const seqs: unknown[] = [];
    let garbage = 0;
    const take = (it: MpackStreamItem | undefined) => {
      for (; it; it = r.next()) it.kind === "record" ? seqs.push(it.value.seq) : garbage++;
    };
    for (let o = 0; o < all.length;) {
      const len = 1 + Math.floor(rand() * (held ? 3000 : 70_000));
      r.push(all.subarray(o, o += len));
      take(r.next());
      if (held) r.heldRecord(); // a follower at the end of the file after every write
    }
    take(r.finish());
    assert.equal(garbage, 0, held ? "held" : "chunks");
    assert.deepEqual(seqs, Array.from({ length: recs.length }, (_, k) => k), held ? "held" : "chunks");
  }
});

Deno.test("mpack stream: declareTorn keeps the records a new writer wrote before the reader saw the end", () => {
  // The reader got to the end of the data only after the new writer's first 10,000 bytes (a follower behind).
  const log = tornLog({ records: 3000 });
  const r = new MpackStreamReader();
  r.push(concat(log.before, log.torn, log.after.subarray(0, 10_000)));
  const seqs: unknown[] = [];
  for (let it = r.next(); it; it = r.next()) seqs.push((it as MpackRecordItem).value.seq);
  assert.equal(r.heldRecord(), log.before.length);
  r.push(log.after.subarray(10_000, 50_000));
  assert.equal(r.next(), undefined);
  const g = r.declareTorn();
  assert.deepEqual([g?.start, g?.length], [log.before.length, log.torn.length]);
  r.push(log.after.subarray(50_000));
  for (let it = r.next(); it; it = r.next()) seqs.push((it as MpackRecordItem).value.seq);
  assert.deepEqual(seqs, log.seqs);
});

Deno.test("mpack stream: after a torn end, a run shorter than four records counts when it reaches the end", () => {
  const log = tornLog({ records: 2 });
  const { seqs, garbage } = readWhole(concat(log.before, log.torn, log.after));
  assert.deepEqual(seqs, [0, 1, 2, 1000, 1001]);
  assert.deepEqual(garbage.map((g) => [g.start, g.length]), [[log.before.length, log.torn.length]]);
});

Deno.test("mpack stream: a torn field that ends exactly where a new record ends is found when it is 4 KiB or more", () => {
  // Nothing after the bogus record looks wrong here: only the look into big fields finds it.
  const after = concat(...Array.from({ length: 300 }, (_, i) => telemetryRecord(i)));
  const cut = 100;
  const head = encodeMsgpack({ time: 1.5, seq: -1, image: new Uint8Array(5000) }).length - 5000; // bytes before the field
  // A field length that makes the torn record end exactly at the end of the 90th new record.
  let end90 = 0;
  for (let i = 0; i < 90; i++) end90 += telemetryRecord(i).length;
  const binLen = cut - head + end90;
  const big = encodeMsgpack({ time: 1.5, seq: -1, image: randomBytes(binLen, 4) });
  assert.equal(big.length - binLen, head);
  const { seqs, garbage } = readWhole(concat(big.subarray(0, cut), after));
  assert.deepEqual(seqs, Array.from({ length: 300 }, (_, k) => k));
  assert.deepEqual(garbage.map((g) => [g.start, g.length]), [[0, cut]]);
});

// Regressions found by fuzz/mpack_stream_fuzz_test.ts.

Deno.test("mpack stream (fuzz regression): a whole record over maxRecordBytes is garbage, as it is in pieces", () => {
  const bytes = Uint8Array.from([0x81, 0xa0, 0x00]); // {"": 0}, 3 bytes
  for (const chunks of [[bytes], [bytes.subarray(0, 2), bytes.subarray(2)]]) {
    const r = new MpackStreamReader({ maxRecordBytes: 2 });
    const items: MpackStreamItem[] = [];
    for (const c of chunks) {
      r.push(c);
      for (let it = r.next(); it; it = r.next()) items.push(it);
    }
    for (let it = r.finish(); it; it = r.next()) items.push(it);
    assert.ok(items.every((i) => i.kind === "garbage"), JSON.stringify(items));
    assert.equal(items.reduce((n, i) => n + (i.kind === "garbage" ? i.length : 0), 0), 3);
  }
});

Deno.test("mpack stream (fuzz regression): a string cut inside a UTF-8 sequence is garbage, however the bytes arrive", () => {
  // {"\xc0": [0, b""]} then a torn record: msgpackr would read the string's missing continuation byte from the
  // array header after it, and the result depended on the chunk boundaries.
  const bytes = Uint8Array.from([0x81, 0xa1, 0xc0, 0x92, 0x00, 0xc4, 0x00, 0x81, 0xa2, 0x20]);
  const whole = readAll([bytes]);
  assert.equal(whole.filter((i) => i.kind === "record").length, 0, JSON.stringify(whole));
  assert.deepEqual(readAll([bytes.subarray(0, 7), bytes.subarray(7)]), whole);
  // Invalid UTF-8 that ends within the string still reads (as U+FFFD), as it always did.
  const inside = Uint8Array.from([0x81, 0xa2, 0xc0, 0x41, 0x00]);
  assert.deepEqual(readAll([inside]).map((i) => i.kind === "record" ? i.value : i), [{ "\ufffd": 0 }]);
});

Deno.test("mpack stream (fuzz regression): a map key that is a list is garbage in lazy reading too", () => {
  // {"a": {[1]: 2}} then {"b": 1}: msgpackr cannot make a property name of a list, so eager reading skipped the first
  // as garbage while lazy reading took it as a record whose value then threw.
  const bytes = Uint8Array.from([0x81, 0xa1, 0x61, 0x81, 0x91, 0x01, 0x02, 0x81, 0xa1, 0x62, 0x01]);
  for (const decode of [true, false]) {
    const r = new MpackStreamReader({ decode });
    r.push(bytes);
    const items: MpackStreamItem[] = [];
    for (let it = r.next(); it; it = r.next()) items.push(it);
    assert.deepEqual(
      items.map((i) => i.kind === "record" ? [i.start, i.value] : [i.start, i.kind, i.length]),
      [[0, "garbage", 7], [7, { b: 1 }]],
      `decode: ${decode}`,
    );
  }
});

/**
 * What a caller with `recycle` sees: chunks read into two buffers used in turn (each overwritten two reads later),
 * every item copied out before the next push. Returns the items as plain data.
 */
function readRecycled(bytes: Uint8Array, size: number): unknown[] {
  const r = new MpackStreamReader({ recycle: true, decode: false });
  const bufs = [new Uint8Array(size), new Uint8Array(size)];
  const out: unknown[] = [];
  const take = (it: MpackStreamItem | undefined) => {
    for (; it; it = r.next()) {
      out.push(it.kind === "record" ? { start: it.start, end: it.end, raw: it.raw.slice() } : { ...it });
    }
  };
  for (let o = 0, turn = 0; o < bytes.length; o += size, turn ^= 1) {
    const chunk = bytes.subarray(o, o + size);
    bufs[turn].fill(0xc1); // what was there before is gone
    bufs[turn].set(chunk);
    r.push(bufs[turn].subarray(0, chunk.length));
    take(r.next());
  }
  take(r.finish());
  return out;
}

Deno.test("mpack stream: with recycle, reused read buffers give the same items as fresh ones", () => {
  const log = tornLog({ binBytes: 5000, cutAfter: 3000, records: 300 });
  const junk = new TextEncoder().encode("not a record at all, some garbage");
  const bytes = concat(log.before, junk, log.before, log.torn, log.after, log.torn.subarray(0, 50));
  const fresh = (size: number) => {
    const r = new MpackStreamReader({ decode: false });
    const out: unknown[] = [];
    const take = (it: MpackStreamItem | undefined) => {
      for (; it; it = r.next()) {
        out.push(it.kind === "record" ? { start: it.start, end: it.end, raw: it.raw.slice() } : { ...it });
      }
    };
    for (let o = 0; o < bytes.length; o += size) {
      r.push(bytes.slice(o, o + size));
      take(r.next());
    }
    take(r.finish());
    return out;
  };
  for (const size of [17, 300, 4096, 65536]) {
    const want = fresh(size);
    assert.ok(want.some((it) => !("raw" in (it as object))), "the log has garbage");
    assert.deepEqual(readRecycled(bytes, size), want, `${size} B chunks`);
  }
});
