/**
 * `telebus transports [TYPE]`: the transport types with their description and
 * sides, or one type's options with type, default and description, read from
 * the transports' definitions and schemas (the same source as the docs).
 *
 * @module
 */
import type { TransportRegistry } from "../core/transport.ts";
import { optionDocs } from "../config/describe.ts";
import { didYouMean } from "../config/suggest.ts";
import { transports } from "../transports/mod.ts";
import { parseOrUsage } from "./args.ts";

const USAGE = `usage: telebus transports [TYPE]

Without TYPE: every transport type, its sides (input, output) and what it does.
With TYPE: the keys of its [[inputs.TYPE]] and [[outputs.TYPE]] tables, each
with its type, default and description (the common keys included).`;

/** `text` wrapped at `width` columns, each line indented by `indent`. */
function wrap(text: string, width: number, indent: string): string {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && indent.length + line.length + 1 + word.length > width) {
      lines.push(indent + line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(indent + line);
  return lines.join("\n");
}

/** The text `telebus transports` prints: one line per type. */
export async function transportList(registry: TransportRegistry): Promise<string> {
  const rows: string[][] = [];
  for (const [type, load] of Object.entries(registry)) {
    const { transport } = await load();
    const sides = [transport.input ? "input" : "", transport.output ? "output" : ""].filter(Boolean).join("+");
    rows.push([type, sides, transport.description]);
  }
  const w0 = Math.max(...rows.map((r) => r[0].length)), w1 = Math.max(...rows.map((r) => r[1].length));
  return rows.map(([t, s, d]) => `${t.padEnd(w0)}  ${s.padEnd(w1)}  ${d}`).join("\n");
}

/** The text `telebus transports TYPE` prints, or undefined for an unknown type. */
export async function transportOptions(registry: TransportRegistry, type: string): Promise<string | undefined> {
  if (!Object.hasOwn(registry, type)) return undefined;
  const { transport } = await registry[type]();
  const out = [`${type}: ${transport.description}`];
  for (const side of ["input", "output"] as const) {
    const s = transport[side];
    if (!s) continue;
    out.push("", `[[${side}s.${type}]]`);
    for (const d of optionDocs(s.schema)) {
      const dflt = d.required ? "required" : d.default === undefined ? "optional" : `default ${d.default}`;
      out.push(
        `  ${d.key}: ${d.type.replaceAll("`", "")}; ${dflt}`,
        wrap(d.description.replaceAll("`", ""), 100, "      "),
      );
    }
  }
  return out.join("\n");
}

/** `telebus transports`: prints the types or one type's options; returns the exit code. */
export async function transportsCommand(args: string[], registry: TransportRegistry = transports): Promise<number> {
  const p = parseOrUsage(args, { help: { type: "boolean", short: "h" } }, USAGE);
  if (!p) return 2;
  if (p.values.help) {
    console.log(USAGE);
    return 0;
  }
  if (p.positionals.length > 1) {
    console.error(USAGE);
    return 2;
  }
  const type = p.positionals[0];
  if (type === undefined) {
    console.log(await transportList(registry));
    return 0;
  }
  const text = await transportOptions(registry, type);
  if (text === undefined) {
    console.error(
      `telebus transports: unknown transport type ${JSON.stringify(type)}${
        didYouMean(type, Object.keys(registry))
      } (types: ${Object.keys(registry).join(", ")})`,
    );
    return 1;
  }
  console.log(text);
  return 0;
}
