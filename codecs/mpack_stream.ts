/**
 * A streaming reader of `.mpack` logs: MessagePack maps back to back, as
 * mpacklog and mpacklog.cpp write them. Bytes are pushed in as they are read;
 * whole records come out with their absolute offsets and raw bytes. A torn
 * last record is held back until the rest arrives, and garbage in the middle
 * is skipped to the next plausible record and reported with its offset.
 *
 * No MessagePack library offers resynchronisation after corruption, so the
 * structural check below is written by hand: it walks the headers without
 * allocating and decides, before decoding, whether a span is one whole,
 * well-formed record.
 *
 * @module
 */
import type { Dict } from "../core/record.ts";
import { decodeMsgpack } from "./msgpack.ts";
import { MAX_DEPTH, MAX_RECORD_BYTES } from "./limits.ts";

/** One whole record read from the stream. */
export interface MpackRecordItem {
  /** Discriminator. */
  kind: "record";
  /** The decoded map. */
  value: Dict;
  /** Absolute offset of its first byte. */
  start: number;
  /** Absolute offset just past its last byte. */
  end: number;
  /** Its bytes, exactly as in the file (a view, not a copy). */
  raw: Uint8Array;
}

/** A run of bytes that holds no record. */
export interface MpackGarbageItem {
  /** Discriminator. */
  kind: "garbage";
  /** Absolute offset of the first bad byte. */
  start: number;
  /** How many bytes were skipped. */
  length: number;
  /** Why the first byte could not start a record. */
  reason: string;
}

/** What the stream reader yields. */
export type MpackStreamItem = MpackRecordItem | MpackGarbageItem;

/** Options of {@linkcode MpackStreamReader}. */
export interface MpackStreamOptions {
  /** Largest record accepted; a header that claims more is garbage (default {@linkcode MAX_RECORD_BYTES}, 64 MiB). */
  maxRecordBytes?: number;
  /** Absolute offset of the first byte that will be pushed (default 0). */
  offset?: number;
  /**
   * Decode each record when it is read (default true). With false, a record's
   * `value` is decoded on first access only: a consumer that passes the raw
   * bytes on (tail → file) never pays for decoding. The structural check
   * still runs, so garbage is found either way.
   */
  decode?: boolean;
}

/** A record item whose value is decoded on first access. */
class LazyRecordItem implements MpackRecordItem {
  readonly kind = "record" as const;
  #value?: Dict;
  constructor(readonly start: number, readonly end: number, readonly raw: Uint8Array) {}
  get value(): Dict {
    return this.#value ??= decodeMsgpack(this.raw) as Dict;
  }
}

/** {@linkcode checkRecordSpan}'s answer for bytes that cannot start a record. */
export const INVALID: number = -1;
/** {@linkcode checkRecordSpan}'s answer when the data ends before the record does. */
export const INCOMPLETE: number = -2;

/** The reason the last structural check failed, for error messages. */
let failReason = "";

function fail(reason: string): number {
  failReason = reason;
  return INVALID;
}

/**
 * Returns the end of the object starting at `p`, INCOMPLETE when `end` comes
 * first, or INVALID for a byte sequence no MessagePack writer produces (0xc1,
 * lengths above `max`, nesting deeper than MAX_DEPTH of codecs/limits.ts).
 */
