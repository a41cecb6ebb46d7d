/**
 * Reads a table's options out of its valibot schema: key, type, default (as one
 * writes it in TOML) and description. The docs (`deno task docs`), `telebus
 * transports TYPE` and the JSON Schema of `telemetry.toml` all come from here,
 * so the schema stays the one source of an option's default and meaning.
 *
 * @module
 */
import type { OptionKind } from "./options.ts";
import { schemaOf } from "./table.ts";

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
  /** The default as a TOML value (`"10s"`), for the JSON Schema. */
  defaultValue?: unknown;
  /** What it does. */
  description: string;
}

/** A valibot schema or action, as far as this module looks into it. */
export interface SchemaNode {
  /** `"schema"`, `"validation"`, `"transformation"` or `"metadata"`. */
  kind: string;
  /** `string`, `optional`, `min_value`, `description`, … */
  type: string;
  /** A pipe: the schema first, then its actions. */
  pipe?: SchemaNode[];
  /** What an optional wraps. */
  wrapped?: SchemaNode;
  /** An optional's default (a value, or a function giving it). */
  default?: unknown;
  /** An object's keys. */
  entries?: Record<string, SchemaNode>;
  /** A union's or variant's options; a picklist's values. */
  options?: unknown[];
  /** A list's item. */
  item?: SchemaNode;
  /** A record's value. */
  value?: SchemaNode;
  /** A literal's value. */
  literal?: unknown;
  /** A check's bound. */
  requirement?: unknown;
  /** A description's text. */
  description?: string;
  /** A metadata action's data. */
  metadata?: { kind?: OptionKind };
}

function isNode(s: unknown): s is SchemaNode {
  return typeof s === "object" && s !== null && "kind" in s && "type" in s;
}

const OBJECT_TYPES = new Set(["object", "strict_object", "loose_object"]);

/**
 * The keys of a table's schema (a {@linkcode table} or a valibot object, piped
 * or not). Throws for a schema that is not an object.
 */
export function shapeOf(schema: unknown): Record<string, SchemaNode> {
  const s = schemaOf(schema);
  if (!isNode(s) || !OBJECT_TYPES.has(s.type) || !s.entries) {
    throw new Error("a table's schema must be a valibot object (v.strictObject({...}))");
  }
  return s.entries;
}

/** A number check of a field: `min_value`, `gt_value`, … with its bound. */
interface Check {
  type: string;
  requirement?: unknown;
}

/** Follows a field's pipes and optional wrapper, collecting what the docs need. */
function unwrap(field: SchemaNode): {
  base: SchemaNode;
  kind?: OptionKind;
  optional: boolean;
  hasDefault: boolean;
  defaultValue?: unknown;
  description?: string;
  checks: Check[];
  transformed: boolean;
} {
  let s = field;
  let optional = false, hasDefault = false, defaultValue: unknown, description: string | undefined;
  let kind: OptionKind | undefined;
  let transformed = false;
  const checks: Check[] = [];
  for (let depth = 0; depth < 20; depth++) {
    if (s.pipe && s.pipe.length > 0) {
      // The outermost description wins, as the last one given does in valibot.
      for (const action of s.pipe.slice(1).reverse()) {
        if (action.type === "description") description ??= action.description;
        else if (action.type === "metadata") kind ??= action.metadata?.kind;
        else if (action.kind === "validation") checks.push({ type: action.type, requirement: action.requirement });
        else if (action.kind === "transformation") transformed = true;
      }
      s = s.pipe[0];
    } else if (s.type === "optional" && s.wrapped) {
      optional = true;
      if (!hasDefault && s.default !== undefined) {
        hasDefault = true;
        defaultValue = typeof s.default === "function" ? (s.default as () => unknown)() : s.default;
      }
      s = s.wrapped;
    } else break;
  }
  return { base: s, kind, optional, hasDefault, defaultValue, description, checks, transformed };
}

