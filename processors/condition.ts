/**
 * The condition of a `filter` processor's `where` key: `KEY OP VALUE`, as in
 * `battery < 20` or `mode == "auto"`. Parsed when the configuration is loaded
 * (so a mistake is reported with its place in the file), evaluated per record
 * by `filter.ts`. This module imports nothing: the schemas use it.
 *
 * @module
 */

/** The comparisons a condition may use. */
export const CONDITION_OPERATORS = ["==", "!=", "<=", ">=", "<", ">"] as const;
/** One of {@linkcode CONDITION_OPERATORS}. */
export type ConditionOperator = typeof CONDITION_OPERATORS[number];

/** A parsed condition. */
export interface Condition {
  /** The key, or a `/`-separated path into nested dictionaries (`pose/x`). */
  path: string;
  /** The comparison. */
  op: ConditionOperator;
  /** What the key's value is compared with. */
  value: number | string | boolean;
}

const SHAPE = /^\s*([^\s=!<>"']+)\s*(==|!=|<=|>=|<|>)\s*(.*?)\s*$/s;

/**
 * Parses `KEY OP VALUE`. VALUE is a number, a quoted string (`"a"` or `'a'`), `true`, `false`, or a bare word
 * (a string). Throws an error whose message says what is wrong.
 */
export function parseCondition(text: string): Condition {
  const m = SHAPE.exec(text);
  if (!m) {
    throw new Error(
      `bad condition ${JSON.stringify(text)}: expected KEY OP VALUE with OP one of ${
        CONDITION_OPERATORS.join(" ")
      } (e.g. "battery < 20")`,
    );
  }
  const [, path, op, raw] = m;
  if (raw === "") throw new Error(`bad condition ${JSON.stringify(text)}: nothing to compare ${path} with`);
  return { path, op: op as ConditionOperator, value: parseValue(raw, text) };
}

function parseValue(raw: string, text: string): number | string | boolean {
  if (/^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/.test(raw)) return Number(raw);
  if (raw === "true" || raw === "false") return raw === "true";
  const q = raw[0];
  if (q === '"' || q === "'") {
    if (raw.length < 2 || raw.at(-1) !== q) throw new Error(`bad condition ${JSON.stringify(text)}: unclosed quote`);
    return raw.slice(1, -1);
  }
  if (/[\s=!<>"']/.test(raw)) {
    throw new Error(`bad condition ${JSON.stringify(text)}: quote a value with spaces or operators in it`);
  }
  return raw;
}
