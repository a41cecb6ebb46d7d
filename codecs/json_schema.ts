/**
 * A JSON Schema inferred from one telemetry value, as MCAP channels and
 * Foxglove advertise them with JSON-encoded messages: the shape of the
 * record, not a contract (every object stays open to other keys).
 *
 * @module
 */
import type { Dict, Value } from "../core/record.ts";

/** A JSON Schema (draft 2020-12) as a plain JSON object. */
export type JsonSchema = { [key: string]: unknown };

/** Bytes are written as `{"$bin": "<base64>"}` by codecs/json.ts. */
const BYTES_SCHEMA: JsonSchema = {
  type: "object",
  properties: { $bin: { type: "string", contentEncoding: "base64" } },
  required: ["$bin"],
};

/**
 * The schema of `value` as codecs/json.ts writes it: numbers are `number`
 * (whole floats print as integers, so `integer` would be a guess), bigints
 * `integer`, bytes `{"$bin"}` objects, typed arrays arrays of numbers; an
 * array's items follow its first element.
 */
export function inferJsonSchema(value: Value | undefined): JsonSchema {
  if (value === null || value === undefined) return { type: "null" };
  switch (typeof value) {
    case "number":
      return { type: "number" };
    case "bigint":
      return { type: "integer" };
    case "boolean":
      return { type: "boolean" };
    case "string":
      return { type: "string" };
  }
  if (Array.isArray(value)) {
    return value.length > 0 ? { type: "array", items: inferJsonSchema(value[0]) } : { type: "array" };
  }
  if (value instanceof Uint8Array || value instanceof DataView) return BYTES_SCHEMA;
  if (ArrayBuffer.isView(value)) return { type: "array", items: { type: "number" } };
  if (value instanceof Date) return { type: "string", format: "date-time" };
  const properties: JsonSchema = {};
  const d = value as Dict;
  for (const k of Object.keys(d)) {
    if (d[k] !== undefined) properties[k] = inferJsonSchema(d[k]);
  }
  return { type: "object", properties };
}

/** The schema of a record's dictionary, with `$schema` and a title (the stream's name). */
export function recordJsonSchema(data: Dict, title: string): JsonSchema {
  return { $schema: "https://json-schema.org/draft/2020-12/schema", title, ...inferJsonSchema(data) };
}
