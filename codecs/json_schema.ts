/**
 * JSON Schemas inferred from records, for consumers that want a schema per
 * stream (Foxglove channels, MCAP channels). The schema describes the JSON
 * that `codecs/json.ts` `toJson` prints: numbers as `number` (an integral
 * float is still a float next time), bigints as `integer`, bytes as
 * `{"$bin": base64}`, wide typed arrays as arrays of numbers, dates as
 * strings.
 *
 * Shapes widen instead of flapping: {@linkcode mergeSchema} unites the schema
 * seen so far with a new record's (properties are added, a member seen with
 * two types gets both), so a stream settles on one schema after its first
 * records of each shape.
 *
 * @module
 */

/** A JSON Schema as inferred here (a subset: `type`, `properties`, `items`). */
export interface JsonSchema {
  /** One type name, or several when values of a member differ. */
  type?: string | string[];
  /** Members of an object. */
  properties?: Record<string, JsonSchema>;
  /** Schema of an array's items (absent: items of any type). */
  items?: JsonSchema;
  /** Key order of a schema object is not significant; anything else is kept as given. */
  [key: string]: unknown;
}

/** The schema of `{"$bin": base64}`, the JSON form of bytes. */
const BYTES_SCHEMA: JsonSchema = { type: "object", properties: { $bin: { type: "string" } } };

/** The JSON Schema of one value as `toJson` prints it. */
export function inferSchema(v: unknown): JsonSchema {
  switch (typeof v) {
    case "string":
      return { type: "string" };
    case "number":
      return { type: "number" };
    case "bigint":
      return { type: "integer" };
    case "boolean":
      return { type: "boolean" };
    case "object":
      break;
    default:
      return { type: "null" };
  }
  if (v === null) return { type: "null" };
  if (Array.isArray(v)) return arraySchema(v);
  if (ArrayBuffer.isView(v)) {
    if (v instanceof Uint8Array || v instanceof DataView) return BYTES_SCHEMA;
    const first = (v as unknown as ArrayLike<number | bigint>)[0];
    return { type: "array", items: { type: typeof first === "bigint" ? "integer" : "number" } };
  }
  if (v instanceof Date) return { type: "string" };
  const properties: Record<string, JsonSchema> = {};
  const d = v as Record<string, unknown>;
  for (const k in d) if (d[k] !== undefined) properties[k] = inferSchema(d[k]);
  return { type: "object", properties };
}

function arraySchema(v: unknown[]): JsonSchema {
  if (v.length === 0) return { type: "array" };
  let items = inferSchema(v[0]);
  for (let i = 1; i < v.length; i++) items = mergeSchema(items, inferSchema(v[i]));
  return { type: "array", items };
}

function typesOf(s: JsonSchema): string[] {
  return s.type === undefined ? [] : Array.isArray(s.type) ? s.type : [s.type];
}

/**
 * The schema of values of either shape: types united, object members united (recursively), array items
 * merged. An array with no items seen yet takes the other's items.
 */
export function mergeSchema(a: JsonSchema, b: JsonSchema): JsonSchema {
  const types = [...new Set([...typesOf(a), ...typesOf(b)])].sort();
  const out: JsonSchema = { type: types.length === 1 ? types[0] : types };
  if (a.properties || b.properties) {
    const properties: Record<string, JsonSchema> = { ...a.properties };
    for (const [k, s] of Object.entries(b.properties ?? {})) {
      properties[k] = properties[k] ? mergeSchema(properties[k], s) : s;
    }
    out.properties = properties;
  }
  if (a.items && b.items) out.items = mergeSchema(a.items, b.items);
  else if (a.items || b.items) out.items = a.items ?? b.items;
  return out;
}

/**
 * A short text that differs between values of different shapes (and is equal for values of one shape), much
 * cheaper than inferring and comparing schemas: a consumer checks a record's schema only when its shape is new.
 */
export function shapeKey(v: unknown): string {
  switch (typeof v) {
    case "string":
      return "s";
    case "number":
      return "n";
    case "bigint":
      return "i";
    case "boolean":
      return "b";
    case "object":
      break;
    default:
      return "0";
  }
  if (v === null) return "0";
  if (Array.isArray(v)) {
    let k = "[";
    let prev = "";
    for (const x of v) {
      const s = shapeKey(x);
      // Runs of one item shape count once: an array of 1000 numbers has a short key.
      if (s !== prev) k += s + ",";
      prev = s;
    }
    return k + "]";
  }
  if (ArrayBuffer.isView(v)) {
    if (v instanceof Uint8Array || v instanceof DataView) return "B";
    return v instanceof BigInt64Array || v instanceof BigUint64Array ? "VI" : "V";
  }
  if (v instanceof Date) return "s";
  const d = v as Record<string, unknown>;
  let k = "{";
  for (const name in d) if (d[name] !== undefined) k += JSON.stringify(name) + ":" + shapeKey(d[name]) + ",";
  return k + "}";
}

/**
 * Whether two values have the same shape (what {@linkcode shapeKey} tells apart), without building keys: the
 * common case of a record shaped like the one before it costs one walk and no allocation.
 */
export function sameShape(a: unknown, b: unknown): boolean {
  const t = typeof a;
  if (t !== "object" || a === null) {
    if (t === "undefined" || a === null) return b === null || b === undefined || typeof b === "function";
    return t === typeof b || (t === "string" && b instanceof Date);
  }
  if (typeof b !== "object" || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b)) return false;
    return shapeKey(a) === shapeKey(b);
  }
  if (Array.isArray(b)) return false;
  if (ArrayBuffer.isView(a) || ArrayBuffer.isView(b) || a instanceof Date || b instanceof Date) {
    return shapeKey(a) === shapeKey(b);
  }
  const x = a as Record<string, unknown>, y = b as Record<string, unknown>;
  let n = 0;
  for (const k in x) {
    if (x[k] === undefined) continue;
    const v = y[k];
    if (v === undefined || !sameShape(x[k], v)) return false;
    n++;
  }
  for (const k in y) if (y[k] !== undefined) n--;
  return n === 0;
}

/**
 * The schema of a record's dictionary as an MCAP channel carries it: `$schema` (draft 2020-12), a title (the
 * stream's name) and {@linkcode inferSchema} of the dictionary.
 */
export function recordJsonSchema(data: Record<string, unknown>, title: string): JsonSchema {
  return { $schema: "https://json-schema.org/draft/2020-12/schema", title, ...inferSchema(data) };
}
