/**
 * The shared part of the fuzz targets in this folder: how many cases a
 * property runs (`TELEBUS_FUZZ_RUNS`, small inside the test suite, 10⁶ under
 * `deno task fuzz`), what counts as a crash (any exception that is not one of
 * telebus's own error types), what counts as a hang (one case slower than
 * {@linkcode CASE_TIME_LIMIT_MS}), and arbitraries that mutate valid
 * encodings so that the fuzzer gets past the first header check.
 *
 * @module
 */
import fc from "npm:fast-check@^4.10.2";
import { ConfigError } from "../config/errors.ts";
import { MflowError } from "../codecs/mflow_error.ts";
import { CborError } from "../codecs/cbor.ts";
import { MsgpackError, MsgpackIncomplete } from "../codecs/moat_msgpack.ts";
import { LineProtocolError } from "../codecs/line_protocol.ts";
import { StreamerProtocolError } from "../protocol/streamer/wire.ts";
import { RecordLimitError } from "../core/limits.ts";

import { concat } from "../testing/bytes.ts";

export { concat };

/** Cases per property: `TELEBUS_FUZZ_RUNS`, else a number small enough for the test suite. */
export const FUZZ_RUNS: number = Number(Deno.env.get("TELEBUS_FUZZ_RUNS") || 500);

/** One case (one input of at most 64 KiB) taking longer than this counts as a hang. */
export const CASE_TIME_LIMIT_MS = 1000;

/**
 * The error types telebus throws on purpose for bad outside input. Anything
 * else escaping a decoder (a TypeError, a RangeError, a plain Error from a
 * library) is a crash.
 */
export const TELEBUS_ERRORS: readonly (new (...args: never[]) => Error)[] = [
  ConfigError,
  MflowError,
  CborError,
  MsgpackError,
  MsgpackIncomplete,
  LineProtocolError,
  StreamerProtocolError,
  RecordLimitError,
];

/** A failure of a fuzz property: a crash or a hang, with what caused it. */
export class FuzzFailure extends Error {
  /** Names itself. */
  override name = "FuzzFailure";
}

/**
 * Runs `f`; an exception that is not one of `allowed` (default: every
 * telebus error type) is rethrown as a crash. Returns the result, or the
 * allowed error that was thrown.
 */
export function expectOnly<T>(
  f: () => T,
  allowed: readonly (new (...args: never[]) => Error)[] = TELEBUS_ERRORS,
): { value: T } | { error: Error } {
  try {
    return { value: f() };
  } catch (e) {
    if (allowed.some((c) => e instanceof c)) return { error: e as Error };
    throw new FuzzFailure(`crash: ${describeError(e)}`, { cause: e });
  }
}

/** {@linkcode expectOnly} for asynchronous work. */
export async function expectOnlyAsync<T>(
  f: () => Promise<T>,
  allowed: readonly (new (...args: never[]) => Error)[] = TELEBUS_ERRORS,
): Promise<{ value: T } | { error: Error }> {
  try {
    return { value: await f() };
  } catch (e) {
    if (allowed.some((c) => e instanceof c)) return { error: e as Error };
    throw new FuzzFailure(`crash: ${describeError(e)}`, { cause: e });
  }
}

function describeError(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : `non-error ${String(e)}`;
}

/** Statistics of one property run, printed by {@linkcode fuzz}. */
export interface FuzzReport {
  /** Cases run. */
  cases: number;
  /** Wall time of the whole run in seconds. */
  seconds: number;
  /** The slowest single case in milliseconds. */
  slowestMs: number;
}

/**
 * Checks `property` on {@linkcode FUZZ_RUNS} cases (or `runs`). Each case is
 * timed: one slower than {@linkcode CASE_TIME_LIMIT_MS} fails as a hang. A
 * failure is shrunk by fast-check and reported with its seed, so that it can
 * be turned into a regression test. Prints one line: target, cases, time.
 */
export async function fuzz<T>(
  name: string,
  arbitrary: fc.Arbitrary<T>,
  check: (input: T) => void | Promise<void>,
  runs = FUZZ_RUNS,
): Promise<FuzzReport> {
  let slowest = 0;
  let cases = 0;
  const started = performance.now();
  const timed = async (input: T) => {
    cases++;
    let t0 = performance.now();
    await check(input);
    let dt = performance.now() - t0;
    if (dt > CASE_TIME_LIMIT_MS) {
      // A garbage collection or a busy machine can stall one case; a real hang is slow again on the same input.
      t0 = performance.now();
      await check(input);
      dt = Math.min(dt, performance.now() - t0);
      if (dt > CASE_TIME_LIMIT_MS) throw new FuzzFailure(`hang: one case took ${dt.toFixed(0)} ms, twice`);
    }
    if (dt > slowest) slowest = dt;
  };
  const seed = Deno.env.get("TELEBUS_FUZZ_SEED");
  await fc.assert(fc.asyncProperty(arbitrary, timed), {
    numRuns: runs,
    ...(seed ? { seed: Number(seed) } : {}),
    // The default end-of-run shrinking budget is ample; verbose names the shrunk counterexample.
    verbose: 1,
  });
  const report = { cases, seconds: (performance.now() - started) / 1000, slowestMs: slowest };
  console.log(
    `fuzz ${name}: ${report.cases} cases in ${report.seconds.toFixed(1)} s, slowest case ${
      report.slowestMs.toFixed(1)
    } ms, 0 failures`,
  );
  return report;
}

