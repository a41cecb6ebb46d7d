/**
 * Writes every npm import in the TypeScript sources as the full specifier that deno.json's "imports" maps
 * it to (`"zod"` → `"npm:zod@^4.1.12"`, `"msgpackr/pack"` → `"npm:msgpackr@^1.11.5/pack"`), and brings full
 * specifiers whose version range differs from deno.json's in line. Sources must not depend on the import
 * map: telebus is also imported as files from other folders, where deno.json does not apply.
 *
 *   deno run --allow-read --allow-write scripts/npm_specifiers.ts           # rewrite
 *   deno run --allow-read scripts/npm_specifiers.ts --check                 # list what differs, exit 1 if any
 *
 * @module
 */
import { join, relative } from "node:path";

const ROOT = new URL("..", import.meta.url).pathname;
// Not sources of telebus, or (the test) holding example imports in strings.
const SKIP = /^((node_modules|vendor|web\/vendor|data|dist|test-output|testdata)\/|scripts\/npm_specifiers_test\.ts$)/;

/** The "imports" of deno.json whose targets are npm packages: name → `npm:name@range`. */
export async function npmImports(root = ROOT): Promise<Map<string, string>> {
  const text = await Deno.readTextFile(join(root, "deno.json"));
  const map = new Map<string, string>();
  // deno.json may hold comments, so its "imports" entries are matched rather than parsed.
  for (const m of text.matchAll(/"([^"]+)":\s*"(npm:[^"]+)"/g)) map.set(m[1], m[2]);
  return map;
}

/** `source` with its npm imports written as `imports` says; unchanged if already so. */
export function rewrite(source: string, imports: Map<string, string>): string {
  // A module specifier after `from`, `import` or `import(`, bare (`pkg/sub`) or full (`npm:pkg@range/sub`).
  return source.replace(
    /(\bfrom\s*|\bimport\s*\(?\s*)(["'])(npm:)?((?:@[\w.-]+\/)?[\w.-]+)(@[^/"']+)?(\/[^"']*)?\2/g,
    (all, lead: string, quote: string, npm: string | undefined, name: string, range, sub: string | undefined) => {
      const target = imports.get(name);
      if (!target || (!npm && range)) return all;
      return `${lead}${quote}${target}${sub ?? ""}${quote}`;
    },
  );
}

async function* sources(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    const path = join(dir, e.name);
    const rel = relative(ROOT, path) + (e.isDirectory ? "/" : "");
    if (e.name.startsWith(".") || SKIP.test(rel)) continue;
    if (e.isDirectory) yield* sources(path);
    else if (e.isFile && e.name.endsWith(".ts")) yield path;
  }
}

if (import.meta.main) {
  const check = Deno.args.includes("--check");
  const imports = await npmImports();
  const changed: string[] = [];
  for await (const file of sources(ROOT)) {
    const before = await Deno.readTextFile(file);
    const after = rewrite(before, imports);
    if (after === before) continue;
    changed.push(relative(ROOT, file));
    if (!check) await Deno.writeTextFile(file, after);
  }
  for (const f of changed) console.log(`${check ? "not full npm: specifiers" : "rewrote"}: ${f}`);
  if (check && changed.length) Deno.exit(1);
}
