/**
 * `${VAR}`, `${VAR:-default}` and `${VAR:?message}` substitution in the
 * string values of a parsed configuration. It runs after TOML parsing, on
 * values only, so a variable can never change the file's structure, comments
 * are left alone, and errors name the key. `$${` stands for a literal `${`.
 *
 * @module
 */

/** Thrown for `${VAR:?message}` and for an unset `${VAR}`; `path` is filled in by the caller. */
export class SubstitutionError extends Error {}

const PATTERN = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}/g;

/** Substitutes variables in one string. `lookup` returns undefined for an unset variable. */
export function substitute(text: string, lookup: (name: string) => string | undefined): string {
  if (!text.includes("${")) return text;
  return text.replace(PATTERN, (whole, name: string | undefined, op: string | undefined, arg: string | undefined) => {
    if (whole === "$${") return "${";
    const v = lookup(name!);
    // `:-`/`:?` treat an empty value like an unset one; `-`/`?` only an unset one (as in sh).
    const missing = op?.startsWith(":") ? v === undefined || v === "" : v === undefined;
    if (op === ":-" || op === "-") return missing ? arg! : v!;
    if (op === ":?" || op === "?") {
      if (missing) throw new SubstitutionError(arg ? `${name}: ${arg}` : `${name} is not set`);
      return v!;
    }
    if (v === undefined) {
      throw new SubstitutionError(`\${${name}} is not set (write \${${name}:-} to allow an empty value)`);
    }
    return v;
  });
}

/** A value of a parsed TOML document. */
export type TomlValue = string | number | boolean | bigint | Date | TomlValue[] | { [k: string]: TomlValue };

/**
 * Substitutes variables in every string of `value`, recursively. Errors are
 * collected with their key paths instead of stopping at the first.
 */
export function substituteAll(
  value: TomlValue,
  lookup: (name: string) => string | undefined,
  onError: (path: (string | number)[], message: string) => void,
  path: (string | number)[] = [],
): TomlValue {
  if (typeof value === "string") {
    try {
      return substitute(value, lookup);
    } catch (e) {
      if (!(e instanceof SubstitutionError)) throw e;
      onError(path, e.message);
      return value;
    }
  }
  if (Array.isArray(value)) return value.map((v, i) => substituteAll(v, lookup, onError, [...path, i]));
  if (value !== null && typeof value === "object" && !(value instanceof Date)) {
    const out: { [k: string]: TomlValue } = {};
    for (const [k, v] of Object.entries(value)) out[k] = substituteAll(v, lookup, onError, [...path, k]);
    return out;
  }
  return value;
}
