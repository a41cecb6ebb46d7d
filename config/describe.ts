/**
 * Reads a table's options out of its zod schema: key, type, default (as one
 * writes it in TOML) and description. The docs (`deno task docs`), `telebus
 * transports TYPE` and the JSON Schema of `telemetry.toml` all come from here,
 * so the schema stays the one source of an option's default and meaning.
 *
 * @module
 */
import { globalRegistry } from "npm:zod@^4.1.12";
import { type OptionKind, optionKinds } from "./schema.ts";

/** One option of a table. */
export interface OptionDoc {
  /** The key. */
  key: string;
  /** Its type as the docs name it (`duration`, `integer ≥ 1`, `"a" | "b"`, `list of string`). */
  type: string;
  /** Its type in TypeScript, after parsing. */
  tsType: string;
  /** True when the table must give it. */
  required: boolean;
  /** The default as written in TOML (`"10s"`, `10000`, `["robot/telemetry"]`); undefined when there is none. */
  default?: string;
  /** The default as a TOML value (`"10s"` for a duration of 10000 ms), for the JSON Schema. */
  defaultValue?: unknown;
  /** What it does. */
  description: string;
}

/** The parts of zod's internal definitions this module reads. */
interface Def {
  type: string;
  innerType?: Schema;
  in?: Schema;
  out?: Schema;
  options?: Schema[];
  element?: Schema;
  valueType?: Schema;
  shape?: Record<string, Schema>;
  entries?: Record<string, string | number>;
  values?: unknown[];
  defaultValue?: unknown;
  checks?: { _zod: { def: { check: string; format?: string; value?: number; inclusive?: boolean } } }[];
}

/** A zod schema as far as this module looks into it. */
interface Schema {
  _zod: { def: Def };
}

function isSchema(s: unknown): s is Schema {
  return typeof s === "object" && s !== null && "_zod" in s;
}

/** The object shape of a table's schema (refinements keep the object). Throws for a schema that is not a zod object. */
export function shapeOf(schema: unknown): Record<string, unknown> {
  if (!isSchema(schema) || schema._zod.def.type !== "object" || !schema._zod.def.shape) {
    throw new Error("a table's schema must be a zod object (z.strictObject({...}))");
  }
  return schema._zod.def.shape;
}

/** `ms` as a TOML duration: `"10s"`, `"250ms"`, `"1h"`. */
export function formatDuration(ms: number): string {
  for (const [unit, n] of [["d", 86_400_000], ["h", 3_600_000], ["m", 60_000], ["s", 1000]] as const) {
    if (ms >= n && ms % n === 0) return `${ms / n}${unit}`;
  }
  return ms === 0 ? "0s" : `${ms}ms`;
}

/** `bytes` as a TOML size: `"64MiB"`, `"1KiB"`, or the bare number. */
export function formatSize(bytes: number): string | number {
  for (const [unit, n] of [["GiB", 1024 ** 3], ["MiB", 1024 ** 2], ["KiB", 1024]] as const) {
    if (bytes >= n && bytes % n === 0) return `${bytes / n}${unit}`;
  }
  return bytes;
}

/** Follows a field's wrappers, collecting what the docs need. */
function unwrap(field: Schema): {
  base: Schema;
  kind?: OptionKind;
  optional: boolean;
  hasDefault: boolean;
  defaultValue?: unknown;
  description?: string;
  out?: Schema;
} {
  let s = field;
  let optional = false, hasDefault = false, defaultValue: unknown, description: string | undefined;
  let kind: OptionKind | undefined;
  let out: Schema | undefined;
  for (let depth = 0; depth < 20; depth++) {
    description ??= globalRegistry.get(s as never)?.description;
    kind ??= optionKinds.get(s as never)?.kind;
    const d = s._zod.def;
    if (d.type === "default" && d.innerType) {
      if (!hasDefault) defaultValue = d.defaultValue;
      hasDefault = true;
      s = d.innerType;
    } else if (d.type === "optional" && d.innerType) {
      optional = true;
      s = d.innerType;
    } else if (d.type === "pipe" && d.in) {
      out ??= d.out;
      s = d.in;
    } else break;
  }
  return { base: s, kind, optional, hasDefault, defaultValue, description, out };
}

