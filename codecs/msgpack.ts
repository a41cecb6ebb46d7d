/**
 * MessagePack as mpacklog writes and reads it: str for strings, bin for bytes,
 * floats always float64, the smallest header for every integer and map, no
 * msgpackr "records" extension, typed arrays as lists (as mpacklog's
 * `.tolist()`). Integers beyond 2^53 decode as bigint.
 *
 * @module
 */
// The pure-JavaScript entry points: msgpackr's main entry also loads its native string extractor through Node's
// module loader, which costs about 15 MB of resident memory and an FFI permission for no measurable gain on telemetry
// (short keys and numbers).
import { addExtension, Packr } from "npm:msgpackr@^1.11.5/pack";
import { Unpackr } from "npm:msgpackr@^1.11.5/unpack";
import type { BusRecord, Dict, Value } from "../core/record.ts";
import { assertRecordSize, assertWithinDepth, limitReasonOf, RecordLimitError } from "../core/limits.ts";
import { MsgpackError } from "./msgpack_error.ts";
import { INCOMPLETE, lastCheckFailure, valueEnd } from "./msgpack_check.ts";

export { MsgpackError };

/** Options shared by the encoder and decoder: plain MessagePack, nothing msgpackr-specific. */
const OPTIONS = {
  useRecords: false,
  moreTypes: false,
  // mpacklog (Python msgpack) writes the smallest map header; msgpackr's default is map16.
  variableMapSize: true,
  int64AsType: "auto",
  mapsAsObjects: true,
} as const;

// msgpackr's type declarations lag behind its options ("auto" is supported since 1.10).
type PackrOptions = ConstructorParameters<typeof Packr>[0];
// msgpackr writes a typed array other than Uint8Array as `bin` with every element cut to one byte. mpacklog turns
// arrays into lists (`.tolist()` in its `serialize` fallback), so do the same: a typed array becomes a list of numbers
// (bigints for the 64-bit integer arrays). An extension without a type code writes the replacement value as it is.
for (
  const Class of [
    Int8Array,
    Uint8ClampedArray,
    Int16Array,
    Uint16Array,
    Int32Array,
    Uint32Array,
    Float32Array,
    Float64Array,
    BigInt64Array,
    BigUint64Array,
  ]
) {
  addExtension(
    { Class, write: (a: ArrayLike<number | bigint>) => Array.from(a) } as Parameters<typeof addExtension>[0],
  );
}

const packr = new Packr(OPTIONS as unknown as PackrOptions);
const unpackr = new Unpackr(OPTIONS as unknown as PackrOptions);

/** Encodes one value as MessagePack bytes, mpacklog-compatible. */
export function encodeMsgpack(value: Value | Dict): Uint8Array {
  // msgpackr returns a view into a shared 8 KiB block that later encodes never overwrite (they move on to a new
  // block), so the result may be kept, e.g. as a record's cached encoding.
  return packr.pack(value);
}

/**
 * The record's dictionary as MessagePack: the cached bytes (`encoded.msgpack`, which came through a reader's check
 * or an encoding within the limits), or encoded now with {@linkcode encodeRecordMsgpack} and cached on the record
 * for the outputs after this one.
 */
export function recordMsgpack(r: BusRecord): Uint8Array {
  const cached = r.encoded?.msgpack;
  if (cached) return cached;
  const b = encodeRecordMsgpack(r.data);
  (r.encoded ??= {}).msgpack = b;
  return b;
}

/**
 * Encodes a record's dictionary as {@linkcode encodeMsgpack} does, within the
 * limits of core/limits.ts, so that telebus's readers take back what its
 * writers write. Throws a {@linkcode RecordLimitError} (`too_deep`,
 * `too_large` or `unencodable`, e.g. a bigint beyond 64 bits) otherwise.
 */
export function encodeRecordMsgpack(data: Dict): Uint8Array {
  assertWithinDepth(data);
  let b: Uint8Array;
  try {
    b = packr.pack(data);
  } catch (e) {
    throw new RecordLimitError(limitReasonOf(e), `not encodable as MessagePack: ${(e as Error).message}`);
  }
  assertRecordSize(b.length);
  return b;
}

/**
 * True when `bytes[start, end)` holds a byte that may be an array 32 or map 32 header (0xdd, 0xdf): only a 32-bit
 * count can keep msgpackr busy for long (a 16-bit one is at most 65535 steps), so only then is the span walked.
 * Two native scans cost next to nothing; the walk costs about a quarter of a decode.
 */
function claimsBillions(bytes: Uint8Array, start: number, end: number): boolean {
  const span = start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end);
  return span.includes(0xdd) || span.includes(0xdf);
}

/**
 * Decodes the one MessagePack object in `bytes[start, end)`. Throws
 * {@linkcode MsgpackError} (with the offset) for bytes that are not one.
 * Unless `checked` (the caller has walked the span with the `.mpack` reader's
 * structural check already), a span that may hold a 32-bit array or map
 * count is walked first: msgpackr trusts element counts, so five bytes
 * claiming 4 billion elements would keep it busy for minutes.
 */
export function decodeMsgpack(bytes: Uint8Array, start = 0, end = bytes.length, checked = false): Value {
  if (!checked && claimsBillions(bytes, start, end)) {
    const e = valueEnd(bytes, start, end);
    if (e !== end) {
      throw new MsgpackError(
        `bad MessagePack at offset ${start}: ${
          e === INCOMPLETE ? "the data ends inside the value" : e < 0 ? lastCheckFailure() : "bytes after the value"
        }`,
        start,
      );
    }
  }
  try {
    return unpackr.unpack(bytes, { start, end } as never) as Value;
  } catch (e) {
    // msgpackr throws plain Errors and RangeErrors; callers tell bad input from bugs by the type.
    throw new MsgpackError(`bad MessagePack at offset ${start}: ${(e as Error).message}`, start, { cause: e });
  }
}

/** Decodes every object of a buffer that holds whole objects back to back. Throws {@linkcode MsgpackError} on a torn one. */
export function decodeMsgpackMultiple(bytes: Uint8Array): Value[] {
  for (let p = 0; p < bytes.length;) {
    const e = valueEnd(bytes, p);
    if (e < 0) {
      const why = e === INCOMPLETE ? "the data ends inside a value" : lastCheckFailure();
      throw new MsgpackError(`bad MessagePack at offset ${p}: ${why}`, p);
    }
    p = e;
  }
  try {
    return unpackr.unpackMultiple(bytes) as Value[];
  } catch (e) {
    throw new MsgpackError(`bad MessagePack: ${(e as Error).message}`, 0, { cause: e });
  }
}
