/**
 * Small helpers shared by the command-line commands.
 *
 * @module
 */
import { parseArgs, type ParseArgsConfig } from "node:util";

/** Parses `args` with node's parseArgs; on a usage error prints it with `usage` and returns undefined. */
export function parseOrUsage<T extends ParseArgsConfig["options"]>(
  args: string[],
  options: T,
  usage: string,
): { values: Record<string, string | boolean | undefined>; positionals: string[] } | undefined {
  try {
    const r = parseArgs({ args, options, allowPositionals: true, strict: true });
    return { values: r.values as Record<string, string | boolean | undefined>, positionals: r.positionals };
  } catch (e) {
    console.error(`${(e as Error).message}\n\n${usage}`);
    return undefined;
  }
}
