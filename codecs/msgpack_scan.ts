/**
 * Reads one top-level value of an encoded MessagePack map without decoding
 * the map: how a tail that passes records on as raw bytes still learns their
 * `time` and stream name cheaply. msgpackr has no partial decoding, hence
 * this small scanner over the already-validated bytes. Also the map header
 * itself, read and written (a spliced record gets a new one).
 *
 * @module
 */
import { valueEnd } from "./msgpack_check.ts";
import { decodeMsgpack } from "./msgpack.ts";

const encoder = new TextEncoder();

/** A key prepared for scanning: its UTF-8 bytes. */
export interface ScanKey {
  /** The key as text. */
  readonly text: string;
  /** The key's UTF-8 bytes. */
  readonly bytes: Uint8Array;
}

/** Prepares a key for {@linkcode findTopLevelValue}. */
export function scanKey(text: string): ScanKey {
  return { text, bytes: encoder.encode(text) };
}

/** Entry count and header length of the map at the start of `b`, or undefined when it is not a map. */
export function readMapHeader(b: Uint8Array): [count: number, headerLength: number] | undefined {
  const t = b[0];
  if (t >= 0x80 && t <= 0x8f) return [t & 0x0f, 1];
  if (t === 0xde && b.length >= 3) return [(b[1] << 8) | b[2], 3];
  if (t === 0xdf && b.length >= 5) return [((b[1] << 24) >>> 0) + ((b[2] << 16) | (b[3] << 8) | b[4]), 5];
  return undefined;
}

/** The smallest MessagePack map header for `n` entries, as mpacklog writes it. */
export function mapHeader(n: number): Uint8Array {
  if (n < 16) return Uint8Array.of(0x80 | n);
  if (n < 0x10000) return Uint8Array.of(0xde, n >> 8, n & 0xff);
  return Uint8Array.of(0xdf, n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
}

/** The offset of the value of `key` in the encoded map `b`, or -1 when absent (or `b` is no well-formed map). */
export function findTopLevelValue(b: Uint8Array, key: ScanKey): number {
  const [n, first] = readMapHeader(b) ?? [0, 0];
  const kb = key.bytes, kl = kb.length;
  let q = first;
  for (let i = 0; i < n; i++) {
    // Keys are strings (the reader's structural check made sure); compare in place.
    const t = b[q];
    let len: number, s: number;
    if (t >= 0xa0 && t <= 0xbf) len = t & 0x1f, s = q + 1;
    else if (t === 0xd9) len = b[q + 1], s = q + 2;
    else if (t === 0xda) len = (b[q + 1] << 8) | b[q + 2], s = q + 3;
    else if (t === 0xdb) len = ((b[q + 1] << 24) >>> 0) + ((b[q + 2] << 16) | (b[q + 3] << 8) | b[q + 4]), s = q + 5;
    else return -1;
    const v = s + len;
    if (len === kl) {
      let same = true;
      for (let j = 0; j < kl; j++) {
        if (b[s + j] !== kb[j]) {
          same = false;
          break;
        }
      }
      if (same) return v;
    }
    q = valueEnd(b, v);
    if (q < 0) return -1;
  }
  return -1;
}

const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

/** The number at `p` (any int or float form), or undefined for another type. Large 64-bit ints are bigints. */
export function readNumberAt(b: Uint8Array, p: number): number | bigint | undefined {
  const t = b[p];
  if (t <= 0x7f) return t;
  if (t >= 0xe0) return t - 0x100;
  switch (t) {
    case 0xcb:
      return view(b).getFloat64(p + 1);
    case 0xca:
      return view(b).getFloat32(p + 1);
    case 0xcc:
      return b[p + 1];
    case 0xcd:
      return (b[p + 1] << 8) | b[p + 2];
    case 0xce:
      return view(b).getUint32(p + 1);
    case 0xd0:
      return view(b).getInt8(p + 1);
    case 0xd1:
      return view(b).getInt16(p + 1);
    case 0xd2:
      return view(b).getInt32(p + 1);
    case 0xcf: {
      const v = view(b).getBigUint64(p + 1);
      return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
    }
    case 0xd3: {
      const v = view(b).getBigInt64(p + 1);
      return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v;
    }
    default:
      return undefined;
  }
}

/** The string at `p`, or undefined for another type. */
export function readStringAt(b: Uint8Array, p: number): string | undefined {
  const t = b[p];
  if (!((t >= 0xa0 && t <= 0xbf) || t === 0xd9 || t === 0xda || t === 0xdb)) return undefined;
  const e = valueEnd(b, p);
  if (e < 0) return undefined;
  return decodeMsgpack(b, p, e, true) as string;
}

/**
 * The end of the value at `b[p]`, which a structural check (msgpack_check.ts) has passed already: no bounds
 * checks, for the byte walks of `dump` and `list`.
 */
export function skipValue(b: Uint8Array, p: number): number {
  const t = b[p];
  if (t < 0x80 || t >= 0xe0) return p + 1;
  if (t <= 0x8f) return skipValues(b, p + 1, (t & 0x0f) * 2);
  if (t <= 0x9f) return skipValues(b, p + 1, t & 0x0f);
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
      return p + 5 + u32(b, p + 1);
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
      return skipValues(b, p + 3, (b[p + 1] << 8) | b[p + 2]);
    case 0xdd:
      return skipValues(b, p + 5, u32(b, p + 1));
    case 0xde:
      return skipValues(b, p + 3, ((b[p + 1] << 8) | b[p + 2]) * 2);
    case 0xdf:
      return skipValues(b, p + 5, u32(b, p + 1) * 2);
    default: // nil, booleans
      return p + 1;
  }
}

/** The end of `n` values in a row at `b[p]` (see {@linkcode skipValue}). */
export function skipValues(b: Uint8Array, p: number, n: number): number {
  for (let i = 0; i < n; i++) p = skipValue(b, p);
  return p;
}

function u32(b: Uint8Array, p: number): number {
  return ((b[p] << 24) >>> 0) + ((b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]);
}