/** The number checks of a parsed value (`int`, `min`, `max`) as text: `integer ≥ 1`. */
function numberType(out: Schema | undefined, base: string): string {
  const checks = out?._zod.def.type === "number" ? out._zod.def.checks ?? [] : [];
  let type = checks.some((c) => c._zod.def.format?.includes("int")) ? "integer" : base;
  const lo = checks.find((c) => c._zod.def.check === "greater_than")?._zod.def;
  const hi = checks.find((c) => c._zod.def.check === "less_than")?._zod.def;
  if (lo && hi) type += ` ${lo.value}–${hi.value}`;
  else if (lo) type += ` ${lo.inclusive ? "≥" : ">"} ${lo.value}`;
  else if (hi) type += ` ${hi.inclusive ? "≤" : "<"} ${hi.value}`;
  return type;
}

/** Choices as the docs write them: `` `"a"` | `"b"` ``. */
function literals(values: readonly unknown[]): string {
  return values.map((v) => `\`${JSON.stringify(v)}\``).join(" | ");
}

/** The docs' name and the TypeScript type of a field's value. */
function typeOf(field: Schema): { type: string; tsType: string; kind?: OptionKind } {
  const u = unwrap(field);
  const d = u.base._zod.def;
  switch (u.kind) {
    case "duration":
      return { type: "duration", tsType: "number", kind: "duration" };
    case "size":
      return { type: numberType(u.out, "size").replace(/^integer/, "size"), tsType: "number", kind: "size" };
    case "number":
      return { type: numberType(u.out, "number"), tsType: "number", kind: "number" };
    case "flag":
      return { type: "bool", tsType: "boolean", kind: "flag" };
  }
  switch (d.type) {
    case "string":
      return { type: "string", tsType: "string" };
    case "number":
      return { type: numberType(u.base, "number"), tsType: "number" };
    case "boolean":
      return { type: "bool", tsType: "boolean" };
    case "enum": {
      const values = Object.values(d.entries ?? {});
      return { type: literals(values), tsType: values.map((v) => JSON.stringify(v)).join(" | ") };
    }
    case "literal":
      return { type: literals(d.values ?? []), tsType: (d.values ?? []).map((v) => JSON.stringify(v)).join(" | ") };
    case "array": {
      const e = typeOf(d.element!);
      return { type: `list of ${e.type}`, tsType: `${/[ |]/.test(e.tsType) ? `(${e.tsType})` : e.tsType}[]` };
    }
    case "record": {
      const v = typeOf(d.valueType!);
      return { type: v.type === "any" ? "table" : `table of ${v.type}`, tsType: `Record<string, ${v.tsType}>` };
    }
    case "union": {
      const parts = (d.options ?? []).map(typeOf);
      const kind = parts.find((p) => p.kind)?.kind;
      const pipedOut = u.out ? outTsType(u.out) : undefined;
      return {
        type: [...new Set(parts.map((p) => p.type))].join(" or "),
        tsType: pipedOut ?? [...new Set(parts.map((p) => p.tsType))].join(" | "),
        kind,
      };
    }
    case "object":
      return { type: "table", tsType: "Record<string, unknown>" };
    case "unknown":
    case "any":
      return { type: "any", tsType: "unknown" };
    default:
      return { type: d.type, tsType: "unknown" };
  }
}

/** The TypeScript type a transform pipes a value into, where this module can tell (an array of strings). */
function outTsType(out: Schema): string | undefined {
  return out._zod.def.type === "transform" ? "string[]" : undefined;
}

/** `value` (a parsed default) as written in TOML, for an option of `kind`. */
function tomlValue(value: unknown, kind: OptionKind | undefined): unknown {
  if (typeof value === "number" && kind === "duration" && value >= 0) return formatDuration(value);
  if (typeof value === "number" && kind === "size") return formatSize(value);
  return value;
}

/** `value` as TOML text (strings, numbers, booleans, arrays and tables of them). */
export function tomlText(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(tomlText).join(", ")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value);
    return entries.length === 0 ? "{}" : `{ ${entries.map(([k, v]) => `${k} = ${tomlText(v)}`).join(", ")} }`;
  }
  return JSON.stringify(value);
}

/** The options of a table's zod schema, in the schema's order. */
export function optionDocs(schema: unknown): OptionDoc[] {
  return Object.entries(shapeOf(schema)).map(([key, field]) => {
    if (!isSchema(field)) throw new Error(`${key}: not a zod schema`);
    const u = unwrap(field);
    const t = typeOf(field);
    const raw = typeof u.defaultValue === "function" ? (u.defaultValue as () => unknown)() : u.defaultValue;
    const value = u.hasDefault ? tomlValue(raw, t.kind) : undefined;
    return {
      key,
      type: t.type,
      tsType: t.tsType,
      required: !u.optional && !u.hasDefault,
      default: u.hasDefault ? tomlText(value) : undefined,
      defaultValue: value,
      description: u.description ?? "",
    };
  });
}