function skipObject(b: Uint8Array, p: number, end: number, max: number, depth: number): number {
  if (p >= end) return INCOMPLETE;
  if (depth > MAX_DEPTH) return fail("nesting too deep");
  const t = b[p];
  if (t <= 0x7f || t >= 0xe0 || t === 0xc0 || t === 0xc2 || t === 0xc3) return p + 1;
  let n: number; // element count (maps count pairs twice) or payload length
  let q: number; // first byte after the header
  let container = false;
  if (t <= 0x8f) {
    n = (t & 0x0f) * 2, q = p + 1, container = true;
  } else if (t <= 0x9f) {
    n = t & 0x0f, q = p + 1, container = true;
  } else if (t <= 0xbf) {
    n = t & 0x1f, q = p + 1;
  } else {
    switch (t) {
      case 0xc1:
        return fail("byte 0xc1 is never used by MessagePack");
      case 0xca:
        return p + 5;
      case 0xcb:
        return p + 9;
      case 0xcc:
      case 0xd0:
        return p + 2;
      case 0xcd:
      case 0xd1:
        return p + 3;
      case 0xce:
      case 0xd2:
        return p + 5;
      case 0xcf:
      case 0xd3:
        return p + 9;
      // Extensions: only the timestamp (type -1) is valid in a telemetry log; other types
      // would decode to msgpackr-specific objects, and in garbage they are a sign of junk.
      case 0xd4:
      case 0xd5:
      case 0xd8:
        return fail(`extension 0x${t.toString(16)} is not a timestamp`);
      case 0xd6:
        if (p + 2 > end) return INCOMPLETE;
        return b[p + 1] === 0xff ? p + 6 : fail("extension type is not the timestamp (-1)");
      case 0xd7:
        if (p + 2 > end) return INCOMPLETE;
        return b[p + 1] === 0xff ? p + 10 : fail("extension type is not the timestamp (-1)");
      case 0xc4:
      case 0xd9:
        if (p + 2 > end) return INCOMPLETE;
        n = b[p + 1], q = p + 2;
        break;
      case 0xc5:
      case 0xda:
        if (p + 3 > end) return INCOMPLETE;
        n = (b[p + 1] << 8) | b[p + 2], q = p + 3;
        break;
      case 0xc6:
      case 0xdb:
        if (p + 5 > end) return INCOMPLETE;
        n = ((b[p + 1] << 24) >>> 0) + ((b[p + 2] << 16) | (b[p + 3] << 8) | b[p + 4]), q = p + 5;
        break;
      case 0xc7: // ext 8: only the 96-bit timestamp
        if (p + 3 > end) return INCOMPLETE;
        return b[p + 1] === 12 && b[p + 2] === 0xff ? p + 15 : fail("extension is not a timestamp");
      case 0xc8:
      case 0xc9:
        return fail("extension is not a timestamp");
      case 0xdc:
        if (p + 3 > end) return INCOMPLETE;
        n = (b[p + 1] << 8) | b[p + 2], q = p + 3, container = true;
        break;
      case 0xdd:
        if (p + 5 > end) return INCOMPLETE;
        n = ((b[p + 1] << 24) >>> 0) + ((b[p + 2] << 16) | (b[p + 3] << 8) | b[p + 4]), q = p + 5, container = true;
        break;
      case 0xde:
        if (p + 3 > end) return INCOMPLETE;
        n = ((b[p + 1] << 8) | b[p + 2]) * 2, q = p + 3, container = true;
        break;
      default: // 0xdf
        if (p + 5 > end) return INCOMPLETE;
        n = (((b[p + 1] << 24) >>> 0) + ((b[p + 2] << 16) | (b[p + 3] << 8) | b[p + 4])) * 2,
          q = p + 5,
          container = true;
    }
  }
  if (n > max) return fail(`a length of ${n} exceeds the ${max} B record limit`);
  if (!container) return q + n;
  for (let i = 0; i < n; i++) {
    q = skipObject(b, q, end, max, depth + 1);
    if (q < 0) return q;
  }
  return q;
}

/**
 * Checks that a record starts at `p`: a map whose keys are strings, well-formed
 * to its end. An empty map counts only with `allowEmpty` (right after a good
 * record, not while skipping garbage) and when a whole non-empty record follows.
 * Returns its end, INCOMPLETE or INVALID.
 */
export function checkRecordSpan(b: Uint8Array, p: number, end: number, max: number, allowEmpty = false): number {
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
  } else return fail(`byte 0x${t.toString(16).padStart(2, "0")} does not start a map`);
  if (n === 0) {
    // A lone 0x80 in garbage would look like an empty map: accepted only where a record is expected and only
    // when another map follows (so a garbage block that starts with 0x80 is still seen as garbage).
    if (!allowEmpty) return fail("empty map");
    const next = checkRecordSpan(b, q, end, max, false);
    if (next === INCOMPLETE) return INCOMPLETE;
    return next === INVALID ? fail("empty map not followed by a record") : q;
  }
  if (n * 2 > max) return fail(`a map of ${n} entries exceeds the ${max} B record limit`);
  for (let i = 0; i < n; i++) {
    if (q >= end) return INCOMPLETE;
    const k = b[q];
    if (!((k >= 0xa0 && k <= 0xbf) || k === 0xd9 || k === 0xda || k === 0xdb)) {
      return fail("a map key is not a string");
    }
    q = skipObject(b, q, end, max, 1);
    if (q < 0) return q;
    q = skipObject(b, q, end, max, 1);
    if (q < 0) return q;
  }
  // A scalar, string or bytes value cut short by the end of the data ends past `end`.
  return q > end ? INCOMPLETE : q;
}

/**
 * The end of the one MessagePack value starting at `p`: a position `<= end`,
 * {@linkcode INCOMPLETE} or {@linkcode INVALID}. For scanners that read a few
 * keys of a record without decoding it.
 */
export function valueEnd(b: Uint8Array, p: number, end: number = b.length): number {
  const e = skipObject(b, p, end, end - p, 0);
  return e > end ? INCOMPLETE : e;
}

/** The reason of the last failed {@linkcode checkRecordSpan}. */
export function lastCheckFailure(): string {
  return failReason;
}

const EMPTY = new Uint8Array(0);

