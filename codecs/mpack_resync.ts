/**
 * Where `.mpack` records begin again after damage: a record a crashed writer
 * left torn, followed by the records of a new writer, costs only its own
 * bytes. {@linkcode findRun} finds where the new records begin once the torn
 * record is declared torn; {@linkcode swallowedRun} tells when a torn
 * record's declared length covered them. Used by the reader in
 * mpack_stream.ts, on the structural check of msgpack_check.ts.
 *
 * @module
 */
import { MAX_DEPTH } from "../core/limits.ts";
import { checkRecordSpan, INCOMPLETE, INVALID, skipObject } from "./msgpack_check.ts";

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
export const BIG_RECORD = 4096;
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
export function endsWithRecord(b: Uint8Array, p: number, e: number, next: number, max: number): boolean {
  const hi = Math.min(e - 1, e - next + NEAR);
  for (let q = Math.max(p + 1, e - next - NEAR); q <= hi; q++) {
    const c = b[q];
    if ((c <= 0x80 || c > 0x8f) && c !== 0xde && c !== 0xdf) continue;
    if (mayStartRecord(b, q, e) && checkRecordSpan(b, q, e, max) === e) return true;
  }
  return false;
}
