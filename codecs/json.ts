/**
 * JSON text for telemetry values, written by hand because `JSON.stringify`
 * cannot print them faithfully: bigints are printed exactly, NaN and
 * ±Infinity become `null`, bytes (a `Uint8Array`, a Node `Buffer` or a
 * `DataView`) become `{"$bin": "<base64>"}` (the form the fixtures document),
 * other typed arrays (`Float32Array`, `Int8Array`, even `Uint8ClampedArray`)
 * become arrays of numbers, and dates become ISO strings. An `undefined` map
 * member is left out, as `JSON.stringify` does.
 *
 * The `python` style prints what Python's `json.dumps` prints (and so what
 * `mpacklog dump` prints): separators `", "` and `": "`, every character
 * outside printable ASCII as a `\uXXXX` escape (surrogate pairs for astral
 * characters), and floats in Python's `repr` notation (`1e-05`, `1e+16`).
 * JavaScript cannot tell `1.0` from `1`, so whole floats print as integers.
 *
 * @module
 */

/** Options of {@linkcode toJson}. */
export interface JsonOptions {
  /**
   * `compact` (default): no spaces, UTF-8 text as is. `python`: as Python's
   * `json.dumps` prints it (`", "`, `": "`, `ensure_ascii`, `repr` floats).
   */
  style?: "compact" | "python";
}

// The output is accumulated in one module-level string (V8 concatenates into
// ropes cheaply) instead of passing a builder around; toJson is synchronous and
// never re-entered, so this is safe.
let out = "";
let py = false;

/** Any character that needs an escape in either style: `"`, `\`, controls, and everything past `~`. */
// deno-lint-ignore no-control-regex -- control characters are exactly what must be escaped
const NEEDS_WORK = /["\\\u0000-\u001f\u007f-\uffff]/;
/** Characters Python's `ensure_ascii` escapes that `JSON.stringify` leaves alone. */
const NON_ASCII = /[\u007f-\uffff]/;

/** Escapes every UTF-16 unit past `~` as `\uXXXX`; astral characters become surrogate pairs, as in Python. */
function ensureAscii(quoted: string): string {
  let r = "";
  let from = 0;
  for (let i = 0; i < quoted.length; i++) {
    const c = quoted.charCodeAt(i);
    if (c < 0x7f) continue;
    r += quoted.slice(from, i) + (c < 0x1000 ? (c < 0x100 ? "\\u00" : "\\u0") : "\\u") + c.toString(16);
    from = i + 1;
  }
  return r + quoted.slice(from);
}

function writeString(s: string): void {
  if (!NEEDS_WORK.test(s)) {
    out += '"' + s + '"';
    return;
  }
  const quoted = JSON.stringify(s);
  // DEL and non-ASCII pass through JSON.stringify unescaped; only Python escapes them.
  out += py && NON_ASCII.test(quoted) ? ensureAscii(quoted) : quoted;
}

/** Map keys repeat in every record: their quoted forms are cached per style (bounded). */
const keyCache = [new Map<string, string>(), new Map<string, string>()];
const KEY_CACHE_MAX = 10_000;

function writeKey(k: string): void {
  const cache = keyCache[py ? 1 : 0];
  let q = cache.get(k);
  if (q === undefined) {
    const saved = out;
    out = "";
    writeString(k);
    q = out;
    out = saved;
    if (cache.size >= KEY_CACHE_MAX) cache.clear();
    cache.set(k, q);
  }
  out += q;
}

/**
 * Formats a finite number as Python's `repr(float)` does, except that whole
 * numbers in the safe-integer range print without `.0` (they may be integers;
 * JavaScript cannot tell). `-0` prints as `-0.0` (only a float can be `-0`).
 * Non-finite values print as Python does: `nan`, `inf`, `-inf`.
 */
export function formatNumberPython(v: number): string {
  if (Number.isInteger(v) && v <= Number.MAX_SAFE_INTEGER && v >= -Number.MAX_SAFE_INTEGER) {
    return v === 0 && 1 / v < 0 ? "-0.0" : String(v);
  }
  if (v !== v) return "nan";
  if (v === Infinity) return "inf";
  if (v === -Infinity) return "-inf";
  const a = v < 0 ? -v : v;
  // Python uses fixed notation for decimal exponents -4..15; JS's String() agrees on that range.
  if (a >= 1e-4 && a < 1e16) return String(v);
  const e = v.toExponential(); // shortest round-trip digits, like repr
  const i = e.indexOf("e");
  const exp = e.slice(i + 2);
  return e.slice(0, i + 2) + (exp.length < 2 ? "0" + exp : exp);
}

function writeNumber(v: number): void {
  const a = v < 0 ? -v : v;
  // Most telemetry numbers fall here, where String() already prints what both styles want. JSON.stringify(v)
  // prints the same (ToString of a finite number) without V8's number-to-string cache, which keeps every result in
  // the old generation: with String(v), a long dump grew by megabytes a second, and encoding was ~15 % slower.
  if (a >= 1e-4 && a < 1e16) out += JSON.stringify(v);
  else if (v === 0) out += 1 / v > 0 ? "0" : py ? "-0.0" : "-0";
  else if (v !== v || a === Infinity) out += "null";
  else out += py ? formatNumberPython(v) : String(v);
}

function bytesOf(v: ArrayBufferView): Uint8Array {
  return v instanceof Uint8Array ? v : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

function writeValue(v: unknown): void {
  switch (typeof v) {
    case "string":
      writeString(v);
      return;
    case "number":
      writeNumber(v);
      return;
    case "boolean":
      out += v ? "true" : "false";
      return;
    case "bigint":
      out += v.toString();
      return;
    case "object":
      break;
    default: // undefined, functions, symbols: as JSON.stringify does inside arrays
      out += "null";
      return;
  }
  if (v === null) {
    out += "null";
    return;
  }
  const sep = py ? ", " : ",";
  if (Array.isArray(v)) {
    out += "[";
    for (let i = 0; i < v.length; i++) {
      if (i > 0) out += sep;
      writeValue(v[i]);
    }
    out += "]";
    return;
  }
  if (ArrayBuffer.isView(v)) {
    if (v instanceof Uint8Array || v instanceof DataView) {
      out += py ? '{"$bin": "' : '{"$bin":"';
      out += bytesOf(v).toBase64();
      out += '"}';
      return;
    }
    // Typed arrays of wider elements are numeric vectors, not bytes.
    const items = v as unknown as ArrayLike<number | bigint>;
    out += "[";
    for (let i = 0; i < items.length; i++) {
      if (i > 0) out += sep;
      writeValue(items[i]);
    }
    out += "]";
    return;
  }
  if (v instanceof Date) {
    if (Number.isNaN(v.getTime())) out += "null";
    else out += '"' + v.toISOString() + '"';
    return;
  }
  const colon = py ? ": " : ":";
  const d = v as Record<string, unknown>;
  out += "{";
  let first = true;
  for (const k in d) {
    const x = d[k];
    if (x === undefined) continue; // as JSON.stringify: an undefined member is absent
    if (first) first = false;
    else out += sep;
    writeKey(k);
    out += colon;
    writeValue(x);
  }
  out += "}";
}

/**
 * Serialises a telemetry value as JSON text (one line, no trailing newline).
 * See the module documentation for the mapping of values JSON cannot hold.
 */
export function toJson(value: unknown, options?: JsonOptions): string {
  py = options?.style === "python";
  out = "";
  try {
    writeValue(value);
    return out;
  } finally {
    out = ""; // do not keep a large output alive between calls
  }
}
