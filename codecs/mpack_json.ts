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
import { formatNumberPython } from "./json.ts";

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

/** Distinct keys kept before the table starts over (bounds its memory on logs with ever new keys). */
const MAX_KEYS = 16384;
/** Keys longer than this are not interned: the record is left to the decoder. */
const MAX_KEY_BYTES = 256;
const SLOTS = 32768; // a power of two, twice MAX_KEYS
const ARENA_BYTES = 1 << 20;

let generations = 0;
const INDEX_LIKE = /^(?:0|[1-9][0-9]*)$/;
const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Map keys seen so far, by their bytes: each gets a small id, its text and its
 * JSON form (`"key": `). Keys that a decoded JavaScript object would reorder
 * or rename, or that are not well-formed UTF-8, are marked unusable.
 */
export class KeyTable {
  #slots = new Int32Array(SLOTS); // id + 1; 0 is empty
  #hash = new Int32Array(MAX_KEYS);
  #start = new Int32Array(MAX_KEYS);
  #len = new Int32Array(MAX_KEYS);
  #arena = new Uint8Array(ARENA_BYTES);
  #arenaUsed = 0;
  /** Number of keys interned. */
  count = 0;
  /** JSON form of each key, with the separator after it (`"key": `). */
  readonly json: Uint8Array[] = [];
  /** Text of each key. */
  readonly text: string[] = [];
  /** 1 when the key can take the fast path. */
  readonly usable = new Uint8Array(MAX_KEYS);
  /** Set when the table is full: {@linkcode KeyTable.clear} must run before the next record. */
  full = false;

  /**
   * Tells the table's ids apart from those of other tables and of its own
   * past (before {@linkcode KeyTable.clear}): unique among all tables.
   */
  generation: number = ++generations;

  /** Forgets every key (between records only: ids of the current record would be reused). */
  clear(): void {
    this.generation = ++generations;
    this.#slots.fill(0);
    this.#next.fill(0);
    this.#arenaUsed = 0;
    this.count = 0;
    this.json.length = 0;
    this.text.length = 0;
    this.full = false;
  }

  /** For each key id + 1 (0: a map's first key), the id + 1 of the key that followed it last time. */
  #next = new Int32Array(MAX_KEYS + 1);

  /**
   * {@linkcode KeyTable.id} for a key that follows the key `prev` (-1 for the
   * first key of a map): records of one writer repeat their keys in the same
   * order, so the key that followed `prev` last time is compared first, and
   * the hash is computed only when it is another one.
   */
  idAfter(prev: number, b: Uint8Array, s: number, len: number): number {
    const guess = this.#next[prev + 1] - 1;
    if (guess >= 0 && this.#len[guess] === len) {
      const arena = this.#arena;
      let a = this.#start[guess];
      let i = s;
      const e = s + len;
      while (i < e && arena[a] === b[i]) a++, i++;
      if (i === e) return guess;
    }
    const id = this.id(b, s, len);
    if (id >= 0) this.#next[prev + 1] = id + 1;
    return id;
  }

