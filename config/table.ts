/**
 * A configuration table's schema as the loader, the docs and the library use
 * it: a valibot object schema wrapped with `parse`/`safeParse` that report
 * problems the way the loader prints them (a path, a short message, every
 * unknown key of a table at once), so that nothing outside `config/` and the
 * schemas names a valibot type.
 *
 * @module
 */
import * as v from "npm:valibot@^1.1.0";

/** One problem found in a table. */
export interface TableIssue {
  /** Where in the table (keys and list indexes). */
  path: PropertyKey[];
  /** What is wrong, without the value (the loader adds it). */
  message: string;
  /** `unrecognized_keys`, `invalid_type` (a missing or mistyped value) or the failed check (`min_value`, …). */
  code: string;
  /** With `unrecognized_keys`: every unknown key of the table at `path`. */
  keys?: string[];
}

/** A table's schema: its valibot object schema, and the loader's parse functions. */
export interface Table<S extends v.GenericSchema> {
  /** The valibot schema (for `describe.ts` and the JSON Schema). */
  readonly schema: S;
  /** Validates a table and fills its defaults; throws an `Error` listing every problem. */
  parse(value: unknown): v.InferOutput<S>;
  /** Validates a table and fills its defaults; never throws. */
  safeParse(value: unknown): { success: true; data: v.InferOutput<S> } | {
    success: false;
    error: { issues: TableIssue[] };
  };
}

/** What a table's schema produces. */
export type TableOutput<T> = T extends Table<infer S> ? v.InferOutput<S> : never;

/** True when `value` is a {@linkcode table}. */
export function isTable(value: unknown): value is Table<v.GenericSchema> {
  return typeof value === "object" && value !== null && "schema" in value && "safeParse" in value &&
    typeof (value as { schema: unknown }).schema === "object";
}

/** The valibot schema of `schema`: a {@linkcode table}'s own, or `schema` itself. */
export function schemaOf(schema: unknown): unknown {
  return isTable(schema) ? schema.schema : schema;
}

/** Wraps a valibot object schema as a configuration table. */
export function table<S extends v.GenericSchema>(schema: S): Table<S> {
  return {
    schema,
    safeParse(value) {
      const result = v.safeParse(schema, value);
      if (result.success) return { success: true, data: result.output };
      return { success: false, error: { issues: tableIssues(schema, value, result.issues) } };
    },
    parse(value) {
      const parsed = this.safeParse(value);
      if (parsed.success) return parsed.data;
      const text = parsed.error.issues.map((i) => {
        const where = i.path.map(String).join(".");
        const what = i.keys ? `unknown keys ${i.keys.join(", ")}` : i.message;
        return where ? `${where}: ${what}` : what;
      });
      throw new Error(text.join("; "));
    },
  };
}

/** A valibot issue's path as keys and indexes. */
function pathOf(issue: v.BaseIssue<unknown>): PropertyKey[] {
  return (issue.path ?? []).map((item) => item.key as PropertyKey);
}

/** valibot's `>=1` / `"a" | "b"` expectations, as the docs write them. */
function expectation(expected: string | null): string {
  return (expected ?? "a value").replace(/^>=/, "≥ ").replace(/^<=/, "≤ ").replace(/^([<>])(?=\d|-)/, "$1 ")
    .replace(/[()]/g, "").replace(/\bArray\b/g, "list").replace(/\bObject\b/g, "table");
}

/** The loader's message for an issue valibot wrote in its own words (`Invalid type: Expected …`). */
function messageOf(issue: v.BaseIssue<unknown>): string {
  // A message the schema gave itself (a check's, a parser's) is kept as it is.
  if (!/^Invalid (type|key|value|length|entry|format|input)?:?/.test(issue.message)) return issue.message;
  // A union none of whose options took the value names them all, even when one took its type and then refused it
  // (a duration in `-1 or duration`): that option's own reason says more.
  const reason = issue.type === "union" ? issue.issues?.find((i) => i.kind !== "schema") : undefined;
  if (reason) return messageOf(reason);
  const n = issue.requirement;
  switch (issue.type) {
    case "min_value":
      return `must be ≥ ${n}`;
    case "max_value":
      return `must be ≤ ${n}`;
    case "gt_value":
      return `must be > ${n}`;
    case "lt_value":
      return `must be < ${n}`;
    case "integer":
      return "must be an integer";
    case "min_length":
      return `must have at least ${n} ${Array.isArray(issue.input) ? "items" : "characters"}`;
    case "max_length":
      return `must have at most ${n} ${Array.isArray(issue.input) ? "items" : "characters"}`;
    case "non_empty":
      return "must not be empty";
    case "regex":
      return `must match ${String(n)}`;
    default:
      return `expected ${expectation(issue.expected)}`;
  }
}

