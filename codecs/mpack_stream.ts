/**
 * A streaming reader of `.mpack` logs: MessagePack maps back to back, as
 * mpacklog and mpacklog.cpp write them. Bytes are pushed in as they are read;
 * whole records come out with their absolute offsets and raw bytes. A torn
 * last record is held back until the rest arrives, and garbage in the middle
 * is skipped to the next plausible record and reported with its offset.
 *
 * A record that a crashed writer left incomplete, followed by the records of
 * a new writer, costs only its own bytes: {@linkcode findRun} finds where the
 * new records begin when such a record is declared torn
 * ({@linkcode MpackStreamReader.declareTorn}, {@linkcode MpackStreamReader.finish}),
 * and {@linkcode swallowedRun} when its declared length covered them.
 *
 * No MessagePack library offers resynchronisation after corruption, so it is
 * written by hand, on the structural check of codecs/msgpack_check.ts.
 *
 * @module
 */
import type { Dict } from "../core/record.ts";
import { decodeMsgpack } from "./msgpack.ts";
import { MAX_DEPTH, MAX_RECORD_BYTES } from "./limits.ts";
import { checkRecordSpan, fail, INCOMPLETE, INVALID, lastCheckFailure, skipObject } from "./msgpack_check.ts";

export { checkRecordSpan, INCOMPLETE, INVALID, lastCheckFailure, valueEnd } from "./msgpack_check.ts";

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
  /**
   * The buffer the record lies in, at `offset` (with `decode: false`): the
   * record's bytes without creating a view for each record, for consumers
   * that walk them (`dump`).
   */
  buffer?: Uint8Array;
  /** Where the record starts in `buffer`. */
  offset?: number;
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
  /**
   * The caller is done with every record (its `raw` bytes and, without
   * `decode`, its `value`) before it pushes the next chunk: the reader then
   * reuses its own buffer for bytes held back across chunks instead of
   * allocating one per chunk (default false).
   */
  recycle?: boolean;
}

/** A record item whose value (and view of its bytes) is made on first access. */
class LazyRecordItem implements MpackRecordItem {
  readonly kind = "record" as const;
  #value?: Dict;
  #raw?: Uint8Array;
  constructor(readonly start: number, readonly end: number, readonly buffer: Uint8Array, readonly offset: number) {}
  get raw(): Uint8Array {
    return this.#raw ??= this.buffer.subarray(this.offset, this.offset + this.end - this.start);
  }
  get value(): Dict {
    return this.#value ??= decodeMsgpack(this.buffer, this.offset, this.offset + this.end - this.start, true) as Dict;
  }
}

/** True when `b[from, to)` is well-formed UTF-8 (no overlong forms, no surrogates). */
function isUtf8(b: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to;) {
    const c = b[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    let n: number; // continuation bytes
    let min: number; // smallest code point of that length
    if (c >= 0xc2 && c <= 0xdf) n = 1, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef) n = 2, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4) n = 3, min = 0x10000;
    else return false;
    if (i + n >= to) return false;
    let cp = c & (0x3f >> n);
    for (let k = 1; k <= n; k++) {
      const d = b[i + k];
      if ((d & 0xc0) !== 0x80) return false;
      cp = (cp << 6) | (d & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += n + 1;
  }
  return true;
}

/**
 * A quick test of a position before a run is looked for from it: a map
 * starts there whose first key is UTF-8 text (when its bytes are there to
 * tell). Random bytes pass at about one position in a few hundred, and the
 * full check, which can walk far through random bytes that happen to be
 * well-formed MessagePack, runs only then.
 */
function mayStartRecord(b: Uint8Array, q: number, end: number): boolean {
  const t = b[q];
  let k: number; // the first key's header
  if (t > 0x80 && t <= 0x8f) k = q + 1;
  else if (t === 0xde) k = q + 3;
  else if (t === 0xdf) k = q + 5;
  else return false;
  if (k >= end) return true;
  const c = b[k];
  let from: number;
  let len: number;
  if (c >= 0xa0 && c <= 0xbf) from = k + 1, len = c & 0x1f;
  else if (c === 0xd9 && k + 2 <= end) from = k + 2, len = b[k + 1];
  else if (c === 0xda && k + 3 <= end) from = k + 3, len = (b[k + 1] << 8) | b[k + 2];
  else if (c === 0xdb && k + 5 <= end) {
    from = k + 5, len = ((b[k + 1] << 24) >>> 0) + ((b[k + 2] << 16) | (b[k + 3] << 8) | b[k + 4]);
  } else return c === 0xd9 || c === 0xda || c === 0xdb; // a string header cut short by the end of the data
  return from + len > end || isUtf8(b, from, from + len);
}

