/**
 * A seeded pseudo-random number generator (mulberry32) for tests, so that
 * every run sees the same "random" data and a failure can be replayed.
 *
 * @module
 */
import { mulberry32 } from "../core/random.ts";

/**
 * A generator of numbers in [0, 1) from `seed` (mulberry32: small and fast, not for cryptography).
 *
 * @param seed any 32-bit integer; the same seed gives the same sequence
 */
export function prng(seed: number): () => number {
  return mulberry32(seed);
}

/**
 * `n` pseudo-random bytes from `seed` (the top byte of each mulberry32 number).
 *
 * @param n how many bytes
 * @param seed any 32-bit integer; the same seed gives the same bytes
 */
export function randomBytes(n: number, seed: number): Uint8Array {
  const next = prng(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(next() * 256);
  return out;
}
