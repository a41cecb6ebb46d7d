/**
 * `telebus permissions --config F`: the Deno permission flags a configuration
 * needs, so the daemon runs with least privilege instead of `-A`:
 *
 * ```sh
 * deno run $(deno run -R -E main.ts permissions --config telemetry.toml) main.ts --config telemetry.toml
 * ```
 *
 * What each transport type needs is data: {@linkcode PERMISSION_RULES} maps a
 * type to a rule, and a transport module may instead export its own
 * `permissions` rule next to `transport` (checked first). A configured type
 * with neither is an error, never a silent under- or over-grant.
 *
 * @module
 */
import { isAbsolute, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "npm:smol-toml@^1.4.2";
import type { PartConfig, TelebusConfig } from "../config/load.ts";
import type { TransportRegistry } from "../core/transport.ts";
import { transports } from "../transports/mod.ts";
import { loadConfigOrReport, parseOrUsage } from "./args.ts";

/** The permissions a configuration needs, as sets of Deno permission descriptors. */
export interface PermissionNeeds {
  /** `host:port` addresses to listen on or connect to (`--allow-net`). */
  net: Set<string>;
  /** Absolute paths read (`--allow-read`). */
  read: Set<string>;
  /** Absolute paths written (`--allow-write`). */
  write: Set<string>;
  /** Environment variables read (`--allow-env`). */
  env: Set<string>;
  /** `Deno` system-information APIs called (`--allow-sys`), e.g. `hostname`. */
  sys: Set<string>;
  /** Native libraries loaded (`--allow-ffi`); `"*"` for any (a transport that loads a native addon). */
  ffi: Set<string>;
}

/** What a permission rule gets besides the part's validated config. */
export interface PermissionContext {
  /** `"input"` or `"output"`. */
  side: "input" | "output";
  /** Makes a configured path absolute, as the daemon will see it (relative to its working directory). */
  path(p: string): string;
}

/** Adds what one configured input or output of a transport type needs to `needs`. */
export type PermissionRule = (config: Record<string, unknown>, needs: PermissionNeeds, ctx: PermissionContext) => void;

/** Variables telebus itself (and its runtime dependencies) read, whatever the config. */
export const BUILTIN_ENV: readonly string[] = [
  "TELEBUS_LOG", // log level (core/log.ts)
  "TELEBUS_LOG_FORMAT", // "journal" for journald priority prefixes (core/log.ts)
  "MSGPACKR_NATIVE_ACCELERATION_DISABLED", // read by msgpackr when it loads
];

/**
 * The folder a file-name template writes into: its directory part up to the
 * first `{placeholder}` (a placeholder in the folder part means new folders
 * appear below that prefix).
 */
export function templateFolder(template: string): string {
  const brace = template.indexOf("{");
  const fixed = brace < 0 ? template : template.slice(0, brace);
  const slash = fixed.lastIndexOf("/");
  if (slash < 0) return ".";
  return slash === 0 ? "/" : fixed.slice(0, slash);
}

/** `host:port` of a URL, or the bare host (every port) when the URL gives none. */
export function urlHost(url: string): string {
  const u = new URL(url);
  return u.port ? `${u.hostname}:${u.port}` : u.hostname;
}

/**
 * The folder of npm package `name` given the resolved URL of one of its files
 * (`.../node_modules/<name>/...`), for packages that read their own files at
 * run time. Undefined when it is not a local file.
 */
export function npmPackageDir(resolved: string, name: string): string | undefined {
  if (!resolved.startsWith("file:")) return undefined;
  const path = fileURLToPath(resolved);
  const marker = `/node_modules/${name}/`;
  const at = path.lastIndexOf(marker);
  return at < 0 ? undefined : path.slice(0, at + marker.length - 1);
}

/**
 * What each built-in transport type needs beyond the daemon's own needs (its
 * HTTP address, the config file, `data_dir`). Transports served by the
 * daemon's HTTP server (dashboard, websocket, graphql) need nothing more,
 * but what their npm packages read (graphql reads `NODE_ENV`).
 * A ZeroMQ transport would add `needs.ffi.add("*")` (its native addon) and its
 * endpoints to `needs.net`.
 */
export const PERMISSION_RULES: Record<string, PermissionRule> = {
  generator: () => {},
  dashboard: () => {},
  websocket: () => {},
  graphql: (_c, needs) => {
    needs.env.add("NODE_ENV"); // read by the graphql package when it loads
  },
  mpack_tail: (c, needs, ctx) => {
    needs.read.add(ctx.path(String(c.path)));
  },
  mpack_file: (c, needs, ctx) => {
    const tpl = String(c.path);
    const dir = ctx.path(templateFolder(tpl));
    needs.read.add(dir); // an existing file is appended to after its tail is checked
    needs.write.add(dir);
    if (tpl.includes("{host}")) needs.sys.add("hostname");
  },
  mpack_serve: (c, needs) => {
    needs.net.add(String(c.listen));
  },
  redis_streams: (c, needs, ctx) => {
    const u = new URL(String(c.url));
    needs.net.add(`${u.hostname}:${u.port || "6379"}`);
    if (typeof c.tls_ca === "string" && c.tls_ca) needs.read.add(ctx.path(c.tls_ca));
    if (ctx.side === "input" && c.consumer === undefined) needs.sys.add("hostname"); // default consumer name
  },
  // Served by the daemon's HTTP server; Redis when the store lives there; graphql reads NODE_ENV (loaded only then).
  streamer: (c, needs, ctx) => {
    if (c.graphql === true || c.graphql === "true") needs.env.add("NODE_ENV");
    if (typeof c.redis_url === "string") {
      const u = new URL(c.redis_url);
      needs.net.add(`${u.hostname}:${u.port || "6379"}`);
      if (typeof c.tls_ca === "string" && c.tls_ca) needs.read.add(ctx.path(c.tls_ca));
    }
  },
  influxdb: (c, needs) => {
    needs.net.add(urlHost(String(c.url))); // its spool lives in data_dir
  },
  moat_cmd: (c, needs, ctx) => {
    if (typeof c.listen === "string") needs.net.add(c.listen);
    const to = c.connect;
    if (typeof to !== "string") return;
    if (to.startsWith("/")) { // a serial device or pipe, opened read-write
      needs.read.add(ctx.path(to));
      needs.write.add(ctx.path(to));
    } else needs.net.add(/^wss?:\/\//.test(to) ? urlHost(to) : to);
  },
  zmq: (c, needs) => {
    // libzmq is a native addon: it needs --allow-ffi, and Deno does not confine what it does,
    // so its endpoints are listed for the record only.
    needs.ffi.add("*");
    needs.read.add("/etc/alpine-release"); // zeromq's addon loader tells musl from glibc by it
    const dir = npmPackageDir(import.meta.resolve("zeromq"), "zeromq");
    if (dir) needs.read.add(dir); // it reads its build manifest; the addon itself loads through --allow-ffi
    for (const a of c.address as string[]) {
      const m = /^tcp:\/\/(.+):(\d+)$/.exec(a);
      if (m) needs.net.add(`${m[1] === "*" ? "0.0.0.0" : m[1]}:${m[2]}`);
    }
  },
};

/** Options of {@linkcode permissionNeeds}. */
export interface NeedsOptions {
  /** The daemon's working directory, against which relative paths resolve (default: this process's). */
  cwd?: string;
  /** Extra rules by transport type, over {@linkcode PERMISSION_RULES}. */
  rules?: Record<string, PermissionRule>;
  /** Where transport modules are loaded from, for rules they export (default: the built-in registry). */
  registry?: TransportRegistry;
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

async function ruleFor(part: PartConfig, options: NeedsOptions): Promise<PermissionRule> {
  const own = options.rules?.[part.type];
  if (own) return own;
  const load = (options.registry ?? transports)[part.type];
  const mod = load ? await load() as { permissions?: unknown } : undefined;
  if (typeof mod?.permissions === "function") return mod.permissions as PermissionRule;
  const rule = PERMISSION_RULES[part.type];
  if (!rule) {
    throw new Error(
      `no permission rule for transport type ${JSON.stringify(part.type)}: export \`permissions\` ` +
        `from its module or add it to PERMISSION_RULES in cli/permissions.ts`,
    );
  }
  return rule;
}

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
  needs.read.add(abs(options.installedConfig ?? config.file));
  needs.read.add(abs(config.daemon.data_dir));
  needs.write.add(abs(config.daemon.data_dir));
  for (const f of [config.daemon.tls_cert, config.daemon.tls_key]) if (f) needs.read.add(abs(f));
  const text = options.text ?? await Deno.readTextFile(config.file);
  for (const v of referencedVariables(text)) needs.env.add(v);
  for (const [side, parts] of [["input", config.inputs], ["output", config.outputs]] as const) {
    for (const part of parts) (await ruleFor(part, options))(part.config, needs, { side, path: abs });
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

/** `telebus permissions`: prints the flags; returns the exit code. */
export async function permissionsCommand(args: string[]): Promise<number> {
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
  const config = await loadConfigOrReport(file);
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