/**
 * How many whole records in a row {@linkcode findRun} wants before it trusts a
 * position; a shorter run counts only when it reaches the end of the data.
 */
export const RUN_RECORDS = 4;

/**
 * Where records begin again after a torn record: the first position `q` in
 * `[from, to)` from which whole records follow one another back to back (each
 * a non-empty map with string keys, well-formed to its end, as
 * {@linkcode checkRecordSpan} decides) such that
 *
 * - the run holds at least {@linkcode RUN_RECORDS} records, or at least one
 *   when it reaches `end` (its last record ends exactly there, or the record
 *   after it is cut short there);
 * - when `cross >= 0`, the run reaches `cross`: one of its records ends at or
 *   after it;
 * - its first record did not itself swallow such a run (see
 *   {@linkcode swallowedRun}): a plausible record that starts in a torn
 *   record's bytes and whose string or binary value runs over the start of
 *   the records written after the cut is passed over.
 *
 * Random bytes (the payload of a torn binary field) start a single plausible
 * record at about one position in 250, but practically never a run of four:
 * hence the run. Returns -1 when no position qualifies. A position met as a
 * boundary inside a run already walked is not tried again, so a run of many
 * records is walked once, not once per record.
 */
export function findRun(
  b: Uint8Array,
  from: number,
  to: number,
  end: number,
  max: number,
  cross = -1,
): number {
  return findRunAt(b, from, to, end, max, cross, true);
}

function findRunAt(
  b: Uint8Array,
  from: number,
  to: number,
  end: number,
  max: number,
  cross: number,
  verify: boolean,
): number {
  let seen: Uint8Array | undefined; // bit i set: from + i is a boundary inside a run already walked (and failed)
  for (let q = from; q < to; q++) {
    const c = b[q];
    if ((c <= 0x80 || c > 0x8f) && c !== 0xde && c !== 0xdf) continue; // no map starts here: the common case
    if (!mayStartRecord(b, q, end)) continue;
    const i = q - from;
    if (seen !== undefined && (seen[i >> 3] & (1 << (i & 7))) !== 0) continue;
    let r = q;
    let count = 0;
    let crossed = cross < 0;
    let ok = false;
    let first = -1;
    for (;;) {
      const t = checkRecordSpan(b, r, end, max, count > 0);
      if (first < 0) first = t;
      if (t < 0) {
        // The record after a run cut short by the end of the data: the run reaches the end.
        ok = t === INCOMPLETE && count > 0 && crossed;
        break;
      }
      count++;
      if (!crossed) crossed = t >= cross;
      if (crossed && (count >= RUN_RECORDS || t === end)) {
        ok = true;
        break;
      }
      if (t === end) break;
      r = t;
      if (r < to) {
        const j = r - from;
        seen ??= new Uint8Array(((to - from) >> 3) + 1);
        seen[j >> 3] |= 1 << (j & 7);
      }
    }
    // Verified one level deep: the check of a payload does not verify the runs it finds in turn.
    if (ok && (!verify || trustworthy(b, q, first, end, max))) return q;
  }
  return -1;
}

/**
 * The first position in `[from, pe)` that starts a run of records swallowed by
 * the string or binary payload `[s, pe)` of a record ending at `recEnd` (-1
 * when it does not end: it turned invalid further on). The run is at least
 * {@linkcode RUN_RECORDS} whole records back to back, the first starting
 * inside the payload, and it passes the point `x` where the swallowing shows
 * (the record's end when something follows the payload in it, else the
 * payload's end):
 *
 * - one of its records starts before `x` and ends after it, and no record
 *   starts at `x`; or
 * - it passes `x` otherwise (a record ends exactly there, or one straddles it
 *   while another starts there), two or more of its records started inside
 *   the payload, and the payload is not whole records from its first byte to
 *   its last (that is a log embedded as bytes, not a swallowed one).
 *
 * The second case is guarded because a plausible map made of a payload's last
 * few bytes can take what follows the payload as its own entries or value
 * and end exactly where the record (or the next one) does; two records in a
 * row inside the payload practically never happen by chance. A run cut short
 * by the end of the data counts once it passed `x`. Returns -1 when there is
 * none.
 */
