/**
 * Stream selection by glob: `*` matches any run of characters (`/` included),
 * `?` one character; everything else is literal. A pattern without wildcards
 * is an exact name. Small enough that a dependency would cost more than it saves.
 *
 * @module
 */

/** Compiles a glob to a RegExp anchored at both ends. */
export function globToRegExp(glob: string): RegExp {
  let re = "^";
  for (const ch of glob) {
    if (ch === "*") re += ".*";
    else if (ch === "?") re += ".";
    else re += ch.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(re + "$", "s");
}

/** A predicate true for names that match any of `globs`; undefined or empty selects everything. */
export function globMatcher(globs?: readonly string[]): (name: string) => boolean {
  if (!globs || globs.length === 0 || globs.includes("*")) return () => true;
  const res = globs.map(globToRegExp);
  const cache = new Map<string, boolean>();
  return (name) => {
    let hit = cache.get(name);
    if (hit === undefined) {
      hit = res.some((r) => r.test(name));
      // Stream names are few; the bound only guards against a source that makes up names.
      if (cache.size > 10_000) cache.clear();
      cache.set(name, hit);
    }
    return hit;
  };
}
