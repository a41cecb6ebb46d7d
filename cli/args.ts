/**
 * Small helpers shared by the command-line commands: argument parsing and
 * loading a configuration with its errors reported.
 *
 * @module
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { loadConfigFile, type TelebusConfig } from "../config/load.ts";
import { ConfigError } from "../config/errors.ts";
import type { TransportRegistry } from "../core/transport.ts";
import { transports } from "../transports/mod.ts";

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

/**
 * Loads a configuration file with the built-in transports (or `registry`'s); on a configuration
 * error prints its located message on stderr and returns undefined (the
 * caller exits 1). Other errors are thrown.
 */
export async function loadConfigOrReport(
  file: string,
  registry: TransportRegistry = transports,
): Promise<TelebusConfig | undefined> {
  try {
    return await loadConfigFile(file, { registry });
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(e.message);
      return undefined;
    }
    throw e;
  }
}