/**
 * Reads records from pushed chunks. Call {@linkcode MpackStreamReader.push}
 * with each chunk, then {@linkcode MpackStreamReader.next} until it returns
 * undefined (more bytes needed).
 */
export class MpackStreamReader {
  #buf: Uint8Array = EMPTY;
  /** A buffer of the reader's own with room after `#buf`, when held-back bytes had to be copied. */
  #store?: Uint8Array;
  #pos = 0;
  #base: number;
  #max: number;
  #decode: boolean;
  /** Start of the garbage run being skipped, or -1. */
  #garbageStart = -1;
  #garbageReason = "";

  /**
   * Creates a reader with no bytes yet.
   *
   * @param options limits and the starting offset
   */
  constructor(options: MpackStreamOptions = {}) {
    this.#max = options.maxRecordBytes ?? MAX_RECORD_BYTES;
    this.#base = options.offset ?? 0;
    this.#decode = options.decode ?? true;
  }

  /** Absolute offset of the first byte not yet consumed (a torn record starts here). */
  get offset(): number {
    return this.#base + this.#pos;
  }

  /** Bytes held back: a torn record or garbage whose end has not been seen. */
  get pending(): number {
    return this.#buf.length - this.#pos;
  }

  /** Absolute offset just past the last pushed byte. */
  get end(): number {
    return this.#base + this.#buf.length;
  }

  /** Appends a chunk read right after the previous one. */
  push(chunk: Uint8Array): void {
    const len = this.#buf.length;
    if (this.#pos >= len) {
      // Nothing held back: use the chunk as it is, no copy (the hot path).
      this.#base += len;
      this.#buf = chunk;
      this.#store = undefined;
      this.#pos = 0;
      return;
    }
    const store = this.#store;
    if (store && store.length - len >= chunk.length) {
      // A large record arriving in pieces: append into spare room, so its bytes are not copied again and again.
      store.set(chunk, len);
      this.#buf = store.subarray(0, len + chunk.length);
      return;
    }
    const rest = len - this.#pos;
    const grown = new Uint8Array(Math.max(rest + chunk.length, 2 * rest));
    grown.set(this.#buf.subarray(this.#pos));
    grown.set(chunk, rest);
    this.#base += this.#pos;
    this.#pos = 0;
    this.#store = grown;
    this.#buf = grown.subarray(0, rest + chunk.length);
  }

  /** Forgets everything and continues at absolute `offset` (after truncation or a switch of file). */
  reset(offset = 0): void {
    this.#buf = EMPTY;
    this.#store = undefined;
    this.#pos = 0;
    this.#base = offset;
    this.#garbageStart = -1;
  }

  /** The next item, or undefined when more bytes are needed. */
  next(): MpackStreamItem | undefined {
    const b = this.#buf;
    const end = b.length;
    while (this.#pos < end) {
      const p = this.#pos;
      const e = checkRecordSpan(b, p, end, this.#max, this.#garbageStart < 0);
      if (e === INCOMPLETE) {
        if (end - p > this.#max) {
          failReason = `no record ends within the ${this.#max} B record limit`;
        } else return undefined; // wait for the rest of a torn record
      } else if (e !== INVALID) {
        let value: unknown = null;
        if (this.#decode) {
          try {
            value = decodeMsgpack(b, p, e);
          } catch (err) {
            failReason = `undecodable: ${(err as Error).message}`;
            value = undefined;
          }
        }
        if (value !== undefined) {
          if (this.#garbageStart >= 0) {
            const g: MpackGarbageItem = {
              kind: "garbage",
              start: this.#garbageStart,
              length: this.#base + p - this.#garbageStart,
              reason: this.#garbageReason,
            };
            this.#garbageStart = -1;
            return g; // the record is read again by the next call
          }
          this.#pos = e;
          if (!this.#decode) return new LazyRecordItem(this.#base + p, this.#base + e, b.subarray(p, e));
          return {
            kind: "record",
            value: value as Dict,
            start: this.#base + p,
            end: this.#base + e,
            raw: b.subarray(p, e),
          };
        }
      }
      // p cannot start a record: skip one byte and look again.
      if (this.#garbageStart < 0) {
        this.#garbageStart = this.#base + p;
        this.#garbageReason = failReason;
      }
      this.#pos = p + 1;
    }
    return undefined;
  }

  /**
   * At the true end of the data (no more will come): reports what is held
   * back as garbage (a torn record or trailing junk), or undefined when the
   * stream ended cleanly.
   */
  finish(): MpackGarbageItem | undefined {
    const start = this.#garbageStart >= 0 ? this.#garbageStart : this.offset;
    const length = this.end - start;
    const reason = this.#garbageStart >= 0 ? this.#garbageReason : "torn record at end of data";
    this.#garbageStart = -1;
    this.#pos = this.#buf.length;
    return length > 0 ? { kind: "garbage", start, length, reason } : undefined;
  }
}
