/**
 * CBOR as MoaT speaks it (moat-lib-cmd's `StdCBOR`): plain values, and the
 * tags MoaT adds — 39 Path (202 before 2025), 32769 proxy name (203
 * before), 27 object or exception `[name, *args, {kw}?]`, 1 epoch datetime,
 * 2/3 bignums. Decoding uses cbor-x (fast, and it tells an incomplete buffer
 * from garbage, which the stream framing needs). Encoding is done here,
 * because cbor-x writes integers above 2^32 as floats and `-0` as the integer
 * 0, and the Python peer must get back exactly what it sent.
 *
 * Also the MessagePack variant of older MoaT ({@linkcode encodeMoatMsgpack},
 * {@linkcode decodeMoatMsgpackAt}) with its ext types for the same classes.
 *
 * @module
 */
// cbor-x's decoder, vendored (see vendor/README.md): the npm package's optional native extension is not needed
// here, and its platform packages would have to resolve before any program could import telebus.
// @deno-types="../vendor/cbor-x/decode.d.ts"
import { addExtension, Decoder } from "../vendor/cbor-x/decode.js";
import { ENVELOPE_DEPTH, MAX_DEPTH, RecordLimitError } from "../core/limits.ts";
import { concatBytes } from "../core/bytes.ts";
import { MsgpackError } from "./msgpack_error.ts";

export { MsgpackError };

/** How deep a whole message may nest: a record's limit plus the levels a MoaT message wraps around it. */
const MESSAGE_DEPTH = MAX_DEPTH + ENVELOPE_DEPTH;

/** A MoaT `Path` (tag 39): a sequence of path elements such as `["sys", "ping"]`. */
export class Path {
  /**
   * Wraps the elements.
   *
   * @param elements the path's elements (strings, numbers, …)
   */
  constructor(readonly elements: readonly unknown[]) {}
  /** Shows the path as MoaT prints it (`:sys:ping`-like, joined by `.`). */
  toString(): string {
    return this.elements.map(String).join(".");
  }
}

/** A MoaT proxy (tag 32769): a name that stands for an object the peer knows. */
export class MoatProxy {
  /**
   * Wraps the name.
   *
   * @param name the proxy's name
   */
  constructor(readonly name: string) {}
}

/** A MoaT object or exception (tag 27): a class name, its arguments and optional keywords. */
export class MoatObject {
  /**
   * Wraps the parts.
   *
   * @param name class name, e.g. `ValueError`
   * @param args positional arguments
   * @param kw keyword arguments, if any
   */
  constructor(readonly name: string, readonly args: readonly unknown[], readonly kw?: Record<string, unknown>) {}
}

/** A tag this codec does not know: kept as tag number and value, and written back unchanged. */
export class CborTag {
  /**
   * Wraps tag and value.
   *
   * @param tag the tag number
   * @param value the tagged value
   */
  constructor(readonly tag: number, readonly value: unknown) {}
}

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

/** True for a plain dictionary (not an array, bytes, date or tagged value). */
export function isPlainDict(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== "object") return false;
  const p = Object.getPrototypeOf(v);
  return p === Object.prototype || p === null;
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

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

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

/** A growing output buffer for the encoder. */
class Writer {
  buf = new Uint8Array(256);
  view = new DataView(this.buf.buffer);
  pos = 0;
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const b = new Uint8Array(size);
    b.set(this.buf.subarray(0, this.pos));
    this.buf = b;
    this.view = new DataView(b.buffer);
  }
  /** Writes a major type with its argument in the shortest form, as every CBOR encoder does. */
  head(major: number, n: number | bigint): void {
    this.ensure(9);
    const m = major << 5;
    if (typeof n === "bigint" || n > 0xffffffff) {
      const b = BigInt(n);
      if (b <= 0xffffffffn) return this.head(major, Number(b));
      this.buf[this.pos++] = m | 27;
      this.view.setBigUint64(this.pos, b);
      this.pos += 8;
    } else if (n < 24) {
      this.buf[this.pos++] = m | n;
    } else if (n < 0x100) {
      this.buf[this.pos++] = m | 24;
      this.buf[this.pos++] = n;
    } else if (n < 0x10000) {
      this.buf[this.pos++] = m | 25;
      this.view.setUint16(this.pos, n);
      this.pos += 2;
    } else {
      this.buf[this.pos++] = m | 26;
      this.view.setUint32(this.pos, n);
      this.pos += 4;
    }
  }
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
}

