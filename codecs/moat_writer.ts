/**
 * What MoaT's two encoders (codecs/cbor.ts, codecs/moat_msgpack.ts) share:
 * a growing output buffer, bignum bytes and the message depth limit.
 *
 * @module
 */
import { ENVELOPE_DEPTH, MAX_DEPTH } from "../core/limits.ts";

/** How deep a whole message may nest: a record's limit plus the levels a MoaT message wraps around it. */
export const MESSAGE_DEPTH = MAX_DEPTH + ENVELOPE_DEPTH;

/** The largest integer a number holds exactly, as a bigint. */
export const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** UTF-8 encoder of both codecs. */
export const textEncoder = new TextEncoder();

/** A growing output buffer for the encoder. */
export class Writer {
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
  /** Writes a type byte and `v` as a big-endian float64 (CBOR's `0xfb`, MessagePack's `0xcb`). */
  float64(type: number, v: number): void {
    this.ensure(9);
    this.buf[this.pos++] = type;
    this.view.setFloat64(this.pos, v);
    this.pos += 8;
  }
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
}

/** The big-endian bytes of a non-negative bigint (a bignum's payload). */
export function bigToBytes(v: bigint): Uint8Array {
  let hex = v.toString(16);
  if (hex.length % 2) hex = "0" + hex;
  const b = new Uint8Array(hex.length / 2);
  for (let i = 0; i < b.length; i++) b[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return b;
}