/**
 * The issues of a failed parse, as the loader reports them: valibot names one
 * unknown key per object; every unknown key of that table is listed instead.
 */
function tableIssues(schema: v.GenericSchema, input: unknown, issues: readonly v.BaseIssue<unknown>[]): TableIssue[] {
  const out: TableIssue[] = [];
  const unknownAt = new Set<string>();
  for (const issue of issues) {
    const path = pathOf(issue);
    const last = issue.path?.at(-1);
    if (last?.origin === "key" && issue.expected === "never") {
      const at = path.slice(0, -1);
      const id = JSON.stringify(at.map(String));
      if (unknownAt.has(id)) continue;
      unknownAt.add(id);
      const given = last.input as Record<string, unknown>;
      const known = new Set(keysAt(schema, at, input));
      const keys = new Set([String(last.key), ...Object.keys(given).filter((k) => !known.has(k))]);
      out.push({ path: at, message: "unknown keys", code: "unrecognized_keys", keys: [...keys] });
      continue;
    }
    if (last?.origin === "key") {
      // A required key that is not there: what it expects, from its schema.
      const field = fieldAt(schema, path, input);
      out.push({ path, message: `expected ${expectation(field?.expects ?? null)}`, code: "invalid_type" });
      continue;
    }
    out.push({ path, message: messageOf(issue), code: issue.kind === "schema" ? "invalid_type" : issue.type });
  }
  return out;
}

/** What a schema node may hold: valibot's schema objects, as far as this module walks them. */
interface Node {
  type: string;
  /** A variant's discriminating key. */
  key?: string;
  /** A literal's value. */
  literal?: unknown;
  expects?: string;
  entries?: Record<string, Node>;
  wrapped?: Node;
  options?: Node[];
  item?: Node;
  value?: Node;
  pipe?: Node[];
}

/**
 * The object entries `schema` may stand for, looking through optional, pipe, union and variant; of a variant, the
 * option `value` selects by its discriminating key, when it selects one.
 */
function objectsOf(schema: unknown, value?: unknown, depth = 0): Record<string, Node>[] {
  const s = schema as Node | undefined;
  if (!s || typeof s !== "object" || depth > 20) return [];
  if (s.entries) return [s.entries];
  let options = s.options ?? [];
  if (s.type === "variant" && s.key && value !== null && typeof value === "object") {
    const tag = (value as Record<string, unknown>)[s.key];
    const chosen = options.filter((o) => o.entries?.[s.key!]?.literal === tag);
    if (chosen.length > 0) options = chosen;
  }
  const inner = [s.wrapped, ...options].filter((x): x is Node => x !== undefined);
  return inner.flatMap((x) => objectsOf(x, value, depth + 1));
}

/** The list schemas `schema` may stand for. */
function arraysOf(schema: unknown, depth = 0): Node[] {
  const s = schema as Node | undefined;
  if (!s || typeof s !== "object" || depth > 20) return [];
  if (s.type === "array" && s.item) return [s.item];
  if (s.type === "record" && s.value) return [s.value];
  const inner = [s.wrapped, ...(s.options ?? [])].filter((x): x is Node => x !== undefined);
  return inner.flatMap((x) => arraysOf(x, depth + 1));
}

/** The value at `path` inside `root`. */
function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let cur = root;
  for (const p of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[p];
  }
  return cur;
}

/** The schemas at `path` inside `schema` (a table, or a valibot schema); `input` picks variants' options. */
function nodesAt(schema: unknown, path: readonly PropertyKey[], input?: unknown): Node[] {
  let current: Node[] = [schemaOf(schema) as Node];
  path.forEach((p, i) => {
    const value = valueAt(input, path.slice(0, i));
    const next: Node[] = [];
    for (const s of current) {
      if (typeof p === "number") next.push(...arraysOf(s));
      else for (const entries of objectsOf(s, value)) if (Object.hasOwn(entries, p)) next.push(entries[p as string]);
    }
    current = next;
  });
  return current;
}

/** The schema of the field at `path`, when there is exactly one. */
function fieldAt(schema: unknown, path: readonly PropertyKey[], input?: unknown): Node | undefined {
  const nodes = nodesAt(schema, path, input);
  return nodes.length === 1 ? nodes[0] : undefined;
}

/**
 * The keys the table at `path` inside `schema` accepts (for an unknown key's
 * suggestion); empty when the schema holds no object there. `input`, the table
 * given, picks a variant's option (a processor's keys by its `type`).
 */
export function keysAt(schema: unknown, path: readonly PropertyKey[], input?: unknown): string[] {
  const value = valueAt(input, path);
  const nodes = nodesAt(schema, path, input);
  return [...new Set(nodes.flatMap((s) => objectsOf(s, value).flatMap((e) => Object.keys(e))))];
}