function payloadRun(
  b: Uint8Array,
  s: number,
  pe: number,
  from: number,
  end: number,
  max: number,
  verify: boolean,
  recEnd: number,
): number {
  const x = recEnd > pe ? recEnd : pe;
  // A payload made of whole records from its first byte to its last is an embedded log: records that end exactly
  // with it are its own.
  let log = true;
  for (let r = s, k = 0; r < pe && log; r = checkRecordSpan(b, r, pe, max, k++ > 0)) log = r >= 0;
  // Where a record starts at `x`, a record straddling it may be a plausible map made of the payload's last bytes
  // that took that record as its value.
  const clearStraddle = x >= end || checkRecordSpan(b, x, end, max, true) < 0;
  let seen: Uint8Array | undefined; // as in findRunAt
  for (let q = from; q < pe; q++) {
    const c = b[q];
    if ((c <= 0x80 || c > 0x8f) && c !== 0xde && c !== 0xdf) continue; // no map starts here: the common case
    if (!mayStartRecord(b, q, end)) continue;
    const i = q - from;
    if (seen !== undefined && (seen[i >> 3] & (1 << (i & 7))) !== 0) continue;
    let r = q;
    let count = 0;
    let inside = 0;
    let passed = false;
    let ok = false;
    let first = -1;
    for (;;) {
      const t = checkRecordSpan(b, r, end, max, count > 0);
      if (first < 0) first = t;
      if (t === INCOMPLETE) {
        // The run goes on past the end of the data (more may be on its way); a record cut short there that starts
        // before `x` straddles it, after at least one whole one.
        ok = passed || (r < x && count >= 1 && clearStraddle);
        break;
      }
      if (t < 0) break;
      count++;
      if (r < pe) inside++;
      if (r < x && t >= x) {
        // A record straddling `x` where none starts is evidence enough; the rest needs two records inside.
        if (!(t > x && clearStraddle) && (inside < 2 || log)) break;
        passed = true;
      }
      if (passed && count >= RUN_RECORDS) {
        ok = true;
        break;
      }
      if (t === end) break;
      r = t;
      // A later start on this run has fewer records inside and cannot do better.
      if (r < pe) {
        const j = r - from;
        seen ??= new Uint8Array(((pe - from) >> 3) + 1);
        seen[j >> 3] |= 1 << (j & 7);
      }
    }
    if (ok && (!verify || trustworthy(b, q, first, end, max))) return q;
  }
  return -1;
}

/**
 * The check of the first record of a run found after a torn record: its keys
 * are UTF-8 text, as every writer's keys are, and it did not swallow a run
 * itself (see {@linkcode swallowedRun}; one level deep). A plausible map made
 * of a torn record's last bytes and the next writer's first record (as its
 * value) fails the first test: random bytes are seldom valid UTF-8.
 */
function trustworthy(b: Uint8Array, p: number, e: number, end: number, max: number): boolean {
  const t = b[p];
  let n: number;
  let q: number;
  if (t <= 0x8f) n = t & 0x0f, q = p + 1;
  else if (t === 0xde) n = (b[p + 1] << 8) | b[p + 2], q = p + 3;
  else n = ((b[p + 1] << 24) >>> 0) + ((b[p + 2] << 16) | (b[p + 3] << 8) | b[p + 4]), q = p + 5;
  for (let i = 0; i < n; i++) {
    const k = b[q];
    let len: number;
    let from: number;
    if (k <= 0xbf) len = k & 0x1f, from = q + 1;
    else if (k === 0xd9) len = b[q + 1], from = q + 2;
    else if (k === 0xda) len = (b[q + 1] << 8) | b[q + 2], from = q + 3;
    else len = ((b[q + 1] << 24) >>> 0) + ((b[q + 2] << 16) | (b[q + 3] << 8) | b[q + 4]), from = q + 5;
    if (!isUtf8(b, from, from + len)) return false;
    q = skipObject(b, from + len, e, max, 1); // the value; the record is whole, so this cannot fail
  }
  return swallowedRunAt(b, p, end, max, false, e) < 0;
}

