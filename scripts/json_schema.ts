/**
 * A configuration table's valibot schema as a JSON Schema (draft 4: Taplo,
 * behind Even Better TOML, reads no later one) of what may be WRITTEN in the
 * TOML file: a duration is a string or a number, a default is the TOML value.
 *
 * Written here rather than with `@valibot/to-json-schema`, which converts the
 * parsed side: it cannot express a transform (every duration, size and flag
 * here) and writes no draft 4.
 *
 * @module
 */
import type { SchemaNode } from "../config/describe.ts";

/** A JSON Schema node. */
export type JsonSchema = Record<string, unknown>;

/** The JSON Schema of the values `node` accepts as input. */
export function inputJsonSchema(node: SchemaNode): JsonSchema {
  return walk(node).json;
}

/** `node`'s JSON Schema, and whether a transform lies on its way (after which checks concern the parsed value). */
function walk(node: SchemaNode): { json: JsonSchema; transformed: boolean } {
  if (node.pipe && node.pipe.length > 0) {
    const inner = walk(node.pipe[0]);
    let transformed = inner.transformed;
    for (const action of node.pipe.slice(1)) {
      if (action.type === "description") inner.json.description = action.description;
      else if (action.kind === "transformation") transformed = true;
      else if (action.kind === "validation" && !transformed) constrain(inner.json, action);
    }
    return { json: inner.json, transformed };
  }
  if (node.type === "optional") {
    const inner = walk(node.wrapped!);
    if (node.default !== undefined && typeof node.default !== "function") inner.json.default = node.default;
    return inner;
  }
  return { json: plain(node), transformed: false };
}

/** The JSON Schema of a schema that is neither piped nor optional. */
function plain(node: SchemaNode): JsonSchema {
  switch (node.type) {
    case "string":
      return { type: "string" };
    case "number":
      return { type: "number" };
    case "boolean":
      return { type: "boolean" };
    case "literal":
      return { type: typeof node.literal, enum: [node.literal] };
    case "picklist":
      return { type: "string", enum: [...(node.options ?? [])] };
    case "array":
      return { type: "array", items: inputJsonSchema(node.item!) };
    case "record":
      return { type: "object", additionalProperties: inputJsonSchema(node.value!) };
    case "union":
    case "variant":
      return { anyOf: (node.options as SchemaNode[]).map(inputJsonSchema) };
    case "object":
    case "strict_object":
    case "loose_object":
      return objectJsonSchema(node);
    default:
      return {};
  }
}

/** An object's JSON Schema: its keys, which of them a table must give, and (strict) no others. */
function objectJsonSchema(node: SchemaNode): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  const required: string[] = [];
  for (const [key, field] of Object.entries(node.entries ?? {})) {
    properties[key] = inputJsonSchema(field);
    if (!isOptional(field)) required.push(key);
  }
  return {
    type: "object",
    properties,
    ...(required.length > 0 ? { required } : {}),
    ...(node.type === "strict_object" ? { additionalProperties: false } : {}),
  };
}

/** True when a key may be left out (an optional, piped or not). */
function isOptional(node: SchemaNode): boolean {
  if (node.type === "optional") return true;
  return node.pipe !== undefined && node.pipe.length > 0 && node.pipe[0] !== node && isOptional(node.pipe[0]);
}

/** Adds a valibot check to `json`, where draft 4 can say it. */
function constrain(json: JsonSchema, check: SchemaNode): void {
  const n = check.requirement;
  const list = json.type === "array";
  switch (check.type) {
    case "regex":
      json.pattern = (n as RegExp).source;
      break;
    case "min_length":
      json[list ? "minItems" : "minLength"] = n;
      break;
    case "max_length":
      json[list ? "maxItems" : "maxLength"] = n;
      break;
    case "non_empty":
      json[list ? "minItems" : "minLength"] = 1;
      break;
    case "integer":
      json.type = "integer";
      break;
    case "min_value":
      json.minimum = n;
      break;
    case "max_value":
      json.maximum = n;
      break;
    case "gt_value":
      Object.assign(json, { minimum: n, exclusiveMinimum: true });
      break;
    case "lt_value":
      Object.assign(json, { maximum: n, exclusiveMaximum: true });
      break;
  }
}
