/**
 * Byte helpers for tests: joining, comparing, and hex both ways.
 *
 * @module
 */
import { concatBytes } from "../core/bytes.ts";

/**
 * The byte arrays one after another in one new array.
 *
 * @param parts the arrays, in order
 */
export function concat(...parts: Uint8Array[]): Uint8Array {
  // Always a new, plain Uint8Array: a test may change what it joined, and a Buffer (fast-check's) is no Uint8Array
  // to assert.deepStrictEqual.
  return parts.length === 1 ? new Uint8Array(parts[0]) : concatBytes(parts);
}

/**
 * Whether `a` and `b` hold the same bytes.
 *
 * @param a one array
 * @param b the other
 */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * Lower-case hex of `bytes`, two digits a byte, no separators.
 *
 * @param bytes the bytes
 */
export function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (x) => x.toString(16).padStart(2, "0")).join("");
}

/**
 * The bytes of a hex text (two digits a byte; spaces are ignored).
 *
 * @param text hex digits
 */
export function unhex(text: string): Uint8Array {
  return Uint8Array.from(text.replace(/\s+/g, "").match(/../g) ?? [], (x) => parseInt(x, 16));
}
