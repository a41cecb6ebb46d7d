/**
 * checkRecordSpan's inline steps over common keys and values against the
 * plain walk they shortcut (every key and value through skipObject): same
 * answer and same failure reason on well-formed records, every truncation of
 * them, every limit, and random corruptions.
 */
import assert from "node:assert/strict";
import { checkRecordSpan, fail, INCOMPLETE, lastCheckFailure, skipObject } from "./msgpack_check.ts";
import { encodeMsgpack } from "./msgpack.ts";
import { prng } from "../testing/mod.ts";

/** checkRecordSpan as it was before the inline steps: a map header, then skipObject for every key and value. */
function reference(b: Uint8Array, p: number, end: number, max: number, allowEmpty = false): number {
  if (p >= end) return INCOMPLETE;
  const t = b[p];
  let n: number, q: number;
  if (t >= 0x80 && t <= 0x8f) n = t & 0x0f, q = p + 1;
  else if (t === 0xde) {
    if (p + 3 > end) return INCOMPLETE;
    n = (b[p + 1] << 8) | b[p + 2], q = p + 3;
  } else if (t === 0xdf) {
    if (p + 5 > end) return INCOMPLETE;
    n = ((b[p + 1] << 24) >>> 0) + ((b[p + 2] << 16) | (b[p + 3] << 8) | b[p + 4]), q = p + 5;
  } else return checkRecordSpan(b, p, end, max, allowEmpty); // no map: its own reason, not what is tested here
  if (n === 0 || n * 2 > max) return checkRecordSpan(b, p, end, max, allowEmpty);
  for (let i = 0; i < n; i++) {
    if (q >= end) return INCOMPLETE;
    const k = b[q];
    if (!((k >= 0xa0 && k <= 0xbf) || k === 0xd9 || k === 0xda || k === 0xdb)) return fail("a map key is not a string");
    q = skipObject(b, q, end, max, 1);
    if (q < 0) return q;
    q = skipObject(b, q, end, max, 1);
    if (q < 0) return q;
  }
  if (q > end) return INCOMPLETE;
  return q - p > max ? fail(`a record of ${q - p} B exceeds the ${max} B record limit`) : q;
}

function same(b: Uint8Array, p: number, end: number, max: number, what: string): void {
  const want = reference(b, p, end, max);
  const wantWhy = want === -1 ? lastCheckFailure() : "";
  const got = checkRecordSpan(b, p, end, max);
  assert.equal(got, want, what);
  if (got === -1) assert.equal(lastCheckFailure(), wantWhy, what);
}

function records(r: () => number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < 300; i++) {
    out.push(encodeMsgpack({
      time: 1_700_000_000 + i / 1000,
      seq: i,
      small: i % 128,
      neg: -(i % 30),
      x: (r() - 0.5) * 100,
      é: "ünïcode",
      ["k€"]: "€",
      [`key_${"x".repeat(i % 40)}`]: i % 3 ? "drive" : null,
      nested: { a: [1, 2.5, "three"], b: { c: true } },
      bytes: new Uint8Array(i % 5),
    }));
  }
  return out;
}

Deno.test("msgpack_check: checkRecordSpan's fast steps answer as the plain walk does", () => {
  const r = prng(5);
  const seed = Date.now() >>> 0;
  const rr = prng(seed);
  for (const rec of records(r)) {
    const b = new Uint8Array(rec.length + 16);
    b.set(rec, 4);
    // Whole, with stale bytes after the end, and every truncation.
    for (let end = 4; end <= 4 + rec.length; end++) same(b, 4, end, 1 << 20, `truncated at ${end - 4}`);
    // Every record limit around the record's and its parts' sizes.
    for (let max = 0; max <= rec.length + 2; max += 1 + (max >> 3)) same(b, 4, 4 + rec.length, max, `max ${max}`);
    // Random corruptions (seed in the message).
    for (let k = 0; k < 200; k++) {
      const c = b.slice();
      for (let j = 0; j < 1 + (k % 3); j++) c[4 + Math.floor(rr() * rec.length)] = Math.floor(rr() * 256);
      same(c, 4, 4 + rec.length, 1 << 20, `corruption ${k} (seed ${seed})`);
      same(c, 4, 4 + rec.length - 1 - (k % 7), 1 << 20, `corrupted and torn ${k} (seed ${seed})`);
    }
  }
});

Deno.test("msgpack_check: a short key ending inside a UTF-8 sequence is refused by the fast step too", () => {
  // {"a\xe2\x82": 1}: a fixstr key whose last three bytes start a 3-byte sequence that runs past its end.
  const b = new Uint8Array([0x81, 0xa3, 0x61, 0xe2, 0x82, 0x01]);
  assert.equal(checkRecordSpan(b, 0, b.length, 100), -1);
  assert.equal(lastCheckFailure(), "a string ends inside a UTF-8 sequence");
  const ok = new Uint8Array([0x81, 0xa4, 0x61, 0xe2, 0x82, 0xac, 0x01]); // "a€"
  assert.equal(checkRecordSpan(ok, 0, ok.length, 100), ok.length);
});
