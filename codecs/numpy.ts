/**
 * numpy dtype strings (every form mflow accepts, both byte orders) and the
 * typed arrays they map to: decoding a frame into a flat typed array of the
 * machine's byte order, and a typed array back into numpy's bytes.
 *
 * @module
 */
import { MflowError } from "./mflow_error.ts";

/** A parsed numpy dtype string. */
export interface Dtype {
  /** numpy kind: `b` bool, `i`/`u` integers, `f` float, `c` complex, `S`/`U`/`V` bytes, `M`/`m` datetimes. */
  kind: "b" | "i" | "u" | "f" | "c" | "S" | "U" | "V" | "M" | "m";
  /** Bytes per element. */
  size: number;
  /** Little-endian (also for one-byte types and for `=`/`|`, i.e. native on every machine mflow runs on). */
  little: boolean;
}

/** numpy's names and one-character codes, as `kind` + size. */
const DTYPE_NAMES: Record<string, string> = {
  bool: "b1",
  bool_: "b1",
  "?": "b1",
  int8: "i1",
  byte: "i1",
  b: "i1",
  uint8: "u1",
  ubyte: "u1",
  B: "u1",
  int16: "i2",
  short: "i2",
  h: "i2",
  uint16: "u2",
  ushort: "u2",
  H: "u2",
  int32: "i4",
  intc: "i4",
  i: "i4",
  uint32: "u4",
  uintc: "u4",
  I: "u4",
  int64: "i8",
  int: "i8",
  int_: "i8",
  long: "i8",
  longlong: "i8",
  intp: "i8",
  l: "i8",
  q: "i8",
  p: "i8",
  uint64: "u8",
  uint: "u8",
  ulong: "u8",
  ulonglong: "u8",
  uintp: "u8",
  L: "u8",
  Q: "u8",
  P: "u8",
  float16: "f2",
  half: "f2",
  e: "f2",
  float32: "f4",
  single: "f4",
  f: "f4",
  float64: "f8",
  float: "f8",
  double: "f8",
  float_: "f8",
  d: "f8",
  complex64: "c8",
  csingle: "c8",
  F: "c8",
  complex128: "c16",
  complex: "c16",
  cdouble: "c16",
  complex_: "c16",
  D: "c16",
};

const dtypeCache = new Map<string, Dtype>();

/**
 * Parses a numpy dtype string as mflow's headers carry it: names (`uint16`,
 * `float32`, `bool`), one-character codes (`H`, `f`, `?`), and
 * kind+size forms with an optional byte order (`<u2`, `>f8`, `=i4`, `|u1`,
 * `S16`, `<U8`, `V4`, `<M8[ns]`). `float128`/`longdouble` and `object` have no
 * JavaScript equivalent and are rejected.
 */
export function parseDtype(type: string): Dtype {
  const cached = dtypeCache.get(type);
  if (cached) return cached;
  let s = type.trim();
  let little = true;
  if (/^[<>=|!]/.test(s)) {
    little = !(s[0] === ">" || s[0] === "!");
    s = s.slice(1);
  }
  const base = /^(datetime64|timedelta64)(\[\w+\])?$/.exec(s);
  if (base) s = (base[1] === "datetime64" ? "M8" : "m8") + (base[2] ?? "");
  const named = DTYPE_NAMES[s];
  if (named) s = named;
  const m = /^([biufcSaUVMm])(\d+)(\[\w+\])?$/.exec(s);
  if (!m) throw new Error(`unsupported dtype ${JSON.stringify(type)}`);
  const kind = (m[1] === "a" ? "S" : m[1]) as Dtype["kind"];
  const n = Number(m[2]);
  const size = kind === "U" ? 4 * n : n;
  const ok = kind === "b"
    ? size === 1
    : kind === "i" || kind === "u"
    ? [1, 2, 4, 8].includes(size)
    : kind === "f"
    ? [2, 4, 8].includes(size)
    : kind === "c"
    ? [8, 16].includes(size)
    : kind === "M" || kind === "m"
    ? size === 8
    : size > 0;
  if (!ok) throw new Error(`unsupported dtype ${JSON.stringify(type)}`);
  const d: Dtype = { kind, size, little: size === 1 ? true : little };
  dtypeCache.set(type, d);
  return d;
}

/** A typed array as decoded from a frame. */
export type TypedArray =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | BigUint64Array
  | BigInt64Array
  | Float32Array
  | Float64Array;

/** Float16Array where the runtime has it (Deno 2 does); else float16 stays as raw 16-bit words. */
const Float16: (new (buffer: ArrayBufferLike, byteOffset: number, length: number) => ArrayBufferView) | undefined =
  (globalThis as unknown as { Float16Array?: new (b: ArrayBufferLike, o: number, l: number) => ArrayBufferView })
    .Float16Array;