/** walkPayloads' answer when a run was found; its start is in `runFound`. */
const FOUND = -3;
let runFound = -1;

/** Records at least this long get the look of {@linkcode endsWithRecord}. */
const BIG_RECORD = 4096;
/** How far from the expected start {@linkcode endsWithRecord} looks. */
const NEAR = 32;

/**
 * Like skipObject, for the rare path: walks the object at `p` and, in each
 * string or binary payload it meets, looks for a run of records it swallowed
 * (see {@linkcode payloadRun}). Returns the end of the object, INCOMPLETE,
 * INVALID, or FOUND (the run's start is then in `runFound`).
 */
function walkPayloads(
  b: Uint8Array,
  p: number,
  end: number,
  max: number,
  depth: number,
  verify: boolean,
  recEnd: number,
): number {
  if (p >= end) return INCOMPLETE;
  if (depth > MAX_DEPTH) return INVALID;
  const t = b[p];
  if (t <= 0x7f || t >= 0xe0 || t === 0xc0 || t === 0xc2 || t === 0xc3) return p + 1;
  let n: number; // element count (maps count pairs twice) or payload length
  let q: number; // first byte after the header
  let container = false;
  if (t <= 0x8f) n = (t & 0x0f) * 2, q = p + 1, container = true;
  else if (t <= 0x9f) n = t & 0x0f, q = p + 1, container = true;
  else if (t <= 0xbf) n = t & 0x1f, q = p + 1;
  else if (t === 0xc4 || t === 0xd9) {
    if (p + 2 > end) return INCOMPLETE;
    n = b[p + 1], q = p + 2;
  } else if (t === 0xc5 || t === 0xda || t === 0xdc || t === 0xde) {
    if (p + 3 > end) return INCOMPLETE;
    n = ((b[p + 1] << 8) | b[p + 2]) * (t === 0xde ? 2 : 1), q = p + 3, container = t >= 0xdc;
  } else if (t === 0xc6 || t === 0xdb || t === 0xdd || t === 0xdf) {
    if (p + 5 > end) return INCOMPLETE;
    n = (((b[p + 1] << 24) >>> 0) + ((b[p + 2] << 16) | (b[p + 3] << 8) | b[p + 4])) * (t === 0xdf ? 2 : 1);
    q = p + 5, container = t >= 0xdc;
  } else return skipObject(b, p, end, max, depth); // numbers and extensions: fixed sizes
  if (n > max) return INVALID;
  if (!container) {
    // A payload cut short by the end of the data is the torn-at-the-end case, not this one.
    const pe = q + n;
    if (n > 0 && pe <= end) {
      const r = payloadRun(b, q, pe, q, end, max, verify, recEnd);
      if (r >= 0) {
        runFound = r;
        return FOUND;
      }
    }
    return pe;
  }
  for (let i = 0; i < n; i++) {
    q = walkPayloads(b, q, end, max, depth + 1, verify, recEnd);
    if (q < 0) return q;
    if (q > end) return INCOMPLETE; // a payload cut short: nothing after it is there to walk
  }
  return q;
}

/**
 * Tells whether the record (or would-be record) at `p` swallowed the start of
 * other records, as a record torn inside a string or binary value does when a
 * new writer appends after the cut: the declared length then covers the new
 * writer's first records. Returns the start of a run of records that begins
 * inside one of its string or binary payloads and reaches past that
 * payload's end (or to exactly its end: see {@linkcode payloadRun}), or -1.
 * The walk stops where the bytes stop being well-formed.
 */
export function swallowedRun(b: Uint8Array, p: number, end: number, max: number, recEnd = -1): number {
  return swallowedRunAt(b, p, end, max, true, recEnd);
}

function swallowedRunAt(b: Uint8Array, p: number, end: number, max: number, verify: boolean, recEnd: number): number {
  const t = b[p];
  if (!((t >= 0x80 && t <= 0x8f) || t === 0xde || t === 0xdf)) return -1; // not even the start of a map
  return walkPayloads(b, p, end, max, 0, verify, recEnd) === FOUND ? runFound : -1;
}

