/**
 * What a configured part needs from Deno's permission system, as a transport
 * declares it (its definition's `permissions` rule), and the helpers rules
 * share. `telebus permissions` adds up every part's needs.
 *
 * @module
 */
import { fileURLToPath } from "node:url";

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

/**
 * Adds what one configured input or output needs beyond the daemon's own needs
 * (its HTTP address, the config file, `data_dir`) to `needs`.
 */
export type PermissionRule<C> = (config: C, needs: PermissionNeeds, ctx: PermissionContext) => void;

/** A rule for parts that need nothing beyond the daemon's own permissions. */
export const NEEDS_NOTHING: PermissionRule<unknown> = () => {};

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

/** A Redis server's needs: its `host:port` (6379 by default) and, for `rediss://`, the extra CA file. */
export function redisNeeds(url: string, tlsCa: string, needs: PermissionNeeds, ctx: PermissionContext): void {
  const u = new URL(url);
  needs.net.add(`${u.hostname}:${u.port || "6379"}`);
  if (tlsCa) needs.read.add(ctx.path(tlsCa));
}
