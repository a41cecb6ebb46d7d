/**
 * The structural check of MessagePack bytes, written by hand because no
 * MessagePack library offers it: it walks the headers without allocating and
 * decides, before decoding, whether a span is one whole, well-formed value or
 * record (and why not). The `.mpack` stream reader resynchronises with it, and
 * the MessagePack codec walks untrusted spans with it before msgpackr decodes
 * them. It imports no codec, so both can use it without an import circle.
 *
 * @module
 */
import { MAX_DEPTH } from "../core/limits.ts";

/** {@linkcode checkRecordSpan}'s answer for bytes that cannot start a record. */
export const INVALID: number = -1;
/** {@linkcode checkRecordSpan}'s answer when the data ends before the record does. */
export const INCOMPLETE: number = -2;

/**
 * Why the last structural check failed, for error messages: a fixed text, or
 * the parts of one, put together only when asked for ({@linkcode failText}):
 * while garbage is skipped the check fails at nearly every byte.
 */
let failReason = "";
/** 0: `failReason`; 1: byte `failArg` starts no map; 2: extension `failArg`; 3: length `failArg` over `failMax`; 4: map. */
let failKind = 0;
let failArg = 0;
let failMax = 0;

/** Records why a check failed (see {@linkcode lastCheckFailure}) and returns {@linkcode INVALID}. */
export function fail(reason: string): number {
  failReason = reason;
  failKind = 0;
  return INVALID;
}

function failWith(kind: number, arg: number, max = 0): number {
  failKind = kind;
  failArg = arg;
  failMax = max;
  return INVALID;
}

/** The text of the last failure. */
function failText(): string {
  switch (failKind) {
    case 1:
      return `byte 0x${failArg.toString(16).padStart(2, "0")} does not start a map`;
    case 2:
      return `extension 0x${failArg.toString(16)} is not a timestamp`;
    case 3:
      return `a length of ${failArg} exceeds the ${failMax} B record limit`;
    case 4:
      return `a map of ${failArg} entries exceeds the ${failMax} B record limit`;
    default:
      return failReason;
  }
}

/**
 * False when a UTF-8 sequence of the string `b[q, e)` runs past its end. msgpackr decodes strings of up to 64 bytes
 * without bounds checks, so such a string makes it read the bytes after it and shift everything that follows:
 * the result would depend on what comes next (even on how the data was chunked). Invalid UTF-8 within the string
 * is decoded as U+FFFD, as elsewhere. Costs three byte checks unless the string ends in non-ASCII.
 */
function utf8Fits(b: Uint8Array, q: number, e: number): boolean {
  if (e - q > 64 || (b[e - 1] < 0x80 && (e - 2 < q || b[e - 2] < 0x80) && (e - 3 < q || b[e - 3] < 0x80))) return true;
  let i = q;
  while (i < e) {
    const c = b[i];
    i += c < 0xc0 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : c < 0xf8 ? 4 : 1;
  }
  return i === e;
}

/** True for the first byte of a value msgpackr accepts as a map key: a string, number, boolean or nil. */
function scalarKey(k: number): boolean {
  return !(k >= 0x80 && k <= 0x9f) && !(k >= 0xc4 && k <= 0xc9) && !(k >= 0xd4 && k <= 0xd8) &&
    !(k >= 0xdc && k <= 0xdf);
}

/**
 * Returns the end of the object starting at `p`, INCOMPLETE when `end` comes
 * first, or INVALID for a byte sequence no MessagePack writer produces (0xc1,
 * lengths above `max`, nesting deeper than MAX_DEPTH of core/limits.ts).
 */
export function skipObject(b: Uint8Array, p: number, end: number, max: number, depth: number): number {
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
        return failWith(2, t);
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
  if (n > max) return failWith(3, n, max);
  if (!container) {
    const e = q + n;
    // Strings only (fixstr, str 8/16/32), whole ones: a torn one is INCOMPLETE below.
    if ((t <= 0xbf || t >= 0xd9) && n > 0 && e <= end && !utf8Fits(b, q, e)) {
      return fail("a string ends inside a UTF-8 sequence");
    }
    return e;
  }
  // A map's keys (every other element) must be what msgpackr can make a property name of: not a map, list, bin or
  // ext. Such a record cannot be decoded, so it is garbage here too, whether or not it is decoded when read.
  const map = t <= 0x8f || t >= 0xde;
  for (let i = 0; i < n; i++) {
    if (map && (i & 1) === 0 && q < end && !scalarKey(b[q])) return fail("a map key is a map, list, bin or ext");
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
  } else return failWith(1, t);
  if (n === 0) {
    // A lone 0x80 in garbage would look like an empty map: accepted only where a record is expected and only
    // when another map follows (so a garbage block that starts with 0x80 is still seen as garbage).
    if (!allowEmpty) return fail("empty map");
    const next = checkRecordSpan(b, q, end, max, false);
    if (next === INCOMPLETE) return INCOMPLETE;
    return next === INVALID ? fail("empty map not followed by a record") : q;
  }
  if (n * 2 > max) return failWith(4, n, max);
  for (let i = 0; i < n; i++) {
    if (q >= end) return INCOMPLETE;
    const k = b[q];
    // Every record is checked before it is read: the common key (a short ASCII string) and values (float64,
    // small integers) are stepped over here, as skipObject would, and the rest is left to it.
    const e = q + 1 + (k & 0x1f);
    if (k >= 0xa1 && k <= 0xbf && e <= end && b[e - 1] < 0x80 && (e - 2 <= q || b[e - 2] < 0x80) && (k & 0x1f) <= max) {
      if (e - 3 > q && b[e - 3] >= 0x80 && !utf8Fits(b, q + 1, e)) return fail("a string ends inside a UTF-8 sequence");
      q = e;
    } else if ((k >= 0xa0 && k <= 0xbf) || k === 0xd9 || k === 0xda || k === 0xdb) {
      q = skipObject(b, q, end, max, 1);
      if (q < 0) return q;
    } else return fail("a map key is not a string");
    const v = b[q];
    if (v === 0xcb) q += 9;
    else if (v <= 0x7f && q < end) q++;
    else {
      q = skipObject(b, q, end, max, 1);
      if (q < 0) return q;
    }
  }
  // A scalar, string or bytes value cut short by the end of the data ends past `end`.
  if (q > end) return INCOMPLETE;
  // Whole in one chunk but over the limit: the same bytes arriving in pieces would be garbage too.
  return q - p > max ? fail(`a record of ${q - p} B exceeds the ${max} B record limit`) : q;
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
  return failText();
}