/**
 * A cheap look at a whole record `[p, e)` of {@linkcode BIG_RECORD} or more
 * followed by a record of `next` bytes: true when, within {@linkcode NEAR}
 * bytes of `e - next`, a record starts inside it that ends exactly at `e`.
 * That is how a torn record whose binary field happens to end exactly where
 * one of the new writer's records ends looks (records of one writer are
 * about the same size); nothing after it looks wrong, so without this look
 * it would go unnoticed. Costs a few dozen byte tests.
 */
function endsWithRecord(b: Uint8Array, p: number, e: number, next: number, max: number): boolean {
  const hi = Math.min(e - 1, e - next + NEAR);
  for (let q = Math.max(p + 1, e - next - NEAR); q <= hi; q++) {
    const c = b[q];
    if ((c <= 0x80 || c > 0x8f) && c !== 0xde && c !== 0xdf) continue;
    if (mayStartRecord(b, q, e) && checkRecordSpan(b, q, e, max) === e) return true;
  }
  return false;
}

const EMPTY = new Uint8Array(0);

/** Why a record that swallowed the start of a run of records is no record. */
function swallowedReason(q: number): string {
  return `torn record: its declared length runs over records that start at offset ${q}`;
}

/**
 * Reads records from pushed chunks. Call {@linkcode MpackStreamReader.push}
 * with each chunk, then {@linkcode MpackStreamReader.next} until it returns
 * undefined (more bytes needed).
 *
 * Torn records (a writer that crashed in the middle of one, then a writer
 * that appends after it):
 *
 * - An incomplete record at the end of the data is held back. A follower
 *   that sees it held at the end of the file calls
 *   {@linkcode MpackStreamReader.heldRecord} (which remembers how far the
 *   data went then) and, once it has waited long enough,
 *   {@linkcode MpackStreamReader.declareTorn}. At the true end of the data,
 *   {@linkcode MpackStreamReader.finish} declares it torn at once.
 * - A record whose declared length ran over the start of other records (see
 *   {@linkcode swallowedRun}) is no record: it is reported as garbage up to
 *   where they begin, and reading goes on from there. This is checked only
 *   when the bytes right after the record start no record, when the record
 *   was held at the end of a followed file and completed by bytes written
 *   later, when it turns invalid after a string or binary value, and, for
 *   records of 4 KiB or more, when a record about the size of the next one
 *   ends exactly where it does (see {@linkcode endsWithRecord}).
 */
export class MpackStreamReader {
  #buf: Uint8Array = EMPTY;
  /** A buffer of the reader's own with room after `#buf`, when held-back bytes had to be copied. */
  #store?: Uint8Array;
  #pos = 0;
  #base: number;
  #max: number;
  #decode: boolean;
  #recycle: boolean;
  /** Start of the garbage run being skipped, or -1. */
  #garbageStart = -1;
  #garbageReason = "";
  /** No more bytes will come: an incomplete record is torn. */
  #final = false;
  /** Absolute offset of the record last reported by heldRecord(), and the end of the data then; -1 when none. */
  #heldAt = -1;
  #heldEnd = 0;
  /** The check of the position after the last record (absolute offset, and its end, absolute, or INVALID). */
  #aheadAt = -1;
  #aheadEnd = 0;
  #aheadReason = "";
  /** Absolute offset of a record already found not to be torn (it is read a second time after garbage). */
  #soundAt = -1;

