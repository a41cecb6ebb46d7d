/**
 * `deno task docs`: writes everything that is derived from the configuration schemas, so that it cannot drift
 * from them:
 *
 * - each transport README's option tables, between `<!-- options:<side>:begin -->` and `<!-- options:<side>:end -->`
 *   (`<side>`: `input`, `output`, or `both` for keys a two-sided transport's tables share);
 * - the README's table of transports, between `<!-- transports:begin -->` and `<!-- transports:end -->`;
 * - `docs/common_options.md`: the `[daemon]` table and the keys every input and every output has;
 * - `docs/processors.md`: each processor's options and an example;
 * - `docs/telemetry.schema.json`: a JSON Schema of the whole `telemetry.toml`, for editors;
 * - `config/types.ts`: the public types of the `[daemon]` table and the common keys (the library's API names no
 *   valibot type, so these are written out from the schemas rather than inferred).
 *
 *   deno task docs                                                              # write
 *   deno task docs --check                                                      # list what differs, exit 1 if any
 *
 * @module
 */
import { dirname, join } from "node:path";
import type { TransportDefinition, TransportRegistry } from "../core/transport.ts";
import { type OptionDoc, optionDocs, type SchemaNode, shapeOf } from "../config/describe.ts";
import { inputJsonSchema } from "./json_schema.ts";
import { schemaOf } from "../config/table.ts";
import { daemonSchema, inputCommonSchema, outputCommonSchema } from "../config/schema.ts";
import { transports } from "../transports/mod.ts";
import { processorDescriptions, processorExamples, processorSchemas } from "../processors/schema.ts";

const ROOT = new URL("..", import.meta.url).pathname;

/** Where the common keys are documented, relative to the repository. */
export const COMMON_DOC = "docs/common_options.md";
/** The processors' reference, relative to the repository. */
export const PROCESSORS_DOC = "docs/processors.md";
/** The JSON Schema of `telemetry.toml`, relative to the repository. */
export const JSON_SCHEMA = "docs/telemetry.schema.json";

/** A Markdown table cell: pipes escaped, on one line. */
function cell(s: string): string {
  return s.replaceAll("|", "\\|").replaceAll("\n", " ");
}

/** One Markdown table of options: key, type, default, description. */
export function optionTable(docs: readonly OptionDoc[]): string {
  const rows = docs.map((d) =>
    `| \`${d.key}\` | ${cell(d.type)} | ${
      d.required ? "required" : d.default === undefined ? "—" : `\`${cell(d.default)}\``
    } | ${cell(d.description)} |`
  );
  return ["| key | type | default | description |", "| --- | --- | --- | --- |", ...rows].join("\n");
}

/** The sides a transport has, with their tables' schemas. */
function sidesOf(t: TransportDefinition): ("input" | "output")[] {
  return (["input", "output"] as const).filter((s) => t[s] !== undefined);
}

/**
 * The option groups of a transport's README: per side, the keys of its own (the common keys only where the transport
 * changes them), and for a two-sided transport the keys both tables share (`both`).
 */
export function optionGroups(t: TransportDefinition): Map<"input" | "output" | "both", OptionDoc[]> {
  const common = { input: shapeOf(inputCommonSchema), output: shapeOf(outputCommonSchema) };
  const shapes = { input: t.input ? shapeOf(t.input.schema) : {}, output: t.output ? shapeOf(t.output.schema) : {} };
  const shared = (key: string) =>
    t.input !== undefined && t.output !== undefined && key in shapes.input && shapes.input[key] === shapes.output[key];
  const groups = new Map<"input" | "output" | "both", OptionDoc[]>();
  for (const side of sidesOf(t)) {
    const own = optionDocs(t[side]!.schema).filter((d) =>
      shapes[side][d.key] !== (common[side] as Record<string, unknown>)[d.key] && !shared(d.key)
    );
    groups.set(side, own);
  }
  if (t.input && t.output) {
    const both = optionDocs(t.input.schema).filter((d) => shared(d.key));
    if (both.length > 0) groups.set("both", both);
  }
  return groups;
}

/** The text between the markers of `group` in a transport's README. */
function groupText(t: TransportDefinition, group: "input" | "output" | "both", docs: OptionDoc[], commonLink: string) {
  const common = group === "both"
    ? `Both \`[[inputs.${t.type}]]\` and \`[[outputs.${t.type}]]\` tables have these keys.`
    : `Besides these, every \`[[${group}s.${t.type}]]\` table has the [common ${group} keys](${commonLink}#every-${group}).`;
  return `${optionTable(docs)}\n\n${common}`;
}

