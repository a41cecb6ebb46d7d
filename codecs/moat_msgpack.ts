/**
 * The MessagePack variant of older MoaT: plain MessagePack plus ext types
 * for MoaT's values (codecs/moat_values.ts). Not msgpackr: its global
 * extension table would change every other MessagePack reader of telebus.
 *
 * @module
 */
import { RecordLimitError } from "../core/limits.ts";
import { concatBytes } from "../core/bytes.ts";
import { MsgpackError } from "./msgpack_error.ts";
import { CborTag, isPlainDict, MoatObject, MoatProxy, Path } from "./moat_values.ts";
import { bigToBytes, MAX_SAFE, MESSAGE_DEPTH, textEncoder, Writer } from "./moat_writer.ts";

export { MsgpackError };

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
      return w.float64(0xcb, v);
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
