/**
 * "Did you mean …?" for configuration mistakes: the known name nearest to a
 * misspelt one, and the keys a zod object schema accepts at a path.
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

/** The parts of a zod schema's internal definition that lead to the object shapes within it. */
interface SchemaDef {
  type?: string;
  shape?: Record<string, unknown>;
  innerType?: unknown;
  in?: unknown;
  out?: unknown;
  element?: unknown;
  options?: unknown[];
  left?: unknown;
  right?: unknown;
}

function defOf(schema: unknown): SchemaDef | undefined {
  return (schema as { _zod?: { def?: SchemaDef } } | undefined)?._zod?.def;
}

/** The object schemas `schema` may stand for, looking through optional, default, pipe, union and the like. */
function objectsOf(schema: unknown, depth = 0): SchemaDef[] {
  const def = defOf(schema);
  if (!def || depth > 20) return [];
  if (def.type === "object" && def.shape) return [def];
  const inner = [def.innerType, def.in, def.left, def.right, ...(def.options ?? [])].filter((s) => s !== undefined);
  return inner.flatMap((s) => objectsOf(s, depth + 1));
}

/**
 * The keys the object at `path` inside `schema` accepts (for an unknown key's
 * suggestion); empty when the schema is not made of zod objects there.
 */
export function keysAt(schema: unknown, path: readonly PropertyKey[]): string[] {
  let current: unknown[] = [schema];
  for (const p of path) {
    const next: unknown[] = [];
    for (const s of current) {
      if (typeof p === "number") {
        const d = defOf(s);
        // Arrays hide behind the same wrappers as objects.
        const arrays = [s, d?.innerType, d?.in].map(defOf).filter((x) => x?.type === "array");
        for (const a of arrays) if (a?.element) next.push(a.element);
      } else {
        for (const o of objectsOf(s)) if (o.shape && p in o.shape) next.push(o.shape[p as string]);
      }
    }
    current = next;
  }
  return [...new Set(current.flatMap((s) => objectsOf(s).flatMap((o) => Object.keys(o.shape ?? {}))))];
}