const textEncoder = new TextEncoder();
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
      w.ensure(9);
      w.buf[w.pos++] = 0xfb;
      w.view.setFloat64(w.pos, v);
      w.pos += 8;
      return;
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

function bigToBytes(v: bigint): Uint8Array {
  let hex = v.toString(16);
  if (hex.length % 2) hex = "0" + hex;
  const b = new Uint8Array(hex.length / 2);
  for (let i = 0; i < b.length; i++) b[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return b;
}

// ---- The MessagePack variant of older MoaT -------------------------------------------------------------
//
// Plain MessagePack plus ext types: 2 bignum (big-endian, non-negative), 3 Path (its elements,
// MessagePack-encoded back to back), 4 proxy (UTF-8 name), 5 object (name and state, back to back), 6 marked
// Path (decoded as a Path). The ext types make
// msgpackr's global extension table unsuitable (it would change every other MessagePack reader of telebus),
// so the variant has its own small coder here.

/** Ext type numbers of MoaT's MessagePack variant. */
export const MOAT_MSGPACK_EXT = { bignum: 2, path: 3, proxy: 4, object: 5, markedPath: 6 } as const;

/** Encodes `value` as MoaT's MessagePack variant (floats as float64, integers in the smallest form). */
export function encodeMoatMsgpack(value: unknown): Uint8Array {
  const w = new Writer();
  mpWrite(w, value, 0);
  return w.buf.slice(0, w.pos);
}

function mpByte(w: Writer, ...b: number[]): void {
  w.ensure(b.length);
  for (const x of b) w.buf[w.pos++] = x;
}

function mpUint(w: Writer, n: number, bytes: 1 | 2 | 4): void {
  w.ensure(bytes);
  if (bytes === 1) w.buf[w.pos] = n;
  else if (bytes === 2) w.view.setUint16(w.pos, n);
  else w.view.setUint32(w.pos, n);
  w.pos += bytes;
}

function mpHead(
  w: Writer,
  n: number,
  fix: number | undefined,
  fixMax: number,
  c8: number | undefined,
  c16: number,
  c32: number,
) {
  if (fix !== undefined && n <= fixMax) return mpByte(w, fix | n);
  if (c8 !== undefined && n < 0x100) return mpByte(w, c8, n);
  if (n < 0x10000) {
    mpByte(w, c16);
    return mpUint(w, n, 2);
  }
  mpByte(w, c32);
  mpUint(w, n, 4);
}

function mpExt(w: Writer, type: number, data: Uint8Array): void {
  const n = data.length;
  const fix: Record<number, number> = { 1: 0xd4, 2: 0xd5, 4: 0xd6, 8: 0xd7, 16: 0xd8 };
  if (fix[n]) mpByte(w, fix[n], type);
  else {
    mpHead(w, n, undefined, -1, 0xc7, 0xc8, 0xc9);
    mpByte(w, type);
  }
  w.bytes(data);
}

function mpWrite(w: Writer, v: unknown, depth: number): void {
  if (depth > MESSAGE_DEPTH) throw new RecordLimitError("too_deep", "MessagePack: value nested too deeply");
  if (v === null || v === undefined) return mpByte(w, 0xc0);
  switch (typeof v) {
    case "boolean":
      return mpByte(w, v ? 0xc3 : 0xc2);
    case "number":
      if (Number.isSafeInteger(v) && !Object.is(v, -0)) return mpInt(w, BigInt(v));
      w.ensure(9);
      w.buf[w.pos++] = 0xcb;
      w.view.setFloat64(w.pos, v);
      w.pos += 8;
      return;
    case "bigint":
      if (v >= -(1n << 63n) && v < 1n << 64n) return mpInt(w, v);
      if (v < 0n) throw new RangeError("MessagePack: negative integers beyond 64 bits are not supported");
      return mpExt(w, MOAT_MSGPACK_EXT.bignum, bigToBytes(v));
    case "string": {
      const b = textEncoder.encode(v);
      mpHead(w, b.length, 0xa0, 31, 0xd9, 0xda, 0xdb);
      return w.bytes(b);
    }
    case "object":
      break;
    default:
      throw new TypeError(`MessagePack: cannot encode a ${typeof v}`);
  }
  if (Array.isArray(v)) {
    mpHead(w, v.length, 0x90, 15, undefined, 0xdc, 0xdd);
    for (const x of v) mpWrite(w, x, depth + 1);
    return;
  }
  if (v instanceof Uint8Array) {
    mpHead(w, v.length, undefined, -1, 0xc4, 0xc5, 0xc6);
    return w.bytes(v);
  }
  if (v instanceof Path) return mpExt(w, MOAT_MSGPACK_EXT.path, concatBytes(v.elements.map(encodeMoatMsgpack)));
  if (v instanceof MoatProxy) return mpExt(w, MOAT_MSGPACK_EXT.proxy, textEncoder.encode(v.name));
  if (v instanceof MoatObject) {
    const state = v.kw ? [...v.args, v.kw] : v.args;
    return mpExt(w, MOAT_MSGPACK_EXT.object, concatBytes([v.name, ...state].map(encodeMoatMsgpack)));
  }
  const entries = v instanceof Map ? [...v] : Object.entries(v).filter(([, x]) => x !== undefined);
  mpHead(w, entries.length, 0x80, 15, undefined, 0xde, 0xdf);
  for (const [k, x] of entries) {
    mpWrite(w, k, depth + 1);
    mpWrite(w, x, depth + 1);
  }
}

function mpInt(w: Writer, n: bigint): void {
  if (n >= 0n) {
    if (n < 128n) return mpByte(w, Number(n));
    if (n < 0x100n) return mpByte(w, 0xcc, Number(n));
    if (n < 0x10000n) {
      mpByte(w, 0xcd);
      return mpUint(w, Number(n), 2);
    }
    if (n < 0x100000000n) {
      mpByte(w, 0xce);
      return mpUint(w, Number(n), 4);
    }
    mpByte(w, 0xcf);
    w.ensure(8);
    w.view.setBigUint64(w.pos, n);
    w.pos += 8;
    return;
  }
  if (n >= -32n) return mpByte(w, Number(n) & 0xff);
  if (n >= -128n) return mpByte(w, 0xd0, Number(n) & 0xff);
  if (n >= -32768n) {
    mpByte(w, 0xd1);
    w.ensure(2);
    w.view.setInt16(w.pos, Number(n));
    w.pos += 2;
    return;
  }
  if (n >= -2147483648n) {
    mpByte(w, 0xd2);
    w.ensure(4);
    w.view.setInt32(w.pos, Number(n));
    w.pos += 4;
    return;
  }
  mpByte(w, 0xd3);
  w.ensure(8);
  w.view.setBigInt64(w.pos, n);
  w.pos += 8;
}

/** Raised by {@linkcode decodeMoatMsgpackAt} when the bytes end inside a value. */
export class MsgpackIncomplete extends Error {
  /** Creates the error. */
  constructor() {
    super("MessagePack data ends inside a value");
    this.name = "MsgpackIncomplete";
  }
}

const textDecoder = new TextDecoder("utf-8", { fatal: true });

/** UTF-8 text of a str (or proxy name) at `at`; invalid UTF-8 is bad MessagePack, not a TypeError. */
function utf8At(bytes: Uint8Array, at: number): string {
  try {
    return textDecoder.decode(bytes);
  } catch {
    throw new MsgpackError(`bad MessagePack: invalid UTF-8 in the string at ${at}`, at);
  }
}

/**
 * Decodes one value of MoaT's MessagePack variant at `start`; returns it and
 * where it ended. Throws {@linkcode MsgpackIncomplete} when cut off,
 * {@linkcode MsgpackError} for bytes that are not MessagePack.
 */
export function decodeMoatMsgpackAt(b: Uint8Array, start = 0): { value: unknown; end: number } {
  return decodeMoatMsgpack(b, start, 0);
}

/** {@linkcode decodeMoatMsgpackAt} at a nesting depth: values inside an ext count towards the depth limit too. */
function decodeMoatMsgpack(b: Uint8Array, start: number, outerDepth: number): { value: unknown; end: number } {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let p = start;
  const need = (n: number) => {
    if (p + n > b.length) throw new MsgpackIncomplete();
  };
  const str = (n: number) => {
    need(n);
    const s = utf8At(b.subarray(p, p + n), p);
    p += n;
    return s;
  };
  const bin = (n: number) => {
    need(n);
    const s = b.slice(p, p + n);
    p += n;
    return s;
  };
  const u = (n: 1 | 2 | 4) => {
    need(n);
    const v = n === 1 ? b[p] : n === 2 ? view.getUint16(p) : view.getUint32(p);
    p += n;
    return v;
  };
  const ext = (n: number, depth: number): unknown => {
    need(1 + n);
    const type = view.getInt8(p++);
    const data = b.subarray(p, p + n);
    p += n;
    const all = (): unknown[] => {
      const out: unknown[] = [];
      for (let q = 0; q < data.length;) {
        try {
          const r = decodeMoatMsgpack(data, q, depth + 1);
          out.push(r.value);
          q = r.end;
        } catch (e) {
          // The ext's bytes are all there: a value cut off inside them is garbage, not "wait for more".
          throw e instanceof MsgpackIncomplete
            ? new MsgpackError(`bad MessagePack: ext ${type} holds a cut-off value`, start)
            : e;
        }
      }
      return out;
    };
    switch (type) {
      case MOAT_MSGPACK_EXT.bignum: {
        let v = 0n;
        for (const x of data) v = (v << 8n) | BigInt(x);
        return v;
      }
      case MOAT_MSGPACK_EXT.path:
      case MOAT_MSGPACK_EXT.markedPath:
        return new Path(all());
      case MOAT_MSGPACK_EXT.proxy:
        return new MoatProxy(utf8At(data, p - n));
      case MOAT_MSGPACK_EXT.object: {
        const [name, ...state] = all();
        const last = state[state.length - 1];
        const kw = state.length && isPlainDict(last) ? last : undefined;
        return new MoatObject(String(name), kw ? state.slice(0, -1) : state, kw);
      }
      default:
        return new CborTag(type, data.slice());
    }
  };
  const read = (depth: number): unknown => {
    if (depth > MESSAGE_DEPTH) throw new MsgpackError("bad MessagePack: nested too deeply", p);
    need(1);
    const c = b[p++];
    if (c < 0x80) return c;
    if (c >= 0xe0) return c - 0x100;
    if ((c & 0xf0) === 0x80) return map(c & 0x0f, depth);
    if ((c & 0xf0) === 0x90) return arr(c & 0x0f, depth);
    if ((c & 0xe0) === 0xa0) return str(c & 0x1f);
    switch (c) {
      case 0xc0:
        return null;
      case 0xc2:
        return false;
      case 0xc3:
        return true;
      case 0xc4:
        return bin(u(1));
      case 0xc5:
        return bin(u(2));
      case 0xc6:
        return bin(u(4));
      case 0xc7:
        return ext(u(1), depth);
      case 0xc8:
        return ext(u(2), depth);
      case 0xc9:
        return ext(u(4), depth);
      case 0xca: {
        need(4);
        const v = view.getFloat32(p);
        p += 4;
        return v;
      }
      case 0xcb: {
        need(8);
        const v = view.getFloat64(p);
        p += 8;
        return v;
      }
      case 0xcc:
        return u(1);
      case 0xcd:
        return u(2);
      case 0xce:
        return u(4);
      case 0xcf: {
        need(8);
        const v = view.getBigUint64(p);
        p += 8;
        return v <= MAX_SAFE ? Number(v) : v;
      }
      case 0xd0:
        need(1);
        return view.getInt8(p++);
      case 0xd1: {
        need(2);
        const v = view.getInt16(p);
        p += 2;
        return v;
      }
      case 0xd2: {
        need(4);
        const v = view.getInt32(p);
        p += 4;
        return v;
      }
      case 0xd3: {
        need(8);
        const v = view.getBigInt64(p);
        p += 8;
        return v >= -MAX_SAFE && v <= MAX_SAFE ? Number(v) : v;
      }
      case 0xd4:
        return ext(1, depth);
      case 0xd5:
        return ext(2, depth);
      case 0xd6:
        return ext(4, depth);
      case 0xd7:
        return ext(8, depth);
      case 0xd8:
        return ext(16, depth);
      case 0xd9:
        return str(u(1));
      case 0xda:
        return str(u(2));
      case 0xdb:
        return str(u(4));
      case 0xdc:
        return arr(u(2), depth);
      case 0xdd:
        return arr(u(4), depth);
      case 0xde:
        return map(u(2), depth);
      case 0xdf:
        return map(u(4), depth);
    }
    throw new MsgpackError(`bad MessagePack: byte 0x${c.toString(16)} at ${p - 1}`, p - 1);
  };
  const arr = (n: number, depth: number) => {
    const a: unknown[] = [];
    for (let i = 0; i < n; i++) a.push(read(depth + 1));
    return a;
  };
  const map = (n: number, depth: number) => {
    const o: Record<string, unknown> = {};
    for (let i = 0; i < n; i++) {
      const k = read(depth + 1);
      const key = typeof k === "string" ? k : String(k);
      // A "__proto__" key must stay data, not replace the object's prototype.
      Object.defineProperty(o, key, { value: read(depth + 1), enumerable: true, writable: true, configurable: true });
    }
    return o;
  };
  const value = read(outerDepth);
  return { value, end: p };
}
