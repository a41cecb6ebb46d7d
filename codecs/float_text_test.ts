/**
 * The WebAssembly float writer of codecs/float_text.ts against what it
 * replaces: `JSON.stringify(v)` (the same text as `String(v)`), which `dump`
 * printed floats with before. Over a million doubles of several kinds, each
 * compared byte for byte; and through the record walk of mpack_json.ts,
 * against toJson of the decoded record.
 */
import assert from "node:assert/strict";
import { floatText } from "./float_text.ts";
import { appendRecordJson, ByteBuffer } from "./mpack_json.ts";
import { decodeMsgpack, encodeMsgpack } from "./msgpack.ts";
import { toJson } from "./json.ts";
import { prng } from "../testing/mod.ts";

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

/** The double of the given bits (little-endian halves). */
function fromBits(hi: number, lo: number): number {
  u32[1] = hi >>> 0;
  u32[0] = lo >>> 0;
  return f64[0];
}

/** The neighbouring doubles of `v` (`d` steps of its bit pattern). */
function step(v: number, d: number): number {
  f64[0] = v;
  const lo = u32[0] + d;
  if (lo < 0) u32[1]--, u32[0] = lo + 2 ** 32;
  else if (lo >= 2 ** 32) u32[1]++, u32[0] = lo - 2 ** 32;
  else u32[0] = lo;
  return f64[0];
}

/** The domain of `fixed`: finite, not zero, printed by String without an exponent. */
function inDomain(v: number): boolean {
  const a = Math.abs(v);
  return a >= 1e-6 && a < 1e21;
}

/** Kinds of doubles, each a generator from a seeded random source. */
const KINDS: Record<string, (r: () => number) => number> = {
  // Sensor readings: a few decimals, at magnitudes telemetry has.
  "telemetry decimals": (r) => {
    const decimals = Math.floor(r() * 7);
    const scale = 10 ** Math.floor(r() * 7);
    return Math.round((r() - 0.5) * scale * 10 ** decimals) / 10 ** decimals;
  },
  // Timestamps in seconds with milli- or microseconds, as logs carry them.
  "timestamps": (r) => 1_700_000_000 + Math.floor(r() * 1e9) / (r() < 0.5 ? 1e3 : 1e6),
  // Full-precision noise, as the benchmark's records (16-17 significant digits).
  "full precision": (r) => 100 * (r() - 0.5) * 10 ** Math.floor(r() * 6 - 2),
  // Any bit pattern, kept when in the domain (exponents 2^-24..2^70).
  "random bits": (r) => fromBits(Math.floor(r() * 2 ** 32), Math.floor(r() * 2 ** 32)),
  "random bits, domain exponents": (r) =>
    fromBits(
      ((Math.floor(r() * 95) + 999) << 20) | Math.floor(r() * 2 ** 20) | (r() < 0.5 ? 0x80000000 : 0),
      r() * 2 ** 32,
    ),
  // Whole numbers as floats, past int32 (smaller ones are printed as integers before reaching the writer).
  "integers as floats": (r) => Math.floor(r() * 2 ** (31 + Math.floor(r() * 39))) * (r() < 0.5 ? -1 : 1),
  // Powers of 2 and 10 and their neighbours: boundaries of the rounding interval and of the notation.
  "tiny and huge exponents": (r) => {
    const base = r() < 0.5 ? 2 ** Math.floor(r() * 94 - 23) : 10 ** Math.floor(r() * 28 - 7);
    return step(base, Math.floor(r() * 7) - 3) * (r() < 0.5 ? -1 : 1);
  },
};

Deno.test("float_text: fixed() prints what JSON.stringify prints, on 1.4 million doubles of seven kinds", () => {
  const ft = floatText();
  ft.reserve(64);
  const seed = Date.now() >>> 0;
  let checked = 0;
  for (const [kind, make] of Object.entries(KINDS)) {
    const r = prng(seed ^ kind.length);
    let n = 0;
    while (n < 200_000) {
      const v = make(r);
      if (!inDomain(v)) continue;
      n++;
      const want = JSON.stringify(v);
      const end = ft.fixed(v, ft.start);
      const b = ft.bytes;
      let same = end - ft.start === want.length;
      for (let i = 0; same && i < want.length; i++) same = b[ft.start + i] === want.charCodeAt(i);
      if (!same) {
        const got = new TextDecoder().decode(b.subarray(ft.start, end));
        assert.fail(`${kind} (seed ${seed}): ${want} printed as ${got}`);
      }
    }
    checked += n;
  }
  assert.equal(checked, 1_400_000);
});

Deno.test("float_text: every boundary of the domain and of the notation", () => {
  const ft = floatText();
  const dec = new TextDecoder();
  const edges = [1e-7, 1e-6, 1e-5, 1e-4, 0.1, 1, 10, 2 ** 31, 2 ** 53, 1e15, 1e16, 1e20, 1e21, 2 ** 69, 123.456];
  edges.push(Number.MIN_VALUE * 2 ** 1052, 0.1 + 0.2, 1 / 3, 2 / 3, 5e-7, 9.5e-7, 1.5, 2.5);
  for (const e of edges) {
    for (let d = -3; d <= 3; d++) {
      for (const v of [step(e, d), -step(e, d)]) {
        if (!inDomain(v)) continue;
        assert.equal(dec.decode(ft.bytes.subarray(ft.start, ft.fixed(v, ft.start))), JSON.stringify(v), `${v}`);
      }
    }
  }
});

Deno.test("float_text: records of floats through the walk print as toJson of the decoded record", () => {
  const r = prng(7);
  const makers = Object.values(KINDS);
  const dec = new TextDecoder();
  const sink = new ByteBuffer(16);
  for (let i = 0; i < 2000; i++) {
    const record: Record<string, number | number[]> = {};
    for (let k = 0; k < 30; k++) record[`k${k}`] = makers[k % makers.length](r);
    record.list = Array.from({ length: 20 }, () => makers[Math.floor(r() * makers.length)](r));
    const bytes = encodeMsgpack(record);
    sink.length = 0;
    assert.ok(appendRecordJson(sink, bytes, 0, bytes.length));
    const want = toJson(decodeMsgpack(bytes, 0, bytes.length, true), { style: "python" }) + "\n";
    assert.equal(dec.decode(sink.bytes.subarray(0, sink.length)), want);
  }
});

Deno.test("float_text: a record larger than the module's memory grows it and prints whole", () => {
  const r = prng(11);
  // 600,000 floats: a 5.4 MB record is over FAST_MAX_RECORD, so 400,000 (3.6 MB, 29 MB reserved) it is.
  const values = Array.from({ length: 400_000 }, () => (r() - 0.5) * 1000);
  const bytes = encodeMsgpack({ values, after: "end" });
  const sink = new ByteBuffer(16);
  assert.ok(appendRecordJson(sink, bytes, 0, bytes.length));
  const want = toJson(decodeMsgpack(bytes, 0, bytes.length, true), { style: "python" }) + "\n";
  assert.equal(new TextDecoder().decode(sink.bytes.subarray(0, sink.length)), want);
  // And a small record after it still prints right (the views were replaced).
  const small = encodeMsgpack({ x: 0.25, y: -12.5 });
  sink.length = 0;
  assert.ok(appendRecordJson(sink, small, 0, small.length));
  assert.equal(new TextDecoder().decode(sink.bytes.subarray(0, sink.length)), '{"x": 0.25, "y": -12.5}\n');
});