  /**
   * Creates a reader with no bytes yet.
   *
   * @param options limits and the starting offset
   */
  constructor(options: MpackStreamOptions = {}) {
    this.#max = options.maxRecordBytes ?? MAX_RECORD_BYTES;
    this.#base = options.offset ?? 0;
    this.#decode = options.decode ?? true;
    this.#recycle = options.recycle ?? false;
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
      if (!this.#recycle) this.#store = undefined;
      this.#pos = 0;
      return;
    }
    const store = this.#store;
    const rest = len - this.#pos;
    if (store && this.#buf.buffer === store.buffer && this.#buf.byteOffset === store.byteOffset) {
      if (store.length - len >= chunk.length) {
        // A large record arriving in pieces: append into spare room, so its bytes are not copied again and again.
        store.set(chunk, len);
        this.#buf = store.subarray(0, len + chunk.length);
        return;
      }
      if (this.#recycle && store.length >= rest + chunk.length) {
        store.copyWithin(0, this.#pos, len);
        store.set(chunk, rest);
        this.#rebase(store, rest + chunk.length);
        return;
      }
    } else if (this.#recycle && store && store.length >= rest + chunk.length) {
      // The held bytes are in the caller's buffer: into ours, which nothing refers to any more.
      store.set(this.#buf.subarray(this.#pos), 0);
      store.set(chunk, rest);
      this.#rebase(store, rest + chunk.length);
      return;
    }
    const grown = new Uint8Array(Math.max(rest + chunk.length, 2 * rest, this.#recycle ? 2 * chunk.length : 0));
    grown.set(this.#buf.subarray(this.#pos));
    grown.set(chunk, rest);
    this.#rebase(grown, rest + chunk.length);
  }

  /** Continues in `store`, which holds the bytes from the current position on (`length` of them). */
  #rebase(store: Uint8Array, length: number): void {
    this.#base += this.#pos;
    this.#pos = 0;
    this.#store = store;
    this.#buf = store.subarray(0, length);
  }

  /** Forgets everything and continues at absolute `offset` (after truncation or a switch of file). */
  reset(offset = 0): void {
    this.#buf = EMPTY;
    this.#store = undefined;
    this.#pos = 0;
    this.#base = offset;
    this.#garbageStart = -1;
    this.#final = false;
    this.#heldAt = -1;
    this.#aheadAt = -1;
    this.#soundAt = -1;
  }

  /**
   * At the end of the data for now (a follower found no more bytes in the
   * file): the absolute offset of the incomplete record held back, or -1 when
   * none is. The first call for a record remembers the end of the data, which
   * {@linkcode MpackStreamReader.declareTorn} and {@linkcode MpackStreamReader.next}
   * use to tell the torn record from what is written after it.
   */
  heldRecord(): number {
    if (this.#pos >= this.#buf.length) return -1;
    const at = this.#base + this.#pos;
    if (at !== this.#heldAt) {
      this.#heldAt = at;
      this.#heldEnd = this.end;
    }
    return at;
  }

  /**
   * Declares the record held back since {@linkcode MpackStreamReader.heldRecord}
   * reported it torn: it is returned as garbage, and reading resumes at the
   * first byte written after it. That is where the data ended when the record
   * was first reported held — unless a run of records (see {@linkcode findRun})
   * starts inside the held bytes and reaches that point (records written
   * before the follower got there), or, when nothing was written since, a run
   * starts inside and reaches the end of the data (a closed file read from
   * its start). Returns undefined when no record is held or it is not the one
   * reported.
   *
   * @param reason why it is declared torn, for the garbage item
   */
  declareTorn(reason = "torn record"): MpackGarbageItem | undefined {
    const b = this.#buf;
    const end = b.length;
    const p = this.#pos;
    if (p >= end || this.#base + p !== this.#heldAt) return undefined;
    const stalledEnd = Math.min(this.#heldEnd - this.#base, end);
    const grown = end > stalledEnd;
    let q = findRun(b, p + 1, stalledEnd, end, this.#max, grown ? stalledEnd : -1);
    if (q < 0) q = stalledEnd;
    return this.#tornUpTo(p, q, reason);
  }

  /**
   * Marks the true end of the data (no more bytes will come). An incomplete
   * record held back is torn: it becomes garbage, and reading resumes at the
   * first position inside it from which a run of records starts (see
   * {@linkcode findRun}); without one, everything held back is garbage.
   *
   * Call it once {@linkcode MpackStreamReader.next} has returned undefined.
   * Returns the first item of what was held back (garbage), or undefined when
   * the data ended cleanly; when it returns an item, call
   * {@linkcode MpackStreamReader.next} until undefined for the records after
   * it and any further garbage.
   */
  finish(): MpackStreamItem | undefined {
    this.#final = true;
    return this.next();
  }

  /**
   * Reports `[p, q)` (relative offsets) as one garbage item, from the start of
   * the garbage run when one was open (with its reason), and continues at `q`.
   */
  #tornUpTo(p: number, q: number, reason: string): MpackGarbageItem {
    const open = this.#garbageStart >= 0;
    const start = open ? this.#garbageStart : this.#base + p;
    this.#garbageStart = -1;
    this.#heldAt = -1;
    this.#pos = q;
    return { kind: "garbage", start, length: this.#base + q - start, reason: open ? this.#garbageReason : reason };
  }

  /** The next item, or undefined when more bytes are needed. */
  next(): MpackStreamItem | undefined {
    const b = this.#buf;
    const end = b.length;
    const max = this.#max;
    while (this.#pos < end) {
      const p = this.#pos;
      const at = this.#base + p;
      let e: number;
      if (at === this.#aheadAt && this.#garbageStart < 0) {
        e = this.#aheadEnd;
        if (e >= 0) e -= this.#base;
        else fail(this.#aheadReason);
      } else e = checkRecordSpan(b, p, end, max, this.#garbageStart < 0);
      if (e === INCOMPLETE) {
        if (end - p > max) {
          fail(`no record ends within the ${max} B record limit`);
        } else if (!this.#final) return undefined; // wait for the rest of a torn record
        else {
          // No more bytes will come: the record is torn.
          let q = findRun(b, p + 1, end, end, max);
          if (q < 0) q = end;
          return this.#tornUpTo(p, q, "torn record at end of data");
        }
      } else if (e !== INVALID) {
        if (at !== this.#soundAt) {
          // Did the record's declared length run over the start of records written after it was torn?
          let suspect = false;
          if (e < end) {
            const next = checkRecordSpan(b, e, end, max, true);
            if (next !== INCOMPLETE) {
              this.#aheadAt = this.#base + e;
              this.#aheadEnd = next >= 0 ? this.#base + next : INVALID;
              if (next === INVALID) this.#aheadReason = lastCheckFailure();
              suspect = next === INVALID;
            }
          }
          if (at === this.#heldAt && this.#base + e > this.#heldEnd) suspect = true; // completed by later bytes
          else if (!suspect && e - p >= BIG_RECORD && this.#aheadAt === this.#base + e && this.#aheadEnd >= 0) {
            suspect = endsWithRecord(b, p, e, this.#aheadEnd - this.#base - e, max);
          }
          if (suspect) {
            const q = swallowedRun(b, p, end, max, e);
            if (q >= 0) return this.#tornUpTo(p, q, swallowedReason(this.#base + q));
          }
          this.#soundAt = at;
        }
        let value: unknown = null;
        if (this.#decode) {
          try {
            value = decodeMsgpack(b, p, e, true);
          } catch (err) {
            fail(`undecodable: ${(err as Error).message}`);
            value = undefined;
          }
        }
        if (value !== undefined) {
          if (this.#garbageStart >= 0) {
            const g: MpackGarbageItem = {
              kind: "garbage",
              start: this.#garbageStart,
              length: at - this.#garbageStart,
              reason: this.#garbageReason,
            };
            this.#garbageStart = -1;
            return g; // the record is read again by the next call
          }
          this.#pos = e;
          if (!this.#decode) return new LazyRecordItem(at, this.#base + e, b, p);
          return { kind: "record", value: value as Dict, start: at, end: this.#base + e, raw: b.subarray(p, e) };
        }
      }
      // p cannot start a record: skip one byte and look again.
      if (this.#garbageStart < 0) {
        if (e === INVALID) {
          // A torn record whose string or binary value swallowed records written after the cut, and which then
          // fails further on: it ends where they begin.
          const reason = lastCheckFailure();
          const q = swallowedRun(b, p, end, max);
          if (q >= 0) return this.#tornUpTo(p, q, swallowedReason(this.#base + q));
          fail(reason);
        }
        this.#garbageStart = at;
        this.#garbageReason = lastCheckFailure();
      }
      this.#pos = p + 1;
    }
    if (this.#final && this.#garbageStart >= 0) {
      // Junk up to the true end of the data.
      const g: MpackGarbageItem = {
        kind: "garbage",
        start: this.#garbageStart,
        length: this.end - this.#garbageStart,
        reason: this.#garbageReason,
      };
      this.#garbageStart = -1;
      return g;
    }
    return undefined;
  }
}
