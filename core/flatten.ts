/**
 * Flattening of nested dictionaries into `a/b/c` keys, and lookup of such paths.
 *
 * @module
 */
import type { Dict, Value } from "./record.ts";

/** True for a plain dictionary (not a list, bytes or date). */
export function isDict(v: unknown): v is Dict {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v) &&
    !(v instanceof Date);
}

/**
 * Flattens nested maps: `{a: {b: 1}}` becomes `{"a/b": 1}`. Lists and bytes
 * are leaves. Empty maps vanish (they hold no leaf). A map with nothing
 * nested is returned itself, not copied.
 */
export function flatten(data: Dict, separator = "/"): Dict {
  // Already flat (the common case for telemetry): return it as it is, so callers can keep its encodings.
  let nested = false;
  for (const k in data) {
    if (isDict(data[k])) {
      nested = true;
      break;
    }
  }
  if (!nested) return data;
  const out: Dict = {};
  const walk = (d: Dict, prefix: string) => {
    for (const k in d) {
      const v = d[k];
      if (isDict(v)) walk(v, prefix + k + separator);
      else out[prefix + k] = v;
    }
  };
  walk(data, "");
  return out;
}

/**
 * Looks up a `/`-separated path in nested maps and lists (numeric segments
 * index lists). Returns `undefined` when any segment is missing.
 */
export function lookupPath(data: Value | undefined, path: string, separator = "/"): Value | undefined {
  let cur: Value | undefined = data;
  for (const seg of path.split(separator)) {
    if (Array.isArray(cur)) {
      if (!/^\d+$/.test(seg)) return undefined;
      cur = cur[Number(seg)];
    } else if (isDict(cur)) {
      if (!Object.hasOwn(cur, seg)) return undefined;
      cur = cur[seg];
    } else return undefined;
  }
  return cur;
}
