/**
 * Compact JSON text of telemetry values, as `toJson` (codecs/json.ts) writes
 * it, at the speed of `JSON.stringify`: values that `JSON.stringify` prints
 * the same way (the common case: numbers, strings, booleans, null, maps,
 * lists, dates) go to it; a value holding a bigint, a -0 or bytes (or another
 * typed array) goes to `toJson`. The check walks the value once without
 * allocating, which costs far less than `toJson`'s string building.
 *
 * @module
 */
import { toJson } from "./json.ts";

/** True when `JSON.stringify(v)` prints what `toJson(v)` prints. */
function stringifiable(v: unknown): boolean {
  switch (typeof v) {
    case "number":
      return v !== 0 || 1 / v > 0;
    case "bigint":
      return false;
    case "object": {
      if (v === null || v instanceof Date) return true;
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) if (!stringifiable(v[i])) return false;
        return true;
      }
      if (ArrayBuffer.isView(v)) return false;
      // for-in, not Object.values: no array per map, 3× faster on msgpackr's maps. The maps are plain (no
      // inherited enumerable keys), so it visits what JSON.stringify prints.
      const d = v as Record<string, unknown>;
      for (const k in d) {
        const x = d[k];
        // Inlined for the common flat map of numbers.
        if (typeof x === "number" ? x === 0 && 1 / x < 0 : typeof x !== "string" && !stringifiable(x)) return false;
      }
      return true;
    }
    default:
      return true;
  }
}

/** The compact JSON of `value`, identical to `toJson(value)`. */
export function toCompactJson(value: unknown): string {
  return stringifiable(value) ? JSON.stringify(value) : toJson(value);
}
