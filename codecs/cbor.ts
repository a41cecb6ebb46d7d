/**
 * CBOR as MoaT speaks it (moat-lib-cmd's `StdCBOR`): plain values, and the
 * tags MoaT adds — 39 Path (202 before 2025), 32769 proxy name (203
 * before), 27 object or exception `[name, *args, {kw}?]`, 1 epoch datetime,
 * 2/3 bignums. Decoding uses cbor-x (fast, and it tells an incomplete buffer
 * from garbage, which the stream framing needs). Encoding is done here,
 * because cbor-x writes integers above 2^32 as floats and `-0` as the integer
 * 0, and the Python peer must get back exactly what it sent.
 * The MoaT classes are in codecs/moat_values.ts; the MessagePack variant of
 * older MoaT, with ext types for the same classes, in codecs/moat_msgpack.ts.
 *
 * @module
 */
// cbor-x's decoder, vendored (see vendor/README.md): the npm package's optional native extension is not needed
// here, and its platform packages would have to resolve before any program could import telebus.
// @deno-types="../vendor/cbor-x/decode.d.ts"
import { addExtension, Decoder } from "../vendor/cbor-x/decode.js";
import { RecordLimitError } from "../core/limits.ts";
import { CborTag, isPlainDict, MoatObject, MoatProxy, Path } from "./moat_values.ts";
import { bigToBytes, MAX_SAFE, MESSAGE_DEPTH, textEncoder, Writer } from "./moat_writer.ts";

// Tag decoders are global in cbor-x; registering them once here keeps every decoder alike.
const reg = (tag: number, decode: (v: unknown) => unknown) => addExtension({ tag, decode });
reg(39, (v) => new Path(asArray(v)));
reg(202, (v) => new Path(asArray(v)));
reg(32769, (v) => new MoatProxy(String(v)));
reg(203, (v) => new MoatProxy(String(v)));
reg(27, decodeObject);

function asArray(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [v];
}

function decodeObject(v: unknown): MoatObject {
  const a = asArray(v);
  const last = a.length > 1 ? a[a.length - 1] : undefined;
  const kw = isPlainDict(last) ? last : undefined;
  return new MoatObject(String(a[0]), a.slice(1, kw ? -1 : undefined), kw);
}

const decoder = new Decoder({ mapsAsObjects: true, useRecords: false });

/** Raised for bytes that are not CBOR (as opposed to CBOR that is cut off). */
export class CborError extends Error {
  /**
   * Creates the error.
   *
   * @param message what was wrong
   */
  constructor(message: string) {
    super(message);
    this.name = "CborError";
  }
}

/** Decodes exactly one CBOR item; throws {@linkcode CborError} on garbage, truncation or trailing bytes. */
export function decodeCbor(bytes: Uint8Array): unknown {
  try {
    return normalise(decoder.decode(bytes));
  } catch (e) {
    throw new CborError(`bad CBOR: ${(e as Error).message}`);
  }
}

/** What {@linkcode decodeCborSequence} found in a buffer. */
export interface CborSequenceResult {
  /** Bytes fully used (items decoded); the rest is the start of an incomplete item or garbage. */
  consumed: number;
  /** Set when the bytes at `consumed` are not CBOR (as opposed to cut off). */
  garbage?: string;
}

/**
 * Decodes back-to-back CBOR items (a CBOR sequence, RFC 8742) from `bytes`,
 * calling `onItem` for each complete one. Stops at an incomplete item (more
 * bytes may complete it) or at garbage, and says which.
 */
export function decodeCborSequence(bytes: Uint8Array, onItem: (value: unknown) => void): CborSequenceResult {
  if (bytes.length === 0) return { consumed: 0 };
  let consumed = 0;
  try {
    decoder.decodeMultiple(bytes, (v: unknown) => {
      onItem(normalise(v));
    });
    return { consumed: bytes.length };
  } catch (e) {
    const err = e as { incomplete?: boolean; lastPosition?: number; message?: string };
    consumed = err.lastPosition ?? 0;
    if (err.incomplete) return { consumed };
    return { consumed, garbage: String(err.message) };
  }
}