  /** The id of the key `b[s, s + len)`, interning it; -1 when the table is full or the key too long. */
  id(b: Uint8Array, s: number, len: number): number {
    if (len > MAX_KEY_BYTES) return -1;
    let h = 0x811c9dc5 ^ len;
    const e = s + len;
    for (let i = s; i < e; i++) h = Math.imul(h ^ b[i], 16777619);
    const mask = SLOTS - 1;
    const arena = this.#arena;
    for (let slot = h & mask;; slot = (slot + 1) & mask) {
      const v = this.#slots[slot];
      if (v === 0) return this.#add(b, s, len, h, slot);
      const id = v - 1;
      if (this.#hash[id] !== h || this.#len[id] !== len) continue;
      let a = this.#start[id];
      let i = s;
      while (i < e && arena[a] === b[i]) a++, i++;
      if (i === e) return id;
    }
  }

  #add(b: Uint8Array, s: number, len: number, h: number, slot: number): number {
    if (this.count >= MAX_KEYS || this.#arenaUsed + len > ARENA_BYTES) {
      this.full = true;
      return -1;
    }
    const id = this.count++;
    this.#arena.set(b.subarray(s, s + len), this.#arenaUsed);
    this.#start[id] = this.#arenaUsed;
    this.#arenaUsed += len;
    this.#len[id] = len;
    this.#hash[id] = h;
    this.#slots[slot] = id + 1;
    let text = "";
    let ok = true;
    try {
      text = utf8.decode(b.subarray(s, s + len));
    } catch {
      ok = false; // not UTF-8: the decoder's replacement characters decide
    }
    // Array indices come first in a JavaScript object whatever their place in the record; msgpackr renames
    // __proto__.
    if (ok && ((INDEX_LIKE.test(text) && Number(text) < 4294967295) || text === "__proto__")) ok = false;
    this.text.push(text);
    // The key as JSON text, with ": " after it: the whole writer run on the key's bytes.
    const saved = out;
    const savedPos = op;
    const scratch = new Uint8Array(len * 12 + 8);
    out = scratch;
    op = 0;
    if (ok && writeStr(b, s, s + len) < 0) ok = false;
    out[op++] = 0x3a;
    out[op++] = 0x20;
    this.json.push(scratch.slice(0, op));
    out = saved;
    op = savedPos;
    this.usable[id] = ok ? 1 : 0;
    return id;
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
/** Per nesting depth, the number of the map that last used each key id (duplicate keys). */
const stamps: Int32Array[] = [];
let mapSeq = 0;

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
    // Not String(v): see floatBytes. Below 2^53, v / 10 is never within half a unit of the next integer, so the
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

/**
 * The shortest round-trip text of the record's floats, printed by one
 * `JSON.stringify` of all of them (see {@linkcode scanFloats}): `String(v)`
 * per float puts every result in V8's number-to-string cache, allocated in
 * the old generation, which then grows by megabytes between collections.
 * `JSON.stringify` formats numbers as `String` does, without the cache.
 */
let floatBytes = new Uint8Array(1024);
let floatPos = 0;
/** Reused arrays of floats, by count (a record's floats are stringified as one array of exactly that length). */
const floatArrays: number[][] = [];
const MAX_FLOATS = 4096;
let floatCount = 0;

/** True for the floats whose text comes from {@linkcode floatBytes}: not whole, finite, printed in fixed notation. */
function needsText(v: number): boolean {
  if (v === (v | 0)) return false;
  const a = v < 0 ? -v : v;
  return a >= 1e-4 && a < 1e16;
}

/** A float as {@linkcode toJson} prints it in the python style. */
function writeFloat(v: number): void {
  if (v === (v | 0)) {
    if (v === 0 && 1 / v < 0) ascii("-0.0");
    else writeInt(v);
    return;
  }
  const a = v < 0 ? -v : v;
  if (a >= 1e-4 && a < 1e16) {
    // The next number of floatBytes, up to its comma or closing bracket.
    const t = floatBytes;
    let i = floatPos;
    for (let c = t[i]; c !== 0x2c && c !== 0x5d; c = t[++i]) out[op++] = c;
    floatPos = i + 1;
  } else if (v !== v || a === Infinity) ascii("null");
  else ascii(formatNumberPython(v));
}

/**
 * Walks the (checked) value at `p` and collects, in order, the floats
 * {@linkcode writeFloat} takes from {@linkcode floatBytes}. Returns its end,
 * or -1 when there are more than {@linkcode MAX_FLOATS}.
 */
function scanFloats(p: number): number {
  const b = src;
  const t = b[p];
  if (t < 0x80 || t >= 0xe0) return p + 1;
  if (t <= 0x8f) return scanFloatsN(p + 1, (t & 0x0f) * 2);
  if (t <= 0x9f) return scanFloatsN(p + 1, t & 0x0f);
  if (t === 0xcb || t === 0xca) {
    const v = t === 0xcb ? view.getFloat64(p + 1) : view.getFloat32(p + 1);
    if (needsText(v)) {
      if (floatCount >= MAX_FLOATS) return -1;
      FLOAT_SCRATCH[floatCount++] = v;
    }
    return t === 0xcb ? p + 9 : p + 5;
  }
  if (t === 0xdc) return scanFloatsN(p + 3, (b[p + 1] << 8) | b[p + 2]);
  if (t === 0xdd) return scanFloatsN(p + 5, u32(p + 1));
  if (t === 0xde) return scanFloatsN(p + 3, ((b[p + 1] << 8) | b[p + 2]) * 2);
  if (t === 0xdf) return scanFloatsN(p + 5, u32(p + 1) * 2);
  return skip(p);
}

function scanFloatsN(p: number, n: number): number {
  for (let i = 0; i < n && p >= 0; i++) p = scanFloats(p);
  return p;
}

/** Collects and prints the floats of the record at `p`; false when it has too many. */
function prepareFloats(p: number): boolean {
  floatCount = 0;
  if (scanFloats(p) < 0) return false;
  floatPos = 1; // after "["
  if (floatCount === 0) return true;
  let arr = floatArrays[floatCount];
  if (arr === undefined) {
    arr = new Array<number>(floatCount).fill(0.5);
    if (floatCount <= 256) floatArrays[floatCount] = arr; // bounded: long lists of floats get a new array each time
  }
  for (let i = 0; i < floatCount; i++) arr[i] = FLOAT_SCRATCH[i];
  const text = JSON.stringify(arr);
  // Bytes are read faster than a string's characters; the text is ASCII.
  if (floatBytes.length < text.length) floatBytes = new Uint8Array(text.length * 2);
  textEncoder.encodeInto(text, floatBytes);
  return true;
}

const textEncoder = new TextEncoder();
const FLOAT_SCRATCH: number[] = new Array<number>(MAX_FLOATS).fill(0.5);

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
  out[op++] = 0x5b;
  for (let i = 0; i < n; i++) {
    if (i > 0) {
      out[op++] = 0x2c;
      out[op++] = 0x20;
    }
    p = writeValue(p, depth + 1);
    if (p < 0) return -1;
  }
  out[op++] = 0x5d;
  return p;
}

/** The key at `p`, following the key `prev` of the same map: sets `keyId` and returns the position of its value, or -1. */
let keyId = -1;
function readKey(p: number, depth: number, seq: number, prev: number): number {
  const b = src;
  const t = b[p];
  let s: number;
  let len: number;
  if (t >= 0xa0 && t <= 0xbf) s = p + 1, len = t & 0x1f;
  else if (t === 0xd9) s = p + 2, len = b[p + 1];
  else if (t === 0xda) s = p + 3, len = (b[p + 1] << 8) | b[p + 2];
  else return -1; // str 32 keys and keys that are not text: the decoder's business
  const id = keys.idAfter(prev, b, s, len);
  if (id < 0 || keys.usable[id] === 0) return -1;
  const stamp = stamps[depth] ??= new Int32Array(MAX_KEYS);
  if (stamp[id] === seq) return -1; // a duplicate key: the decoded object keeps one, in the first one's place
  stamp[id] = seq;
  keyId = id;
  return s + len;
}

function nextMapSeq(): number {
  if (mapSeq >= 0x7ffffff0) {
    mapSeq = 0;
    for (const s of stamps) s?.fill(0);
  }
  return ++mapSeq;
}

function writeMap(p: number, n: number, depth: number): number {
  out[op++] = 0x7b;
  const seq = nextMapSeq();
  let prev = -1;
  for (let i = 0; i < n; i++) {
    if (i > 0) {
      out[op++] = 0x2c;
      out[op++] = 0x20;
    }
    p = readKey(p, depth, seq, prev);
    if (p < 0) return -1;
    prev = keyId;
    const k = keys.json[keyId];
    for (let j = 0; j < k.length; j++) out[op++] = k[j];
    p = writeValue(p, depth + 1);
    if (p < 0) return -1;
  }
  out[op++] = 0x7d;
  return p;
}

/** Starts a record in `b`; returns the offset of `b` in the buffer the walk reads (positions are shifted by it). */
function begin(b: Uint8Array, table: KeyTable): number {
  if (table.full) {
    table.clear();
    for (const s of stamps) s?.fill(0);
  }
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
  // The JSON text of a value is at most 8 times its MessagePack bytes (a 1-byte `false` list item prints `false, `).
  sink.reserve(8 * (e - p) + 64);
  if (!prepareFloats(p)) return false;
  out = sink.bytes;
  op = sink.length;
  const end = writeValue(p, 0);
  if (end !== e) {
    out = EMPTY;
    return false;
  }
  out[op++] = 0x0a;
  sink.length = op;
  out = EMPTY;
  return true;
}

const EMPTY = new Uint8Array(0);

/**
 * A node of the tree of key paths met so far, as `list` keeps it: see
 * cli/list.ts. Declared here so that the byte walk can extend the tree.
 */
export interface PathNode {
  /** The path's text as mpacklog joins it. */
  path: string;
  /** True once this path was met as a leaf (and added to `seen`). */
  known: boolean;
  /** Children by key, created on first use. */
  children?: Map<string, PathNode>;
  /** The children by key id of a {@linkcode KeyTable} (a cache of `children`), and that table's generation. */
  byId?: (PathNode | undefined)[];
  /** The {@linkcode KeyTable.generation} `byId` belongs to. */
  byIdGeneration?: number;
}

/** The end of the (already checked) value at `p`. */
function skip(p: number): number {
  const b = src;
  const t = b[p];
  if (t < 0x80 || t >= 0xe0) return p + 1;
  if (t <= 0x8f) return skipN(p + 1, (t & 0x0f) * 2);
  if (t <= 0x9f) return skipN(p + 1, t & 0x0f);
  if (t <= 0xbf) return p + 1 + (t & 0x1f);
  switch (t) {
    case 0xc4:
    case 0xd9:
      return p + 2 + b[p + 1];
    case 0xc5:
    case 0xda:
      return p + 3 + ((b[p + 1] << 8) | b[p + 2]);
    case 0xc6:
    case 0xdb:
      return p + 5 + u32(p + 1);
    case 0xca:
    case 0xce:
    case 0xd2:
      return p + 5;
    case 0xcb:
    case 0xcf:
    case 0xd3:
      return p + 9;
    case 0xcc:
    case 0xd0:
      return p + 2;
    case 0xcd:
    case 0xd1:
      return p + 3;
    case 0xd6:
      return p + 6;
    case 0xd7:
      return p + 10;
    case 0xc7:
      return p + 3 + b[p + 1];
    case 0xdc:
      return skipN(p + 3, (b[p + 1] << 8) | b[p + 2]);
    case 0xdd:
      return skipN(p + 5, u32(p + 1));
    case 0xde:
      return skipN(p + 3, ((b[p + 1] << 8) | b[p + 2]) * 2);
    case 0xdf:
      return skipN(p + 5, u32(p + 1) * 2);
    default: // nil, booleans
      return p + 1;
  }
}

function skipN(p: number, n: number): number {
  for (let i = 0; i < n; i++) p = skip(p);
  return p;
}

function mapHeader(p: number): number {
  const t = src[p];
  if (t >= 0x80 && t <= 0x8f) return t & 0x0f;
  if (t === 0xde) return (src[p + 1] << 8) | src[p + 2];
  if (t === 0xdf) return u32(p + 1);
  return -1;
}

function mapBody(p: number): number {
  const t = src[p];
  return t <= 0x8f ? p + 1 : t === 0xde ? p + 3 : p + 5;
}

/** Leaf nodes met in the record being walked, not yet known: marked only once the whole record is read. */
const leaves: PathNode[] = [];

function walkPaths(p: number, n: number, node: PathNode, depth: number): number {
  const children = node.children ??= new Map();
  let byId = node.byId;
  if (byId === undefined || node.byIdGeneration !== keys.generation) {
    byId = node.byId = [];
    node.byIdGeneration = keys.generation;
  }
  const seq = nextMapSeq();
  let prev = -1;
  for (let i = 0; i < n; i++) {
    p = readKey(p, depth, seq, prev);
    if (p < 0) return -1;
    prev = keyId;
    let child = byId[keyId];
    if (child === undefined) {
      const k = keys.text[keyId];
      child = children.get(k);
      if (child === undefined) {
        child = { path: node.path ? node.path + "/" + k : k, known: false };
        children.set(k, child);
      }
      byId[keyId] = child;
    }
    const m = mapHeader(p);
    if (m >= 0) {
      p = walkPaths(mapBody(p), m, child, depth + 1);
      if (p < 0) return -1;
      continue;
    }
    p = skip(p);
    if (!child.known) leaves.push(child);
  }
  return p;
}

/**
 * For `list`: appends to `newPaths` the leaf paths of the record at `b[p, e)`
 * not in `seen`, adding them to `seen` and to the tree at `root`, as
 * `collectNewPaths` of cli/list.ts does for the decoded record. Returns false,
 * with `seen`, `newPaths` and every node's `known` untouched, when the record
 * needs the decoder (the tree may have gained nodes, which the decoded walk
 * would create alike). The bytes must have passed the `.mpack` reader's
 * structural check.
 */
export function collectRecordPaths(
  b: Uint8Array,
  p: number,
  e: number,
  root: PathNode,
  seen: Set<string>,
  newPaths: string[],
  table: KeyTable = defaultKeys,
): boolean {
  if (e - p > FAST_MAX_RECORD) return false;
  const base = begin(b, table);
  p += base;
  e += base;
  const n = mapHeader(p);
  if (n < 0) return false;
  leaves.length = 0;
  const end = walkPaths(mapBody(p), n, root, 0);
  if (end !== e) {
    leaves.length = 0;
    return false;
  }
  for (let i = 0; i < leaves.length; i++) {
    const node = leaves[i];
    node.known = true;
    if (!seen.has(node.path)) {
      seen.add(node.path);
      newPaths.push(node.path);
    }
  }
  leaves.length = 0;
  return true;
}
