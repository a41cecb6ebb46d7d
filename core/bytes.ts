/**
 * Byte-array helpers every layer uses.
 *
 * @module
 */

/**
 * The bytes of `parts` one after another: a single part as it is (not copied), otherwise a new array.
 *
 * @param parts the arrays, in order
 * @param length their total length, when the caller has counted it
 */
export function concatBytes(parts: readonly Uint8Array[], length?: number): Uint8Array {
  if (parts.length === 1) return parts[0];
  let n = length;
  if (n === undefined) {
    n = 0;
    for (const p of parts) n += p.length;
  }
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
