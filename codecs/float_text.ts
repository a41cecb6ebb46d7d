/**
 * Floats as text straight into bytes: Ryu's shortest round-trip digits
 * (vendor/ryu/, compiled to WebAssembly by scripts/build_float_wasm.sh),
 * laid out as ECMAScript's `Number::toString` lays them out in fixed
 * notation, written into the module's own memory. `String(v)` gives the same
 * text, but as a string that must then be encoded and copied; writing the
 * digits where the output is built is what makes `dump` fast.
 *
 * @module
 */
import { FLOAT_TEXT_WASM } from "./float_text_wasm.ts";

/** What the WebAssembly module exports. */
interface FloatTextExports {
  memory: WebAssembly.Memory;
  fixed(v: number, at: number): number;
  __heap_base: WebAssembly.Global;
}

/** Memory that output is built in, with the float writer that writes into it. */
export interface FloatText {
  /**
   * Writes `v` at byte `at` of {@linkcode FloatText.bytes} as `String(v)`
   * prints it, and returns the offset just past it. Only for finite `v`
   * other than zero that `String` prints without an exponent
   * (1e-6 ≤ |v| < 1e21); there must be room for 25 bytes.
   */
  readonly fixed: (v: number, at: number) => number;
  /** The first byte callers may use; those below it are the module's. */
  readonly start: number;
  /** The module's whole memory; replaced by {@linkcode FloatText.reserve} when it grows. */
  bytes: Uint8Array;
  /** Makes bytes `[start, start + n)` usable; may replace {@linkcode FloatText.bytes}. */
  reserve(n: number): void;
}

let loaded: FloatText | undefined;

function decodeBase64(text: string): Uint8Array {
  const s = atob(text);
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
  return b;
}

/** The float writer, instantiated on first use (a 15 KB module, compiled synchronously). */
export function floatText(): FloatText {
  if (loaded) return loaded;
  const module = new WebAssembly.Module(decodeBase64(FLOAT_TEXT_WASM) as Uint8Array<ArrayBuffer>);
  const ex = new WebAssembly.Instance(module, {}).exports as unknown as FloatTextExports;
  const memory = ex.memory;
  const start = ex.__heap_base.value as number;
  const ft: FloatText = {
    fixed: ex.fixed,
    start,
    bytes: new Uint8Array(memory.buffer),
    reserve(n: number): void {
      // Called per record: the size is read from the view (`memory.buffer` is a slower getter).
      const need = start + n - ft.bytes.length;
      if (need <= 0) return;
      // Growing replaces the buffer; at least doubling keeps the number of replacements small.
      memory.grow(Math.max(Math.ceil(need / 65536), ft.bytes.length / 65536));
      ft.bytes = new Uint8Array(memory.buffer);
    },
  };
  loaded = ft;
  return ft;
}
