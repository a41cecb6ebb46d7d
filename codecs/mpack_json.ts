/**
 * MessagePack straight to JSON text, for `dump` and `list` on large logs: the
 * bytes of a record are walked once and its Python-style JSON (what
 * {@linkcode toJson} prints with `style: "python"` for the decoded record) is
 * written into a reused byte buffer, without building the record's objects or
 * any string on the way. Map keys are interned once per distinct key
 * ({@linkcode KeyTable}), so a log whose records share their keys costs a
 * hash lookup per key.
 *
 * The fast path covers what telemetry logs hold (string keys, numbers, text,
 * bytes, lists, maps). Anything whose decoded form a byte walk cannot predict
 * exactly makes it give up on the record, and the caller decodes it instead:
 * keys JavaScript objects reorder or rename (array indices such as `"1"`,
 * `__proto__`), duplicate keys, keys that are not text, text that is not
 * well-formed UTF-8 (decoders differ in how they replace it), timestamps,
 * and records of more than {@linkcode FAST_MAX_RECORD} bytes. No MessagePack
 * library writes JSON from the bytes, hence this file.
 *
 * @module
 */
import { type FloatText, floatText } from "./float_text.ts";
import { formatNumberPython } from "./json.ts";
import { keyId, KeyTable, nextMapSeq, readKey, useTable } from "./mpack_keys.ts";

export { KeyTable } from "./mpack_keys.ts";
export { collectRecordPaths, type PathNode } from "./mpack_paths.ts";

/** Records larger than this are left to the decoder (the output buffer is sized by the record). */
export const FAST_MAX_RECORD = 4 * 1024 * 1024;

/** A growable byte buffer that output is appended to and that is reused after each flush. */
export class ByteBuffer {
  /** The storage; valid bytes are `[0, length)`. Replaced when it grows. */
  bytes: Uint8Array;
  /** Bytes written. */
  length = 0;

  /**
   * Creates a buffer.
   * @param capacity initial size in bytes
   */
  constructor(capacity = 1 << 20) {
    this.bytes = new Uint8Array(capacity);
  }

  /** Makes room for `n` more bytes. */
  reserve(n: number): void {
    const need = this.length + n;
    if (need <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(need, this.bytes.length * 2));
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
  }
}

// The writer's state lives in module variables (one record at a time, never re-entered): passing it around
// costs more than the work per value.
let out: Uint8Array = new Uint8Array(0);
let op = 0;
/** The whole buffer the record being walked lies in. */
let src: Uint8Array = new Uint8Array(0);
let view: DataView = new DataView(new ArrayBuffer(8));
let keys: KeyTable;

