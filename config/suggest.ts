/**
 * "Did you mean …?" for configuration mistakes: the known name nearest to a
 * misspelt one.
 *
 * @module
 */
import { distance } from "npm:fastest-levenshtein@^1.0.16/esm/mod.js";

/**
 * The name in `known` nearest to `word` by edit distance (case-insensitive),
 * when it is near enough to be a likely typo: at most one edit per three
 * characters (`sreams` → `streams`, `mpack_fil` → `mpack_file`), and at least
 * one. Undefined when nothing is that near.
 */
export function closestName(word: string, known: Iterable<string>): string | undefined {
  const w = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = distance(w, k.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return bestDistance <= Math.max(1, Math.floor(word.length / 3)) ? best : undefined;
}

/** ` (did you mean "x"?)` for the nearest known name, or nothing. */
export function didYouMean(word: string, known: Iterable<string>): string {
  const c = closestName(word, known);
  return c === undefined ? "" : ` (did you mean ${JSON.stringify(c)}?)`;
}
