/**
 * `telebus permissions --config F`: the Deno permission flags a configuration
 * needs, so the daemon runs with least privilege instead of `-A`:
 *
 * ```sh
 * deno run $(deno run -R -E main.ts permissions --config telemetry.toml) main.ts --config telemetry.toml
 * ```
 *
 * What each part needs besides the daemon's own needs comes from its
 * transport's definition (`permissions` of its input or output side), so a
 * new transport brings its rule along; this file knows no transport.
 *
 * @module
 */
import { isAbsolute, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "npm:smol-toml@^1.4.2";
import type { TelebusConfig } from "../config/load.ts";
import type { PermissionNeeds } from "../core/permissions.ts";
import type { TransportRegistry } from "../core/transport.ts";
import { transports } from "../transports/mod.ts";
import { loadConfigOrReport, parseOrUsage } from "./args.ts";

export {
  npmPackageDir,
  type PermissionContext,
  type PermissionNeeds,
  type PermissionRule,
  templateFolder,
  urlHost,
} from "../core/permissions.ts";

/** Variables telebus itself (and its runtime dependencies) read, whatever the config. */
export const BUILTIN_ENV: readonly string[] = [
  "TELEBUS_LOG", // log level (core/log.ts)
  "TELEBUS_LOG_FORMAT", // "journal" for journald priority prefixes (core/log.ts)
  "MSGPACKR_NATIVE_ACCELERATION_DISABLED", // read by msgpackr when it loads
];

/** Options of {@linkcode permissionNeeds}. */
export interface NeedsOptions {
  /** The daemon's working directory, against which relative paths resolve (default: this process's). */
  cwd?: string;
  /** The raw TOML text, for the `${VAR}`s it references (default: read from `config.file`). */
  text?: string;
  /** Where the daemon will read the configuration from, when not `config.file` (a binary built for a robot). */
  installedConfig?: string;
}

/** The names of the variables `${VAR}`, `${VAR:-x}`, `${VAR:?x}` in every string value of a TOML text. */
export function referencedVariables(text: string): Set<string> {
  const names = new Set<string>();
  const walk = (v: unknown) => {
    if (typeof v === "string") {
      for (const m of v.matchAll(/\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)/g)) if (m[1]) names.add(m[1]);
    } else if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === "object" && !(v instanceof Date)) Object.values(v).forEach(walk);
  };
  walk(parse(text));
  return names;
}

/** The folder telebus runs from (its checkout, or the compiled binary's embedded tree). */
const TELEBUS_ROOT = new URL("../", import.meta.url);

/**
 * telebus's own code, relative to its root: the folders and files of docs/architecture.md's layer table, and the
 * npm packages (`tests/architecture_test.ts` checks that every place of the table is here).
 */
export const TELEBUS_CODE: readonly string[] = [
  "main.ts",
  "mod.ts",
  "start.ts",
  "version.ts",
  "cli/",
  "codecs/",
  "config/",
  "core/",
  "files/",
  "net/",
  "protocol/",
  "transports/",
  "web/",
  "vendor/",
  "node_modules/",
];

/** Computes the permissions a validated configuration needs. */
export async function permissionNeeds(config: TelebusConfig, options: NeedsOptions = {}): Promise<PermissionNeeds> {
  const cwd = options.cwd ?? Deno.cwd();
  const abs = (p: string) => isAbsolute(p) ? resolve(p) : resolve(cwd, p);
  const needs: PermissionNeeds = {
    net: new Set(),
    read: new Set(),
    write: new Set(),
    env: new Set(BUILTIN_ENV),
    sys: new Set(),
    ffi: new Set(),
  };
  const http = config.daemon.http;
  if (http && http !== "off") needs.net.add(http);
  // deno.json turns on lazy dynamic imports (a command or transport is loaded when used, not at start-up), so
  // Deno asks for read access to telebus's own code when it loads it: granted for the code and nothing else.
  for (const p of TELEBUS_CODE) needs.read.add(fileURLToPath(new URL(p, TELEBUS_ROOT)));
  needs.read.add(abs(options.installedConfig ?? config.file));
  needs.read.add(abs(config.daemon.data_dir));
  needs.write.add(abs(config.daemon.data_dir));
  for (const f of [config.daemon.tls_cert, config.daemon.tls_key]) if (f) needs.read.add(abs(f));
  const text = options.text ?? await Deno.readTextFile(config.file);
  for (const v of referencedVariables(text)) needs.env.add(v);
  // Each part's rule is its transport's: a part is validated by, and carries, its transport's definition.
  for (const part of config.inputs) part.transport.input!.permissions(part.config, needs, { side: "input", path: abs });
  for (const part of config.outputs) {
    part.transport.output!.permissions(part.config, needs, { side: "output", path: abs });
  }
  // A path below another granted path adds nothing.
  for (const set of [needs.read, needs.write]) {
    for (const p of [...set]) {
      if ([...set].some((q) => q !== p && (p.startsWith(q.endsWith("/") ? q : q + "/")))) set.delete(p);
    }
  }
  return needs;
}