/** Replaces the text between `<!-- NAME:begin -->` and `<!-- NAME:end -->`; throws when the markers are missing. */
export function replaceBetween(text: string, name: string, body: string, file: string): string {
  const begin = `<!-- ${name}:begin -->`, end = `<!-- ${name}:end -->`;
  const a = text.indexOf(begin), b = text.indexOf(end);
  if (a < 0 || b < a) throw new Error(`${file}: no ${begin} … ${end} markers`);
  return `${text.slice(0, a + begin.length)}\n\n${body}\n\n${text.slice(b)}`;
}

/** A transport README with its option tables regenerated. */
export function transportReadme(text: string, t: TransportDefinition, file: string, commonLink: string): string {
  const groups = optionGroups(t);
  for (const group of ["input", "output", "both"] as const) {
    if (!groups.has(group) && text.includes(`<!-- options:${group}:begin -->`)) {
      throw new Error(`${file}: ${t.type} has no ${group} options, but the README has markers for them`);
    }
  }
  for (const [group, docs] of groups) {
    text = replaceBetween(text, `options:${group}`, groupText(t, group, docs, commonLink), file);
  }
  return text;
}

/** `docs/common_options.md`. */
export function commonOptionsDoc(): string {
  return [
    "# Options every table shares",
    "",
    "<!-- Generated by `deno task docs` from config/schema.ts: edit the schemas' descriptions, not this file. -->",
    "",
    'Durations are strings such as `"250ms"` or `"1h30m"` (a bare number is seconds), sizes strings such as ' +
    '`"64MiB"` (a bare number is bytes). Each transport\'s own keys are in its README ' +
    "([transports/](../transports/)); `telebus transports TYPE` prints them too.",
    "",
    "## `[daemon]`",
    "",
    optionTable(optionDocs(daemonSchema)),
    "",
    "## Every input",
    "",
    "Every `[[inputs.<type>]]` table has:",
    "",
    optionTable(optionDocs(inputCommonSchema)),
    "",
    "## Every output",
    "",
    "Every `[[outputs.<type>]]` table has these (a transport may change a default; its README says so):",
    "",
    optionTable(optionDocs(outputCommonSchema)),
    "",
  ].join("\n");
}

/** `docs/processors.md`: each processor's description, options and example, from `processors/schema.ts`. */
export function processorsDoc(): string {
  const sections = Object.entries(processorSchemas).flatMap(([type, schema]) => [
    `## \`${type}\``,
    "",
    processorDescriptions[type as keyof typeof processorDescriptions],
    "",
    optionTable(optionDocs(schema).filter((d) => d.key !== "type")),
    "",
    "```toml",
    processorExamples[type as keyof typeof processorExamples],
    "```",
    "",
  ]);
  return [
    "# Processors",
    "",
    "<!-- Generated by `deno task docs` from processors/schema.ts: edit the schemas' descriptions, not this file. -->",
    "",
    "Every input and every output may have a list of processors: `[[inputs.TYPE.processors]]` or " +
    "`[[outputs.TYPE.processors]]` tables, each with a `type`, applied in the order they are written. On an input " +
    "they change what reaches the bus (every output); on an output only that output's copy, so one output can " +
    "keep the full rate while another sends a thinned stream upstream. A processor never changes a record " +
    "another output sees: it makes new ones.",
    "",
    "Records a processor leaves out are acknowledged (an input's checkpoint moves past them) and counted: " +
    "`telebus_processor_dropped_total{kind,part,processor,index}` on `/metrics`, beside `..._records_in_total` " +
    "and `..._records_out_total`. `throttle` and `aggregate` hold records for up to one interval or window; " +
    "a part that stops passes on what they hold. Their clock is the daemon's, not the records' time.",
    "",
    ...sections,
  ].join("\n");
}

/** The JSON Schema of one table (draft 4: Taplo, behind Even Better TOML, reads no later one), defaults as in TOML. */
function tableJsonSchema(schema: unknown, description?: string): Record<string, unknown> {
  const node = schemaOf(schema) as SchemaNode;
  const json = inputJsonSchema(node) as { properties?: Record<string, Record<string, unknown>>; description?: string };
  for (const d of optionDocs(schema)) {
    const p = json.properties?.[d.key];
    if (!p) continue;
    if (d.defaultValue !== undefined) p.default = d.defaultValue;
    if (d.description) p.description = d.description;
  }
  if (description) json.description = description;
  return allowVariables(json) as Record<string, unknown>;
}

