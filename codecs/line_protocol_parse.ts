/**
 * InfluxDB line protocol read back: one line as codecs/line_protocol.ts
 * writes it, into its measurement, tags, typed fields and time.
 *
 * @module
 */
import { LineProtocolError } from "./line_protocol.ts";

/** A line read back by {@linkcode parseLine}. */
export interface ParsedLine {
  /** Measurement, unescaped. */
  measurement: string;
  /** Tags, unescaped. */
  tags: Record<string, string>;
  /** Fields with their line-protocol types. */
  fields: Record<string, { type: "float" | "integer" | "unsigned" | "boolean" | "string"; value: string }>;
  /** Time in ns, when the line has one. */
  time?: bigint;
}

/** Splits at `sep` characters that are not escaped. */
function splitUnescaped(s: string, sep: string, limit = Infinity): string[] {
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < s.length && out.length < limit - 1; i++) {
    const c = s[i];
    if (c === "\\") {
      i++;
      continue;
    }
    if (c === sep) {
      out.push(s.slice(start, i));
      start = i + 1;
    }
  }
  out.push(s.slice(start));
  return out;
}

/** Index of the first unescaped `c` in `s` from `from`, or `s.length`. */
function indexUnescaped(s: string, c: string, from: number): number {
  for (let i = from; i < s.length; i++) {
    if (s[i] === "\\") i++;
    else if (s[i] === c) return i;
  }
  return s.length;
}

const unescapeKey = (s: string) => s.replace(/\\([,= ])/g, "$1");

/** Sets `o[k]` as an own property, so that a key such as `__proto__` stays data. */
function put<T>(o: Record<string, T>, k: string, v: T): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

/**
 * Reads one line as this module writes it (for tests, and to find the lines
 * an InfluxDB error names). Quotes mean something only around string field
 * values, as for InfluxDB. Throws {@linkcode LineProtocolError} on lines it
 * cannot read.
 */
export function parseLine(line: string): ParsedLine {
  const bad = () => new LineProtocolError(`cannot read line ${line}`);
  const n = line.length;
  const headEnd = indexUnescaped(line, " ", 0);
  if (headEnd === 0 || headEnd >= n) throw bad();
  const [m, ...tagParts] = splitUnescaped(line.slice(0, headEnd), ",");
  const tags: Record<string, string> = {};
  for (const t of tagParts) {
    const [k, v] = splitUnescaped(t, "=", 2);
    put(tags, unescapeKey(k), unescapeKey(v ?? ""));
  }
  const fields: ParsedLine["fields"] = {};
  let p = headEnd + 1;
  for (;;) {
    const eq = indexUnescaped(line, "=", p);
    if (eq >= n) throw bad();
    const key = unescapeKey(line.slice(p, eq));
    p = eq + 1;
    if (line[p] === '"') {
      let q = p + 1;
      while (q < n && line[q] !== '"') q += line[q] === "\\" ? 2 : 1;
      if (q >= n) throw bad();
      put(fields, key, { type: "string", value: line.slice(p + 1, q).replace(/\\(["\\])/g, "$1") });
      p = q + 1;
    } else {
      let q = p;
      while (q < n && line[q] !== "," && line[q] !== " ") q++;
      const v = line.slice(p, q);
      if (/^-?\d+i$/.test(v)) put(fields, key, { type: "integer", value: v.slice(0, -1) });
      else if (/^\d+u$/.test(v)) put(fields, key, { type: "unsigned", value: v.slice(0, -1) });
      else if (/^(t|true|f|false)$/i.test(v)) put(fields, key, { type: "boolean", value: String(/^t/i.test(v)) });
      else put(fields, key, { type: "float", value: v });
      p = q;
    }
    if (line[p] !== ",") break;
    p++;
  }
  let time: bigint | undefined;
  if (p < n) {
    const t = line.slice(p + 1);
    if (line[p] !== " " || !/^-?\d+$/.test(t)) throw bad();
    time = BigInt(t);
  }
  return { measurement: m.replace(/\\([, ])/g, "$1"), tags, fields, time };
}