/** The Deno flags for `needs`, in a stable order (only the kinds that are needed). */
export function permissionFlags(needs: PermissionNeeds): string[] {
  const flags: string[] = [];
  const list = (name: string, set: Set<string>) => {
    if (set.size === 0) return;
    for (const v of set) {
      if (v.includes(",")) {
        throw new Error(`${name}: ${JSON.stringify(v)} contains a comma, which Deno flags cannot carry`);
      }
    }
    flags.push(set.has("*") ? `--${name}` : `--${name}=${[...set].sort().join(",")}`);
  };
  list("allow-net", needs.net);
  list("allow-read", needs.read);
  list("allow-write", needs.write);
  list("allow-env", needs.env);
  list("allow-sys", needs.sys);
  list("allow-ffi", needs.ffi);
  return flags;
}

/**
 * The needs this process has not been granted (empty when it may run the
 * configuration). Used to refuse a reload into a config that would fail.
 */
export function missingPermissions(needs: PermissionNeeds): string[] {
  const missing: string[] = [];
  const check = (d: Deno.PermissionDescriptor, label: string) => {
    if (Deno.permissions.querySync(d).state !== "granted") missing.push(label);
  };
  for (const n of needs.net) check({ name: "net", host: n }, `net ${n}`);
  for (const p of needs.read) check({ name: "read", path: p }, `read ${p}`);
  for (const p of needs.write) check({ name: "write", path: p }, `write ${p}`);
  for (const v of needs.env) check({ name: "env", variable: v }, `env ${v}`);
  for (const k of needs.sys) check({ name: "sys", kind: k as Deno.SysPermissionDescriptor["kind"] }, `sys ${k}`);
  for (const p of needs.ffi) check(p === "*" ? { name: "ffi" } : { name: "ffi", path: p }, `ffi ${p}`);
  return missing;
}

const USAGE = `usage: telebus permissions --config FILE [--http ADDR] [--cwd DIR] [--installed-config PATH] [--json]

Prints the Deno permission flags the configuration needs, on one line:
  deno run $(telebus permissions --config FILE) main.ts --config FILE
Paths are made absolute against --cwd (default: the current directory), which
must be the daemon's working directory. \${VAR}s are substituted from the
current environment: run it with the daemon's environment.
  -c, --config FILE   the TOML configuration (default: telemetry.toml)
      --http ADDR     as "telebus run --http"
      --cwd DIR       the daemon's working directory
      --installed-config PATH
                      where the daemon will read the configuration (default: FILE)
      --json          print {"flags": [...], "net": [...], ...} instead`;

/** `telebus permissions`: prints the flags; returns the exit code. `registry`: the transports a config may use. */
export async function permissionsCommand(args: string[], registry: TransportRegistry = transports): Promise<number> {
  const p = parseOrUsage(args, {
    config: { type: "string", short: "c" },
    http: { type: "string" },
    cwd: { type: "string" },
    "installed-config": { type: "string" },
    json: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  }, USAGE);
  if (!p) return 2;
  if (p.values.help) {
    console.log(USAGE);
    return 0;
  }
  const file = (p.values.config as string | undefined) ?? p.positionals[0] ?? "telemetry.toml";
  const config = await loadConfigOrReport(file, registry);
  if (!config) return 1;
  if (p.values.http) config.daemon.http = p.values.http as string;
  try {
    const cwd = p.values.cwd ? resolve(p.values.cwd as string) : undefined;
    const needs = await permissionNeeds(config, {
      cwd,
      installedConfig: p.values["installed-config"] as string | undefined,
    });
    const flags = permissionFlags(needs);
    if (p.values.json) {
      const sorted = (s: Set<string>) => [...s].sort();
      console.log(JSON.stringify(
        {
          flags,
          net: sorted(needs.net),
          read: sorted(needs.read),
          write: sorted(needs.write),
          env: sorted(needs.env),
          sys: sorted(needs.sys),
          ffi: sorted(needs.ffi),
        },
        null,
        2,
      ));
    } else {
      if (flags.some((f) => /\s/.test(f))) {
        console.error("telebus permissions: a path contains white space; use --json, $(…) would split it");
      }
      console.log(flags.join(" "));
    }
    return 0;
  } catch (e) {
    console.error(`telebus permissions: ${(e as Error).message}`);
    return 1;
  }
}
