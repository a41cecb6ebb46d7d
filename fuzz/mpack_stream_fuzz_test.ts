/**
 * Fuzz target: the `.mpack` stream reader (codecs/mpack_stream.ts), which
 * reads logs, tails and uploads from outside. Random bytes and damaged logs,
 * pushed in random chunks: the reader never throws, every byte comes out
 * exactly once (as part of a record or of a garbage run), lazy and eager
 * reading agree, and a clean log reads back record for record in any chunks.
 */
import assert from "node:assert/strict";
import fc from "npm:fast-check@^4.10.2";
import { type MpackStreamItem, MpackStreamReader } from "../codecs/mpack_stream.ts";
import { mpackLog } from "./arbitraries.ts";
import { fuzz, hostileBytes, splitAt } from "./runner.ts";

/** Everything the reader makes of `chunks`, `finish()` included. */
function readAll(chunks: Uint8Array[], decode = true, maxRecordBytes?: number): MpackStreamItem[] {
  const reader = new MpackStreamReader({ decode, maxRecordBytes });
  const items: MpackStreamItem[] = [];
  for (const c of chunks) {
    reader.push(c);
    for (let item = reader.next(); item; item = reader.next()) items.push(item);
  }
  // finish() gives the first item of what was held back; next() gives the rest.
  for (let item = reader.finish(); item; item = reader.next()) items.push(item);
  return items;
}

/** Items as plain data (spans, kinds, values) for comparison. */
function summary(items: MpackStreamItem[]): unknown[] {
  return items.map((i) =>
    i.kind === "record" ? ["record", i.start, i.end, i.value] : ["garbage", i.start, i.start + i.length]
  );
}

/**
 * Records and garbage runs tile `[0, length)` in order; a record's raw bytes are the input's and (when `decoded`)
 * its value is a map.
 */
function assertTiles(items: MpackStreamItem[], input: Uint8Array, decoded = true): void {
  let at = 0;
  for (const i of items) {
    assert.equal(i.start, at, `item starts at ${i.start}, expected ${at}`);
    const end = i.kind === "record" ? i.end : i.start + i.length;
    assert.ok(end > i.start, "an empty item");
    if (i.kind === "record" && decoded) {
      assert.deepEqual(i.raw, input.subarray(i.start, i.end));
      assert.ok(i.value !== null && typeof i.value === "object" && !Array.isArray(i.value), "a record is a map");
    }
    at = end;
  }
  assert.equal(at, input.length, "every byte is accounted for");
}

const input = hostileBytes(mpackLog.map((l) => l.bytes), 1024);
const cuts = fc.array(fc.nat(), { maxLength: 6 });

Deno.test("fuzz mpack stream: random and damaged bytes in random chunks never throw, every byte counted once", async () => {
  await fuzz("mpack_stream.tiles", fc.tuple(input, cuts), ([bytes, cut]) => {
    assertTiles(readAll(splitAt(bytes, cut)), bytes);
  });
});

Deno.test("fuzz mpack stream: lazy reading finds what eager reading does, in the same chunks", async () => {
  // Damaged input read in other chunks may come out differently: a record held back incomplete at a chunk's end is
  // judged torn or not by what follows it then (see the reader's torn-record recovery). Clean logs read the same in
  // any chunks (the round-trip property below).
  await fuzz("mpack_stream.lazy", fc.tuple(input, cuts), ([bytes, cut]) => {
    const chunks = splitAt(bytes, cut);
    assert.deepEqual(summary(readAll(chunks, false)), summary(readAll(chunks)));
  });
});

Deno.test("fuzz mpack stream: a small record limit still tiles the input", async () => {
  await fuzz("mpack_stream.limit", fc.tuple(input, cuts, fc.integer({ min: 1, max: 64 })), ([bytes, cut, max]) => {
    const items = readAll(splitAt(bytes, cut), true, max);
    assertTiles(items, bytes);
    for (const i of items) if (i.kind === "record") assert.ok(i.end - i.start <= max, "a record over the limit");
  });
});

Deno.test("fuzz mpack stream: a clean log reads back record for record", async () => {
  await fuzz("mpack_stream.roundtrip", fc.tuple(mpackLog, cuts), ([log, cut]) => {
    const items = readAll(splitAt(log.bytes, cut));
    assert.deepEqual(items.map((i) => i.kind === "record" ? i.value : i), log.records);
  });
});