/**
 * `json` with every constrained string (a pattern or a list of choices) also accepting a string with a `${VAR}`:
 * substitution happens after parsing, so the schema must not flag what the loader accepts.
 */
function allowVariables(json: unknown): unknown {
  if (Array.isArray(json)) return json.map(allowVariables);
  if (json === null || typeof json !== "object") return json;
  const node = Object.fromEntries(Object.entries(json).map(([k, v]) => [k, k === "default" ? v : allowVariables(v)]));
  if (node.type !== "string" || (node.pattern === undefined && node.enum === undefined)) return node;
  const { description, default: dflt, ...constraint } = node;
  return {
    ...(description === undefined ? {} : { description }),
    ...(dflt === undefined ? {} : { default: dflt }),
    anyOf: [constraint, { type: "string", pattern: "\\$\\{" }],
  };
}

/** The `processors` list's JSON Schema with each processor's description on its table (one per `type`). */
function withProcessorDescriptions(definition: Record<string, unknown>): Record<string, unknown> {
  const items = definition.items as { anyOf?: Record<string, unknown>[] } | undefined;
  const types = Object.keys(processorSchemas) as (keyof typeof processorDescriptions)[];
  items?.anyOf?.forEach((table, i) => {
    if (types[i]) Object.assign(table, { description: processorDescriptions[types[i]] });
  });
  return definition;
}

/** The JSON Schema of a whole `telemetry.toml` with `registry`'s transports. */
export async function configJsonSchema(registry: TransportRegistry): Promise<Record<string, unknown>> {
  const sections = { inputs: {} as Record<string, unknown>, outputs: {} as Record<string, unknown> };
  for (const load of Object.values(registry)) {
    const { transport: t } = await load();
    for (const side of sidesOf(t)) {
      sections[`${side}s`][t.type] = {
        type: "array",
        description: `[[${side}s.${t.type}]]: ${t.description}`,
        items: tableJsonSchema(t[side]!.schema, `One [[${side}s.${t.type}]] table: ${t.description}`),
      };
    }
  }
  // Every table may have the same `processors` list: one definition, referred to from each table.
  let processors: unknown;
  for (const kind of ["inputs", "outputs"] as const) {
    for (const s of Object.values(sections[kind]) as { items: { properties?: Record<string, unknown> } }[]) {
      const props = s.items.properties;
      if (!props?.processors) continue;
      const { description, ...definition } = props.processors as Record<string, unknown>;
      processors ??= withProcessorDescriptions(definition);
      props.processors = { description, $ref: "#/definitions/processors" };
    }
  }
  const section = (kind: "inputs" | "outputs") => ({
    type: "object",
    description: `The ${kind} by transport type: [[${kind}.<type>]] tables.`,
    additionalProperties: false,
    properties: sections[kind],
  });
  return {
    $schema: "http://json-schema.org/draft-04/schema#",
    title: "telebus configuration (telemetry.toml)",
    description: "Generated by `deno task docs` from the schemas. `${VAR}` values are substituted after parsing, " +
      "so a constrained string also accepts one; the loader checks the result.",
    type: "object",
    additionalProperties: false,
    properties: {
      daemon: tableJsonSchema(daemonSchema, "The [daemon] table."),
      inputs: section("inputs"),
      outputs: section("outputs"),
    },
    definitions: { processors },
  };
}

/** `config/types.ts`: the public types of the `[daemon]` table and the common keys, written out from their schemas. */
export function typesModule(): string {
  const iface = (name: string, doc: string, schema: unknown) => {
    const fields = optionDocs(schema).map((d) => {
      const optional = d.default === undefined && !d.required;
      return `  /** ${d.description.replaceAll("*/", "*\\/")} */\n  ${d.key}${optional ? "?" : ""}: ${d.tsType};`;
    });
    return `/** ${doc} */\nexport type ${name} = {\n${fields.join("\n")}\n};\n`;
  };
  return [
    "/**",
    " * The parsed `[daemon]` table and the keys every input and output table has, written out from their schemas in",
    " * `schema.ts` by `deno task docs` (a test fails when they differ): the library's public API names no valibot type.",
    " * Do not edit; edit the schemas.",
    " *",
    " * @module",
    " */",
    "",
    iface("DaemonConfig", "The parsed `[daemon]` table (durations in ms, sizes in bytes).", daemonSchema),
    iface("InputCommon", "The parsed keys every input table has.", inputCommonSchema),
    iface("OutputCommon", "The parsed keys every output table has (sizes in bytes).", outputCommonSchema),
  ].join("\n");
}