const HEX = new Uint8Array([48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 97, 98, 99, 100, 101, 102]);
const B64 = new TextEncoder().encode("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
const BIN_OPEN = new TextEncoder().encode('{"$bin": "');
const digits = new Uint8Array(24);

function ascii(s: string): void {
  for (let i = 0; i < s.length; i++) out[op++] = s.charCodeAt(i);
}

/** A safe integer, exactly (digits, no exponent). */
function writeInt(v: number): void {
  if (v < 0) {
    out[op++] = 0x2d;
    v = -v;
  }
  if (v < 10) {
    out[op++] = 48 + v;
    return;
  }
  let n = 0;
  if (v > 0x7fffffff) {
    // Not String(v): V8 caches its results in the old generation (see writeNumber of json.ts). Below 2^53, v / 10 is never within half a unit of the next integer, so the
    // floor is exact.
    while (v > 0x7fffffff) {
      const q = Math.floor(v / 10);
      digits[n++] = 48 + v - q * 10;
      v = q;
    }
  }
  while (v > 0) {
    const q = (v / 10) | 0;
    digits[n++] = 48 + v - q * 10;
    v = q;
  }
  while (n > 0) out[op++] = digits[--n];
}

/** The float writer and the memory records are built in (see {@linkcode appendRecordJson}). */
let ft: FloatText | undefined;

/** A float as {@linkcode toJson} prints it in the python style. */
function writeFloat(v: number): void {
  if (v === (v | 0)) {
    if (v === 0 && 1 / v < 0) ascii("-0.0");
    else writeInt(v);
    return;
  }
  const a = v < 0 ? -v : v;
  // What String(v) prints, written in place (toJson prints JSON.stringify(v), the same text, on this range).
  if (a >= 1e-4 && a < 1e16) op = fixed(v, op);
  else if (v !== v || a === Infinity) ascii("null");
  else ascii(formatNumberPython(v));
}

/** {@linkcode FloatText.fixed}, as a module variable (a property load per float costs). */
let fixed: (v: number, at: number) => number = () => 0;

function writeU16Escape(c: number): void {
  out[op++] = 0x5c;
  out[op++] = 0x75;
  out[op++] = HEX[(c >> 12) & 15];
  out[op++] = HEX[(c >> 8) & 15];
  out[op++] = HEX[(c >> 4) & 15];
  out[op++] = HEX[c & 15];
}

/**
 * A string from UTF-8 bytes, as JSON.stringify escapes it plus Python's
 * ensure_ascii (every unit past `~` as `\uXXXX`). -1 for malformed UTF-8.
 */
function writeStr(b: Uint8Array, s: number, end: number): number {
  out[op++] = 0x22;
  for (let i = s; i < end;) {
    const c = b[i];
    if (c >= 0x20 && c < 0x7f) {
      if (c === 0x22 || c === 0x5c) out[op++] = 0x5c;
      out[op++] = c;
      i++;
      continue;
    }
    if (c < 0x80) {
      out[op++] = 0x5c;
      if (c === 0x08) out[op++] = 0x62;
      else if (c === 0x09) out[op++] = 0x74;
      else if (c === 0x0a) out[op++] = 0x6e;
      else if (c === 0x0c) out[op++] = 0x66;
      else if (c === 0x0d) out[op++] = 0x72;
      else {
        op--;
        writeU16Escape(c);
      }
      i++;
      continue;
    }
    // Multi-byte UTF-8, strictly (no overlong forms, surrogates or code points past U+10FFFF).
    let n: number;
    let min: number;
    if (c >= 0xc2 && c <= 0xdf) n = 1, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef) n = 2, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4) n = 3, min = 0x10000;
    else return -1;
    if (i + n >= end) return -1; // cut short
    let cp = c & (0x3f >> n);
    for (let k = 1; k <= n; k++) {
      const d = b[i + k];
      if ((d & 0xc0) !== 0x80) return -1;
      cp = (cp << 6) | (d & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return -1;
    if (cp >= 0x10000) {
      cp -= 0x10000;
      writeU16Escape(0xd800 + (cp >> 10));
      writeU16Escape(0xdc00 + (cp & 0x3ff));
    } else writeU16Escape(cp);
    i += n + 1;
  }
  out[op++] = 0x22;
  return 0;
}

function writeBin(p: number, n: number): number {
  for (let i = 0; i < BIN_OPEN.length; i++) out[op++] = BIN_OPEN[i];
  const b = src;
  const end = p + n;
  let i = p;
  for (; i + 3 <= end; i += 3) {
    const x = (b[i] << 16) | (b[i + 1] << 8) | b[i + 2];
    out[op++] = B64[x >> 18];
    out[op++] = B64[(x >> 12) & 63];
    out[op++] = B64[(x >> 6) & 63];
    out[op++] = B64[x & 63];
  }
  if (i < end) {
    const two = i + 1 < end;
    const x = (b[i] << 16) | (two ? b[i + 1] << 8 : 0);
    out[op++] = B64[x >> 18];
    out[op++] = B64[(x >> 12) & 63];
    out[op++] = two ? B64[(x >> 6) & 63] : 0x3d;
    out[op++] = 0x3d;
  }
  out[op++] = 0x22;
  out[op++] = 0x7d;
  return end;
}

function u32(p: number): number {
  return ((src[p] << 24) >>> 0) + ((src[p + 1] << 16) | (src[p + 2] << 8) | src[p + 3]);
}

/** Writes the value at `p`; returns its end, or -1 to give the record up. */
function writeValue(p: number, depth: number): number {
  const b = src;
  const t = b[p];
  if (t < 0x80) {
    writeInt(t);
    return p + 1;
  }
  if (t >= 0xe0) {
    writeInt(t - 256);
    return p + 1;
  }
  if (t <= 0x8f) return writeMap(p + 1, t & 0x0f, depth);
  if (t <= 0x9f) return writeArray(p + 1, t & 0x0f, depth);
  if (t <= 0xbf) {
    const s = p + 1;
    const end = s + (t & 0x1f);
    return writeStr(b, s, end) < 0 ? -1 : end;
  }
  switch (t) {
    case 0xc0:
      ascii("null");
      return p + 1;
    case 0xc2:
      ascii("false");
      return p + 1;
    case 0xc3:
      ascii("true");
      return p + 1;
    case 0xc4:
      return writeBin(p + 2, b[p + 1]);
    case 0xc5:
      return writeBin(p + 3, (b[p + 1] << 8) | b[p + 2]);
    case 0xc6:
      return writeBin(p + 5, u32(p + 1));
    case 0xca:
      writeFloat(view.getFloat32(p + 1));
      return p + 5;
    case 0xcb:
      writeFloat(view.getFloat64(p + 1));
      return p + 9;
    case 0xcc:
      writeInt(b[p + 1]);
      return p + 2;
    case 0xcd:
      writeInt((b[p + 1] << 8) | b[p + 2]);
      return p + 3;
    case 0xce:
      writeInt(u32(p + 1));
      return p + 5;
    case 0xcf: {
      const hi = u32(p + 1);
      if (hi < 0x200000) writeInt(hi * 4294967296 + u32(p + 5));
      else ascii(view.getBigUint64(p + 1).toString());
      return p + 9;
    }
    case 0xd0:
      writeInt(view.getInt8(p + 1));
      return p + 2;
    case 0xd1:
      writeInt(view.getInt16(p + 1));
      return p + 3;
    case 0xd2:
      writeInt(view.getInt32(p + 1));
      return p + 5;
    case 0xd3: {
      const hi = view.getInt32(p + 1);
      if (hi >= -0x200000 && hi < 0x200000) writeInt(hi * 4294967296 + u32(p + 5));
      else ascii(view.getBigInt64(p + 1).toString());
      return p + 9;
    }
    case 0xd9: {
      const s = p + 2;
      const end = s + b[p + 1];
      return writeStr(b, s, end) < 0 ? -1 : end;
    }
    case 0xda: {
      const s = p + 3;
      const end = s + ((b[p + 1] << 8) | b[p + 2]);
      return writeStr(b, s, end) < 0 ? -1 : end;
    }
    case 0xdb: {
      const s = p + 5;
      const end = s + u32(p + 1);
      return writeStr(b, s, end) < 0 ? -1 : end;
    }
    case 0xdc:
      return writeArray(p + 3, (b[p + 1] << 8) | b[p + 2], depth);
    case 0xdd:
      return writeArray(p + 5, u32(p + 1), depth);
    case 0xde:
      return writeMap(p + 3, (b[p + 1] << 8) | b[p + 2], depth);
    case 0xdf:
      return writeMap(p + 5, u32(p + 1), depth);
    default: // timestamps (decoded as dates) and whatever else the decoder has an opinion on
      return -1;
  }
}

function writeArray(p: number, n: number, depth: number): number {
  const d = out;
  const b = src;
  let o = op;
  d[o++] = 0x5b;
  for (let i = 0; i < n; i++) {
    if (i > 0) {
      d[o++] = 0x2c;
      d[o++] = 0x20;
    }
    // Lists of floats (vectors, samples) as in writeMap.
    if (b[p] === 0xcb) {
      const v = view.getFloat64(p + 1);
      const a = v < 0 ? -v : v;
      if (a >= 1e-4 && a < 1e16 && v !== (v | 0)) {
        o = fixed(v, o);
        p += 9;
        continue;
      }
    }
    op = o;
    p = writeValue(p, depth + 1);
    if (p < 0) return -1;
    o = op;
  }
  d[o++] = 0x5d;
  op = o;
  return p;
}

function writeMap(p: number, n: number, depth: number): number {
  // The output position is kept in a local between calls: a module variable is loaded and stored at every byte.
  const d = out;
  let o = op;
  d[o++] = 0x7b;
  const seq = nextMapSeq();
  const b = src;
  const json = keys.json;
  let prev = -1;
  for (let i = 0; i < n; i++) {
    if (i > 0) {
      d[o++] = 0x2c;
      d[o++] = 0x20;
    }
    p = readKey(b, keys, p, depth, seq, prev);
    if (p < 0) return -1;
    prev = keyId;
    const k = json[keyId];
    for (let j = 0; j < k.length; j++) d[o++] = k[j];
    // Telemetry's usual value, a float64 printed by String, is written here; the rest by writeValue.
    if (b[p] === 0xcb) {
      const v = view.getFloat64(p + 1);
      const a = v < 0 ? -v : v;
      if (a >= 1e-4 && a < 1e16 && v !== (v | 0)) {
        o = fixed(v, o);
        p += 9;
        continue;
      }
    }
    op = o;
    p = writeValue(p, depth + 1);
    if (p < 0) return -1;
    o = op;
  }
  d[o++] = 0x7d;
  op = o;
  return p;
}

/** Starts a record in `b`; returns the offset of `b` in the buffer the walk reads (positions are shifted by it). */
function begin(b: Uint8Array, table: KeyTable): number {
  useTable(table);
  keys = table;
  // Records are views into one read buffer: one view of the whole buffer serves them all.
  if (src.buffer !== b.buffer) {
    src = new Uint8Array(b.buffer);
    view = new DataView(b.buffer);
  }
  return b.byteOffset;
}

const defaultKeys = new KeyTable();

/**
 * Appends the JSON text of the record (a map) at `b[p, e)` and a newline to
 * `sink`, as `toJson(decodeMsgpack(b, p, e), { style: "python" }) + "\n"`
 * would. Returns false, with nothing appended, when the record needs the
 * decoder (see the module documentation). The bytes must have passed the
 * `.mpack` reader's structural check.
 */
export function appendRecordJson(
  sink: ByteBuffer,
  b: Uint8Array,
  p: number,
  e: number,
  table: KeyTable = defaultKeys,
): boolean {
  if (e - p > FAST_MAX_RECORD) return false;
  const base = begin(b, table);
  p += base;
  e += base;
  // The record is built in the float writer's memory, where floats are written in place, and then copied to
  // the sink. Its JSON text is at most 8 times its MessagePack bytes (a 1-byte `false` list item prints `false, `).
  if (ft === undefined) {
    ft = floatText();
    fixed = ft.fixed;
  }
  ft.reserve(8 * (e - p) + 64);
  out = ft.bytes;
  const start = ft.start;
  op = start;
  const end = writeValue(p, 0);
  if (end !== e) {
    out = EMPTY;
    return false;
  }
  out[op++] = 0x0a;
  const n = op - start;
  sink.reserve(n);
  sink.bytes.set(out.subarray(start, op), sink.length);
  sink.length += n;
  out = EMPTY;
  return true;
}

const EMPTY = new Uint8Array(0);