/** The number checks of a value (`integer`, `min_value`, …) as text: `integer ≥ 1`. */
function numberType(checks: Check[], base: string): string {
  let type = checks.some((c) => c.type === "integer") ? "integer" : base;
  const lo = checks.find((c) => c.type === "min_value" || c.type === "gt_value");
  const hi = checks.find((c) => c.type === "max_value" || c.type === "lt_value");
  if (lo && hi) type += ` ${lo.requirement}–${hi.requirement}`;
  else if (lo) type += ` ${lo.type === "min_value" ? "≥" : ">"} ${lo.requirement}`;
  else if (hi) type += ` ${hi.type === "max_value" ? "≤" : "<"} ${hi.requirement}`;
  return type;
}

/** Choices as the docs write them: `` `"a"` | `"b"` ``. */
function literals(values: readonly unknown[]): string {
  return values.map((v) => `\`${JSON.stringify(v)}\``).join(" | ");
}

/** The docs' name and the TypeScript type of a field's value. */
function typeOf(field: SchemaNode): { type: string; tsType: string; kind?: OptionKind } {
  const u = unwrap(field);
  const d = u.base;
  switch (u.kind) {
    case "duration":
      return { type: "duration", tsType: "number", kind: "duration" };
    case "size":
      return { type: numberType(u.checks, "size").replace(/^integer/, "size"), tsType: "number", kind: "size" };
    case "number":
      return { type: numberType(u.checks, "number"), tsType: "number", kind: "number" };
    case "flag":
      return { type: "bool", tsType: "boolean", kind: "flag" };
  }
  switch (d.type) {
    case "string":
      return { type: "string", tsType: "string" };
    case "number":
      return { type: numberType(u.checks, "number"), tsType: "number" };
    case "boolean":
      return { type: "bool", tsType: "boolean" };
    case "picklist": {
      const values = d.options ?? [];
      return { type: literals(values), tsType: values.map((v) => JSON.stringify(v)).join(" | ") };
    }
    case "literal":
      return { type: literals([d.literal]), tsType: JSON.stringify(d.literal) };
    case "array": {
      const e = typeOf(d.item!);
      return { type: `list of ${e.type}`, tsType: `${/[ |]/.test(e.tsType) ? `(${e.tsType})` : e.tsType}[]` };
    }
    case "record": {
      const v = typeOf(d.value!);
      return { type: v.type === "any" ? "table" : `table of ${v.type}`, tsType: `Record<string, ${v.tsType}>` };
    }
    case "union": {
      const parts = (d.options ?? []).filter(isNode).map(typeOf);
      const kind = parts.find((p) => p.kind)?.kind;
      return {
        type: [...new Set(parts.map((p) => p.type))].join(" or "),
        // A union that a transform turns into one form: the transports' "a string or a list" is a list after it.
        tsType: u.transformed ? "string[]" : [...new Set(parts.map((p) => p.tsType))].join(" | "),
        kind,
      };
    }
    case "object":
    case "strict_object":
    case "loose_object":
    case "variant":
      return { type: "table", tsType: "Record<string, unknown>" };
    case "unknown":
    case "any":
      return { type: "any", tsType: "unknown" };
    default:
      return { type: d.type, tsType: "unknown" };
  }
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

/** The options of a table's schema, in the schema's order. */
export function optionDocs(schema: unknown): OptionDoc[] {
  return Object.entries(shapeOf(schema)).map(([key, field]) => {
    if (!isNode(field)) throw new Error(`${key}: not a valibot schema`);
    const u = unwrap(field);
    const t = typeOf(field);
    return {
      key,
      type: t.type,
      tsType: t.tsType,
      required: !u.optional,
      default: u.hasDefault ? tomlText(u.defaultValue) : undefined,
      defaultValue: u.hasDefault ? u.defaultValue : undefined,
      description: u.description ?? "",
    };
  });
}