/* ------------------------------------------------------------------ arbitraries */

/** Random bytes, up to `max` long. */
export function randomBytes(max = 512): fc.Arbitrary<Uint8Array> {
  return fc.uint8Array({ maxLength: max });
}

/** Byte values that mean something to one decoder or another (type bytes, lengths, start bytes). */
const INTERESTING = [
  0x00,
  0x01,
  0x0a,
  0x20,
  0x22,
  0x2c,
  0x3d,
  0x5c,
  0x7f,
  0x80,
  0x81,
  0x85,
  0x8f,
  0x90,
  0x9f,
  0xa0,
  0xbf,
  0xc0,
  0xc1,
  0xc4,
  0xc7,
  0xcb,
  0xcf,
  0xd3,
  0xd6,
  0xd9,
  0xdb,
  0xdc,
  0xdd,
  0xde,
  0xdf,
  0xe0,
  0xf5,
  0xf9,
  0xfb,
  0xff,
];

type Mutation =
  | { op: "flip"; at: number; bit: number }
  | { op: "set"; at: number; byte: number }
  | { op: "truncate"; at: number }
  | { op: "insert"; at: number; bytes: Uint8Array }
  | { op: "delete"; at: number; length: number }
  | { op: "duplicate"; at: number; length: number; to: number };

const position = fc.nat({ max: 1 << 20 });

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant("flip" as const), at: position, bit: fc.nat({ max: 7 }) }),
  fc.record({
    op: fc.constant("set" as const),
    at: position,
    byte: fc.oneof(fc.constantFrom(...INTERESTING), fc.nat({ max: 255 })),
  }),
  fc.record({ op: fc.constant("truncate" as const), at: position }),
  fc.record({ op: fc.constant("insert" as const), at: position, bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ op: fc.constant("delete" as const), at: position, length: fc.integer({ min: 1, max: 16 }) }),
  fc.record({
    op: fc.constant("duplicate" as const),
    at: position,
    length: fc.integer({ min: 1, max: 64 }),
    to: position,
  }),
);

/** Applies one mutation; positions are taken modulo the length, so any position fits any input. */
export function mutate(b: Uint8Array, m: Mutation): Uint8Array {
  const n = b.length;
  const at = n === 0 ? 0 : m.at % (n + (m.op === "insert" ? 1 : 0));
  switch (m.op) {
    case "flip": {
      if (n === 0) return b;
      const r = b.slice();
      r[at] ^= 1 << m.bit;
      return r;
    }
    case "set": {
      if (n === 0) return b;
      const r = b.slice();
      r[at] = m.byte;
      return r;
    }
    case "truncate":
      return b.slice(0, at);
    case "insert":
      return concat(b.subarray(0, at), m.bytes, b.subarray(at));
    case "delete":
      return concat(b.subarray(0, at), b.subarray(at + m.length));
    case "duplicate": {
      const piece = b.slice(at, at + m.length);
      const to = n === 0 ? 0 : m.to % (n + 1);
      return concat(b.subarray(0, to), piece, b.subarray(to));
    }
  }
}

/** Valid encodings from `valid`, then up to `max` mutations (flips, truncation, insertion, splices). */
export function mutated(valid: fc.Arbitrary<Uint8Array>, max = 4): fc.Arbitrary<Uint8Array> {
  return fc.tuple(valid, fc.array(mutation, { maxLength: max })).map(([b, ms]) => ms.reduce(mutate, b));
}

/** Fully random bytes and mutations of valid encodings, half and half. */
export function hostileBytes(valid: fc.Arbitrary<Uint8Array>, max = 512): fc.Arbitrary<Uint8Array> {
  return fc.oneof(randomBytes(max), mutated(valid), valid);
}

/** Text that may hold `mutated` text of a valid input, random Unicode, or random bytes read as Latin-1. */
export function hostileText(valid: fc.Arbitrary<string>, max = 512): fc.Arbitrary<string> {
  const enc = new TextEncoder(), dec = new TextDecoder();
  return fc.oneof(
    fc.string({ unit: "binary", maxLength: max }),
    fc.string({ maxLength: max }),
    mutated(valid.map((s) => enc.encode(s))).map((b) => dec.decode(b)),
    valid,
  );
}

/** Cut points that split `length` bytes into chunks, as a socket or a file read may deliver them. */
export function splitAt(b: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => b.length === 0 ? 0 : c % (b.length + 1)))].sort((x, y) => x - y);
  const out: Uint8Array[] = [];
  let start = 0;
  for (const p of points) {
    out.push(b.subarray(start, p));
    start = p;
  }
  out.push(b.subarray(start));
  return out;
}