/** Element width of the typed array that holds one component (complex numbers are two floats). */
function lane(d: Dtype): number {
  if (d.kind === "c") return d.size / 2;
  if (d.kind === "U") return 4;
  if (d.kind === "S" || d.kind === "V") return 1;
  return d.size;
}

function view(d: Dtype, buffer: ArrayBufferLike, offset: number, bytes: number): ArrayBufferView {
  const w = lane(d);
  const n = bytes / w;
  switch (d.kind) {
    case "f":
    case "c":
      if (w === 2) return Float16 ? new Float16(buffer, offset, n) : new Uint16Array(buffer, offset, n);
      return w === 4 ? new Float32Array(buffer, offset, n) : new Float64Array(buffer, offset, n);
    case "i":
    case "M":
    case "m":
      return w === 1
        ? new Int8Array(buffer, offset, n)
        : w === 2
        ? new Int16Array(buffer, offset, n)
        : w === 4
        ? new Int32Array(buffer, offset, n)
        : new BigInt64Array(buffer, offset, n);
    case "U":
      return new Uint32Array(buffer, offset, n);
    default: // b, u, S, V
      return w === 1
        ? new Uint8Array(buffer, offset, n)
        : w === 2
        ? new Uint16Array(buffer, offset, n)
        : w === 4
        ? new Uint32Array(buffer, offset, n)
        : new BigUint64Array(buffer, offset, n);
  }
}

/** Swaps every `w`-byte lane of `b` in place. */
function swapLanes(b: Uint8Array, w: number): void {
  for (let i = 0; i + w <= b.length; i += w) {
    for (let j = 0, k = w - 1; j < k; j++, k--) {
      const t = b[i + j];
      b[i + j] = b[i + k];
      b[i + k] = t;
    }
  }
}

/** Number of elements of a shape (`[]` is a scalar: 1); -1 stands for "the rest", as numpy's reshape allows. */
function elements(shape: unknown, total?: number): number {
  if (typeof shape === "number") shape = [shape];
  if (!Array.isArray(shape)) throw new MflowError("bad_header", `shape ${JSON.stringify(shape)} is not a list`);
  let n = 1;
  let free = false;
  for (const s of shape) {
    if (s === -1 && !free) {
      free = true;
      continue;
    }
    if (typeof s !== "number" || !Number.isInteger(s) || s < 0) {
      throw new MflowError("bad_header", `shape ${JSON.stringify(shape)} is not a list of sizes`);
    }
    n *= s;
  }
  if (free) return total !== undefined && n > 0 && total % n === 0 ? total : -1;
  return n;
}

/**
 * Decodes one frame as a flat array of `type` (numpy's `frombuffer(frame,
 * type).reshape(shape)`): the frame must hold exactly dtype × shape bytes.
 * Arrays in the machine's byte order are views on the frame (no copy) when
 * aligned; big-endian ones are copied and swapped. Complex numbers become
 * interleaved (re, im) floats; `S`/`V` stay bytes, `U` becomes UTF-32 code
 * units; datetimes are int64 counts.
 */
export function decodeArray(frame: Uint8Array, type: string, shape: unknown): ArrayBufferView {
  let d: Dtype;
  try {
    d = parseDtype(type);
  } catch (e) {
    throw new MflowError("bad_header", (e as Error).message);
  }
  const n = elements(shape, frame.length / d.size);
  const want = n * d.size;
  if (frame.length !== want) {
    throw new MflowError(
      "frame_size",
      `frame has ${frame.length} bytes but ${type} × ${JSON.stringify(shape)} needs ${n < 0 ? "a multiple" : want}`,
    );
  }
  const w = lane(d);
  if (d.little && frame.byteOffset % w === 0) return view(d, frame.buffer, frame.byteOffset, frame.length);
  const copy = frame.slice();
  if (!d.little) swapLanes(copy, w);
  return view(d, copy.buffer, 0, copy.length);
}

/** The bytes of a typed array in the byte order of `type` (what numpy's `tobytes()` gives). */
export function arrayBytes(array: ArrayBufferView, type?: string): Uint8Array {
  const bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
  if (!type) return bytes;
  const d = parseDtype(type);
  if (d.little) return bytes;
  const copy = bytes.slice();
  swapLanes(copy, lane(d));
  return copy;
}

/** The numpy dtype name of a typed array's element type (`Uint8Array` → `uint8`, …). */
export function dtypeOf(array: ArrayBufferView): string {
  switch (array.constructor.name) {
    case "Int8Array":
      return "int8";
    case "Uint16Array":
      return "uint16";
    case "Int16Array":
      return "int16";
    case "Uint32Array":
      return "uint32";
    case "Int32Array":
      return "int32";
    case "BigUint64Array":
      return "uint64";
    case "BigInt64Array":
      return "int64";
    case "Float16Array":
      return "float16";
    case "Float32Array":
      return "float32";
    case "Float64Array":
      return "float64";
    default: // Uint8Array, Buffer, Uint8ClampedArray, DataView
      return "uint8";
  }
}