/** Turns Buffers into plain Uint8Arrays, safe bigints into numbers and unknown cbor-x tags into {@linkcode CborTag}. */
function normalise(v: unknown): unknown {
  if (typeof v === "bigint") {
    // cbor-x returns every 64-bit-encoded integer as a bigint; a number is what users expect when it fits.
    return v >= -MAX_SAFE && v <= MAX_SAFE ? Number(v) : v;
  }
  if (v === null || typeof v !== "object") return v;
  if (v instanceof Uint8Array) return v.constructor === Uint8Array ? v : new Uint8Array(v);
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = normalise(v[i]);
    return v;
  }
  if (isPlainDict(v)) {
    for (const k of Object.keys(v)) v[k] = normalise(v[k]);
    return v;
  }
  if (v instanceof Path) return new Path(v.elements.map(normalise));
  if (v instanceof MoatObject) {
    return new MoatObject(v.name, v.args.map(normalise), v.kw ? normalise(v.kw) as Record<string, unknown> : undefined);
  }
  const t = v as { tag?: unknown; value?: unknown };
  if (typeof t.tag === "number" && "value" in t && v.constructor?.name === "Tag") {
    return new CborTag(t.tag, normalise(t.value));
  }
  return v;
}

const U64 = 1n << 64n;

/**
 * Encodes `value` as CBOR the way Python's cbor2 (and so MoaT) does:
 * integers in the shortest form up to 64 bits (bignum tags beyond), floats as
 * float64 (`-0`, NaN and infinities included), strings, bytes, arrays, maps
 * with string keys, `Map`s, `Date` (tag 1), and the MoaT classes of this module.
 * `undefined` is written as null.
 */
export function encodeCbor(value: unknown): Uint8Array {
  const w = new Writer();
  write(w, value, 0);
  return w.buf.slice(0, w.pos);
}

function write(w: Writer, v: unknown, depth: number): void {
  if (depth > MESSAGE_DEPTH) throw new RecordLimitError("too_deep", "CBOR: value nested too deeply");
  switch (typeof v) {
    case "number":
      // Only safe integers are integers: 1e300 came from a Python float and must go back as one.
      if (Number.isSafeInteger(v) && !Object.is(v, -0)) return v >= 0 ? w.head(0, v) : w.head(1, -1 - v);
      return w.float64(0xfb, v);
    case "bigint":
      if (v >= 0n) {
        if (v < U64) return w.head(0, v);
        w.head(6, 2);
        return write(w, bigToBytes(v), depth + 1);
      }
      if (-1n - v < U64) return w.head(1, -1n - v);
      w.head(6, 3);
      return write(w, bigToBytes(-1n - v), depth + 1);
    case "string": {
      const b = textEncoder.encode(v);
      w.head(3, b.length);
      return w.bytes(b);
    }
    case "boolean":
      w.ensure(1);
      w.buf[w.pos++] = v ? 0xf5 : 0xf4;
      return;
    case "undefined":
      w.ensure(1);
      w.buf[w.pos++] = 0xf6;
      return;
    case "object":
      break;
    default:
      throw new TypeError(`CBOR: cannot encode a ${typeof v}`);
  }
  if (v === null) {
    w.ensure(1);
    w.buf[w.pos++] = 0xf6;
    return;
  }
  if (Array.isArray(v)) {
    w.head(4, v.length);
    for (const x of v) write(w, x, depth + 1);
    return;
  }
  if (v instanceof Uint8Array) {
    w.head(2, v.length);
    return w.bytes(v);
  }
  if (ArrayBuffer.isView(v)) {
    const b = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
    w.head(2, b.length);
    return w.bytes(b);
  }
  if (v instanceof Path) {
    w.head(6, 39);
    return write(w, v.elements, depth + 1);
  }
  if (v instanceof MoatProxy) {
    w.head(6, 32769);
    return write(w, v.name, depth + 1);
  }
  if (v instanceof MoatObject) {
    w.head(6, 27);
    return write(w, v.kw ? [v.name, ...v.args, v.kw] : [v.name, ...v.args], depth + 1);
  }
  if (v instanceof CborTag) {
    w.head(6, v.tag);
    return write(w, v.value, depth + 1);
  }
  if (v instanceof Date) {
    w.head(6, 1);
    return write(w, v.getTime() / 1000, depth + 1);
  }
  if (v instanceof Map) {
    w.head(5, v.size);
    for (const [k, x] of v) {
      write(w, k, depth + 1);
      write(w, x, depth + 1);
    }
    return;
  }
  const entries = Object.entries(v).filter(([, x]) => x !== undefined);
  w.head(5, entries.length);
  for (const [k, x] of entries) {
    write(w, k, depth + 1);
    write(w, x, depth + 1);
  }
}