/** The README's table of transports: type, sides, description, link. */
export async function transportsTable(registry: TransportRegistry, readmeOf: (type: string) => string) {
  const rows = ["| type | side | what it does | docs |", "| --- | --- | --- | --- |"];
  for (const load of Object.values(registry)) {
    const { transport: t } = await load();
    const side = t.input && t.output ? "both" : t.input ? "input" : "output";
    const readme = readmeOf(t.type);
    rows.push(`| \`${t.type}\` | ${side} | ${cell(t.description)} | [${dirname(readme)}](${readme}) |`);
  }
  return rows.join("\n");
}

/** Formats `text` as `deno fmt` would a file with extension `ext` (with the repository's settings). */
export async function denoFmt(text: string, ext: string): Promise<string> {
  const p = new Deno.Command(Deno.execPath(), {
    args: ["fmt", `--config=${join(ROOT, "deno.json")}`, `--ext=${ext}`, "-"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = p.stdin.getWriter();
  await w.write(new TextEncoder().encode(text));
  await w.close();
  const out = await p.output();
  if (!out.success) throw new Error(`deno fmt --ext=${ext}: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout);
}

/** Options of {@linkcode generateDocs}. */
export interface GenerateOptions {
  /** The transports (default: the built-in registry). */
  registry?: TransportRegistry;
  /** The repository whose files are written (default: this one). */
  root?: string;
  /** Where a transport's README is, relative to `root` (default: `transports/<type>/README.md`). */
  readmeOf?: (type: string) => string;
  /** Only compare; write nothing. */
  check?: boolean;
  /** Also the repository-wide files (README's table, common keys, JSON Schema, types); default true. */
  repository?: boolean;
}

/** Writes (or, with `check`, compares) every generated file; returns the paths that differed. */
export async function generateDocs(options: GenerateOptions = {}): Promise<string[]> {
  const registry = options.registry ?? transports;
  const root = options.root ?? ROOT;
  const readmeOf = options.readmeOf ?? ((type: string) => `transports/${type}/README.md`);
  const files = new Map<string, string>();
  for (const load of Object.values(registry)) {
    const { transport: t } = await load();
    const path = readmeOf(t.type);
    const link = relativeLink(dirname(path), COMMON_DOC);
    files.set(path, await denoFmt(transportReadme(await Deno.readTextFile(join(root, path)), t, path, link), "md"));
  }
  if (options.repository ?? true) {
    const readme = await Deno.readTextFile(join(root, "README.md"));
    files.set(
      "README.md",
      await denoFmt(replaceBetween(readme, "transports", await transportsTable(registry, readmeOf), "README.md"), "md"),
    );
    files.set(COMMON_DOC, await denoFmt(commonOptionsDoc(), "md"));
    files.set(PROCESSORS_DOC, await denoFmt(processorsDoc(), "md"));
    files.set(JSON_SCHEMA, await denoFmt(JSON.stringify(await configJsonSchema(registry), null, 2) + "\n", "json"));
    files.set("config/types.ts", await denoFmt(typesModule(), "ts"));
  }
  const differ: string[] = [];
  for (const [path, text] of files) {
    const file = join(root, path);
    const old = await Deno.readTextFile(file).catch(() => undefined);
    if (old === text) continue;
    differ.push(path);
    if (!options.check) await Deno.writeTextFile(file, text);
  }
  return differ;
}

/** `to` (relative to the repository) as a link from a file in folder `from`. */
function relativeLink(from: string, to: string): string {
  const up = from === "." ? 0 : from.split("/").length;
  return `${"../".repeat(up)}${to}`;
}

if (import.meta.main) {
  const check = Deno.args.includes("--check");
  const differ = await generateDocs({ check });
  if (check && differ.length > 0) {
    console.error(`generated docs differ from the schemas (run \`deno task docs\`):\n  ${differ.join("\n  ")}`);
    Deno.exit(1);
  }
  if (!check) console.log(differ.length ? `wrote ${differ.join(", ")}` : "docs are up to date");
}
