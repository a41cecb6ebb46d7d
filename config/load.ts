/**
 * Loads the TOML configuration: parse, substitute `${VAR}`s, validate the
 * `[daemon]` table and every `[[inputs.<type>]]` / `[[outputs.<type>]]` table
 * against its transport's schema, and report every problem with its place.
 *
 * @module
 */
import { parse, TomlError } from "npm:smol-toml@^1.4.2";
import type { TableSchema, TransportRegistry } from "../core/transport.ts";
import type { DaemonPlan } from "../core/plan.ts";
import { daemonSchema } from "./schema.ts";
import type { DaemonConfig, InputCommon, OutputCommon } from "./types.ts";
import { ConfigError, type ConfigProblem } from "./errors.ts";
import { substituteAll, type TomlValue } from "./env.ts";
import { didYouMean } from "./suggest.ts";
import { keysAt } from "./table.ts";

/** A whole validated configuration: the daemon's plan, and the file it came from. */
export interface TelebusConfig extends DaemonPlan {
  /** The configuration file, or `<config>`. */
  file: string;
  /** The `[daemon]` table, every key set. */
  daemon: DaemonConfig;
}

/** Options of {@linkcode parseConfig}. */
export interface ParseOptions {
  /** Name of the file, for messages (default `<config>`). */
  file?: string;
  /** Where transport types are looked up. */
  registry: TransportRegistry;
  /** Variables for `${VAR}` (default: the process environment). */
  env?: (name: string) => string | undefined;
}

/** Renders a key path as `outputs.mpack_file[0].when_full`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let s = "";
  for (const p of path) {
    if (typeof p === "number") s += `[${p}]`;
    else s += s ? `.${String(p)}` : String(p);
  }
  return s;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let cur = root;
  for (const p of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[p];
  }
  return cur;
}

function show(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "number" && !Number.isFinite(v)) return String(v); // TOML's inf and nan, which JSON cannot write
  if (typeof v === "bigint") return v.toString();
  if (v instanceof Date) return v.toISOString();
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/**
 * Finds the line and column of a key path in the TOML text, so that schema
 * errors point into the file. Best effort: it understands `[table]`,
 * `[[array.of.tables]]` and `key = value` lines, which is how telebus configs
 * are written; otherwise the error carries the path alone.
 */
