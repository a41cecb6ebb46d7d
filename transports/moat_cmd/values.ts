/**
 * Turning MoaT values into bus values and records, and back.
 *
 * @module
 */
import { CborTag, isPlainDict, MoatObject, MoatProxy, Path } from "../../codecs/moat_values.ts";
import type { Dict, Value } from "../../core/record.ts";

/** A decoded MoaT value as a bus value: paths become arrays, objects `[name, ...args]`, proxies their name. */
export function toValue(v: unknown, depth = 0): Value {
  if (depth > 100) return null;
  if (v === null || v === undefined) return null;
  switch (typeof v) {
    case "number":
    case "bigint":
    case "string":
    case "boolean":
      return v;
    case "object":
      break;
    default:
      return String(v);
  }
  if (Array.isArray(v)) return v.map((x) => toValue(x, depth + 1));
  if (v instanceof Uint8Array || v instanceof Date) return v;
  if (v instanceof Path) return v.elements.map((x) => toValue(x, depth + 1));
  if (v instanceof MoatProxy) return v.name;
  if (v instanceof MoatObject) return [v.name, ...v.args.map((x) => toValue(x, depth + 1))];
  if (v instanceof CborTag) return toValue(v.value, depth + 1);
  if (v instanceof Map) {
    const d: Dict = {};
    for (const [k, x] of v) d[String(k)] = toValue(x, depth + 1);
    return d;
  }
  if (isPlainDict(v)) return toDict(v, depth);
  return String(v);
}

/** A dictionary of MoaT values as a bus dictionary. */
export function toDict(v: Record<string, unknown>, depth = 0): Dict {
  const d: Dict = {};
  for (const k of Object.keys(v)) d[k] = toValue(v[k], depth + 1);
  return d;
}

/** A streamed item (the message minus its header) as a record's dictionary: a lone dict as is, else `{value}`. */
export function itemDict(item: readonly unknown[]): Dict {
  if (item.length === 1 && isPlainDict(item[0])) return toDict(item[0]);
  return { value: toValue(item.length === 1 ? item[0] : item) };
}

/** Fills `{cmd}` and `{key}` placeholders of a stream-name template. */
export function streamName(template: string, cmd: string, data: Dict): string {
  return template.replace(/\{([^}]*)\}/g, (_m, key: string) => {
    if (key === "cmd") return cmd;
    const v = data[key];
    return typeof v === "string" || typeof v === "number" ? String(v) : "";
  });
}

/**
 * A MoaT value as JSON text: bytes as `{"$bin": base64}` (as the fixtures
 * write them), integers beyond 2^53 as bare JSON integers (exact), paths and
 * objects as {@linkcode toValue} gives them.
 */
export function toJson(v: unknown): string {
  const bigs: string[] = [];
  const s = JSON.stringify(toValue(v), (_k, x) => {
    if (typeof x === "bigint") {
      bigs.push(x.toString());
      return `\u0000big${bigs.length - 1}\u0000`;
    }
    if (x instanceof Uint8Array) return { $bin: btoa(String.fromCharCode(...x)) };
    if (typeof x === "number" && !Number.isFinite(x)) return String(x);
    return x;
  });
  return s.replace(/"\\u0000big(\d+)\\u0000"/g, (_m, i: string) => bigs[Number(i)]);
}

/** A command-line argument as a value: JSON when it parses (`42`, `"x"`, `[1]`, `{"a":1}`), else the string. */
export function parseArg(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
}