export function locate(text: string, path: readonly PropertyKey[]): { line: number; column: number } | undefined {
  const lines = text.split("\n");
  // The table part of the path: daemon | inputs.<type>[i] | outputs.<type>[i]; the rest is keys within it.
  let header: RegExp;
  let nth = 0;
  let rest: readonly PropertyKey[];
  const q = (s: string) => `\\s*"?${s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}"?\\s*`;
  if ((path[0] === "inputs" || path[0] === "outputs") && typeof path[1] === "string") {
    header = new RegExp(`^\\s*\\[\\[${q(String(path[0]))}\\.${q(path[1])}\\]\\]`);
    nth = typeof path[2] === "number" ? path[2] : 0;
    rest = path.slice(3);
  } else if (path[0] === "daemon") {
    header = new RegExp(`^\\s*\\[${q("daemon")}\\]`);
    rest = path.slice(1);
  } else if (path.length === 1) {
    // An unknown top-level key: its table header (`[[output.zmq]]`) or its `key =` line.
    const k = String(path[0]).replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const re = new RegExp(`^\\s*(\\[\\[?\\s*"?${k}"?\\s*[.\\]]|"?${k}"?\\s*=)`);
    const i = lines.findIndex((l) => re.test(l));
    return i < 0 ? undefined : { line: i + 1, column: 1 };
  } else return undefined;
  let start = -1;
  for (let i = 0, seen = 0; i < lines.length; i++) {
    if (header.test(lines[i]) && seen++ === nth) {
      start = i;
      break;
    }
  }
  if (start < 0) return undefined;
  if (typeof rest[0] === "string" && typeof rest[1] === "number" && typeof path[1] === "string") {
    // A table in a list of tables of the part (`[[outputs.mpack_file.processors]]`): the nth after the part's header,
    // before the next part of its type.
    const sub = new RegExp(`^\\s*\\[\\[${q(String(path[0]))}\\.${q(path[1])}\\.${q(rest[0])}\\]\\]`);
    for (let i = start + 1, seen = 0; i < lines.length && !header.test(lines[i]); i++) {
      if (sub.test(lines[i]) && seen++ === rest[1]) {
        start = i;
        rest = rest.slice(2);
        break;
      }
    }
  }
  if (rest.length > 0 && typeof rest[0] === "string") {
    const key = new RegExp(`^(\\s*)"?${String(rest[0]).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}"?\\s*=`);
    for (let i = start + 1; i < lines.length && !/^\s*\[/.test(lines[i]); i++) {
      const m = key.exec(lines[i]);
      if (m) {
        const eq = lines[i].indexOf("=");
        const valueCol = eq + 1 + (lines[i].slice(eq + 1).length - lines[i].slice(eq + 1).trimStart().length);
        return { line: i + 1, column: valueCol + 1 };
      }
    }
  }
  return { line: start + 1, column: 1 };
}

const TOP_KEYS = new Set(["daemon", "inputs", "outputs"]);

/** Parses and validates configuration text. Throws {@linkcode ConfigError} listing every problem. */
export async function parseConfig(text: string, options: ParseOptions): Promise<TelebusConfig> {
  const file = options.file ?? "<config>";
  let doc: Record<string, TomlValue>;
  try {
    doc = parse(text) as Record<string, TomlValue>;
  } catch (e) {
    if (e instanceof TomlError) {
      const first = e.message.split("\n")[0].replace(/^Invalid TOML document: /, "");
      throw new ConfigError(file, [{
        path: "",
        message: `TOML syntax error: ${first}`,
        line: e.line,
        column: e.column,
      }], e.codeblock);
    }
    throw e;
  }
  return await validateConfig(doc, { ...options, file }, text);
}

/**
 * Validates an already-parsed configuration object (as the library takes it).
 * `text`, when given, is used to point errors at lines.
 */
export async function validateConfig(
  raw: Record<string, unknown>,
  options: ParseOptions,
  text?: string,
): Promise<TelebusConfig> {
  const file = options.file ?? "<config>";
  const problems: ConfigProblem[] = [];
  const problem = (path: readonly PropertyKey[], message: string) => {
    const at = text ? locate(text, path) : undefined;
    problems.push({ path: formatPath(path), message, line: at?.line, column: at?.column });
  };
  const env = options.env ?? ((n: string) => Deno.env.get(n));
  // Only root causes are reported: a value whose `${VAR}` failed is not validated again (its placeholder text
  // would give a second, misleading error), and an output is not blamed for naming an input that is itself wrong.
  const unsubstituted: string[] = [];
  const doc = substituteAll(raw as TomlValue, env, (p, m) => {
    unsubstituted.push(formatPath(p));
    problem(p, m);
  }) as Record<string, unknown>;
  const followsFailedSubstitution = (path: readonly PropertyKey[]) => {
    const f = formatPath(path);
    return unsubstituted.some((u) => f === u || f.startsWith(u + ".") || f.startsWith(u + "["));
  };
  const schemaProblem = (path: readonly PropertyKey[], message: string) => {
    if (!followsFailedSubstitution(path)) problem(path, message);
  };
  const brokenInputs = new Set<string>();

  for (const k of Object.keys(doc)) {
    if (!TOP_KEYS.has(k)) {
      problem(
        [k],
        `unknown top-level key${didYouMean(k, TOP_KEYS)} (expected [daemon], [[inputs.<type>]], [[outputs.<type>]])`,
      );
    }
  }
  const d = daemonSchema.safeParse(doc.daemon ?? {});
  let daemon: DaemonConfig = daemonSchema.parse({});
  if (d.success) daemon = d.data;
  else {
    for (const issue of d.error.issues) reportIssue(["daemon"], doc.daemon, daemonSchema, issue, schemaProblem);
  }

  const result: TelebusConfig = { file, daemon, inputs: [], outputs: [] };
  for (const kind of ["inputs", "outputs"] as const) {
    const section = doc[kind];
    if (section === undefined) continue;
    if (typeof section !== "object" || section === null || Array.isArray(section)) {
      problem([kind], `must be a table of [[${kind}.<type>]] arrays`);
      continue;
    }
    const names = new Set<string>();
    const side = kind === "inputs" ? "input" : "output";
    for (const [type, tables] of Object.entries(section)) {
      // The names the tables of a type that cannot be used would have had.
      const markBroken = () => {
        if (kind !== "inputs" || !Array.isArray(tables)) return;
        tables.forEach((t, i) => brokenInputs.add(nameOf(t, type, i)));
      };
      // Own keys only: a table named after an Object method (`toString`, `__proto__`) is an unknown type.
      const load = Object.hasOwn(options.registry, type) ? options.registry[type] : undefined;
      const transport = load ? (await load()).transport : undefined;
      const definition = transport?.[side];
      if (!transport || !definition) {
        const known = await typesWith(options.registry, side);
        problem(
          [kind, type],
          transport
            ? `${type} has no ${side} side (${side} types: ${known.join(", ")})`
            : `unknown ${side} type ${JSON.stringify(type)}${didYouMean(type, known)} (${side} types: ${
              known.join(", ")
            })`,
        );
        markBroken();
        continue;
      }
      if (!Array.isArray(tables)) {
        problem([kind, type], `write [[${kind}.${type}]] (an array of tables), not [${kind}.${type}]`);
        markBroken();
        continue;
      }
      /** The validated table with its name, or undefined when it has problems (reported). */
      const accept = <C extends InputCommon>(schema: TableSchema<C>, table: unknown, index: number) => {
        const parsed = schema.safeParse(table);
        if (!parsed.success) {
          for (const issue of parsed.error.issues) {
            reportIssue([kind, type, index], table, schema, issue, schemaProblem);
          }
          if (kind === "inputs") brokenInputs.add(nameOf(table, type, index));
          return undefined;
        }
        const config = parsed.data;
        const name = config.name ?? `${type}${index}`;
        if (names.has(name)) {
          problem([kind, type, index, "name"], `duplicate name ${JSON.stringify(name)}`);
          return undefined;
        }
        names.add(name);
        config.name = name;
        return { type, name, index, config, transport };
      };
      tables.forEach((table, index) => {
        const output = kind === "outputs" ? transport.output : undefined;
        if (output) {
          const part = accept(output.schema, table, index);
          if (!part) return;
          const bad = output.checkDaemon?.(part.config, daemon);
          if (bad) problem([kind, type, index, bad.key], bad.message);
          result.outputs.push(part);
        } else if (transport.input) {
          const part = accept(transport.input.schema, table, index);
          if (part) result.inputs.push(part);
        }
      });
    }
  }
  // The dashboard comes with the HTTP server unless it is configured explicitly or turned off.
  const httpOn = result.daemon.http !== "" && result.daemon.http !== "off";
  if (
    result.daemon.dashboard && httpOn && options.registry.dashboard &&
    !result.outputs.some((o) => o.type === "dashboard")
  ) {
    const transport = (await options.registry.dashboard()).transport;
    const parsed = transport.output?.schema.safeParse({});
    if (parsed?.success) {
      const names = new Set(result.outputs.map((o) => o.name));
      const name = names.has("dashboard") ? "dashboard_page" : "dashboard";
      const config: OutputCommon = { ...parsed.data, name };
      result.outputs.push({ type: "dashboard", name, index: 0, config, transport });
    }
  }
  // Outputs may only name inputs that exist.
  const inputNames = new Set(result.inputs.map((i) => i.name));
  for (const o of result.outputs) {
    const wanted = o.config.inputs;
    if (!wanted) continue;
    wanted.forEach((n, i) => {
      if (!inputNames.has(n) && !brokenInputs.has(n)) {
        problem(
          ["outputs", o.type, o.index ?? 0, "inputs", i],
          `no input is named ${JSON.stringify(n)}${didYouMean(n, [...inputNames, ...brokenInputs])} (inputs: ${
            [...inputNames].join(", ") || "none"
          })`,
        );
      }
    });
  }
  if (problems.length > 0) throw new ConfigError(file, problems);
  return result;
}

/** The name a table has or would get (`<type><index>` when it names none). */
function nameOf(table: unknown, type: string, index: number): string {
  const n = (table as { name?: unknown } | null)?.name;
  return typeof n === "string" ? n : `${type}${index}`;
}

/** The registry's types that have an `input` (or `output`) side, sorted; loads each transport (error path only). */
async function typesWith(registry: TransportRegistry, side: "input" | "output"): Promise<string[]> {
  const types: string[] = [];
  for (const [type, load] of Object.entries(registry)) {
    if ((await load()).transport[side]) types.push(type);
  }
  return types.sort();
}

function reportIssue(
  base: PropertyKey[],
  table: unknown,
  schema: unknown,
  issue: { path: readonly PropertyKey[]; message: string; code?: string; keys?: readonly string[] },
  problem: (path: readonly PropertyKey[], message: string) => void,
) {
  if (issue.code === "unrecognized_keys" && issue.keys) {
    const known = keysAt(schema, issue.path, table);
    for (const k of issue.keys) problem([...base, ...issue.path, k], `unknown key${didYouMean(k, known)}`);
    return;
  }
  const value = valueAt(table, issue.path);
  const msg = issue.message;
  if (value === undefined) problem([...base, ...issue.path], issue.code === "invalid_type" ? `missing: ${msg}` : msg);
  else problem([...base, ...issue.path], `bad value ${show(value)}: ${msg}`);
}

/** Reads and validates a configuration file. */
export async function loadConfigFile(path: string, options: Omit<ParseOptions, "file">): Promise<TelebusConfig> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new ConfigError(path, [{ path: "", message: `cannot read: ${(e as Error).message}` }]);
  }
  return await parseConfig(text, { ...options, file: path });
}
