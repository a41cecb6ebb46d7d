/**
 * docs/architecture.md cannot drift from the code: its layer table is the rule every import of the sources is
 * checked against (no import goes up a layer, no transport imports another, `cli/` uses a transport only through
 * its `mod.ts`), the import graph has no circle, no file is over 500 lines, and every path and symbol the document
 * names exists.
 */
import assert from "node:assert/strict";
import { dirname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const DOC = "docs/architecture.md";
/** Folders that are not telebus's sources (data, vendored code, generated output). */
const NOT_SOURCES = new Set(["node_modules", "vendor", "testdata", "test-output", "data", "dist", ".git", "deploy"]);
const MAX_LINES = 500;

interface Layer {
  rank: number;
  /** A folder (ending in `/`) or a file, relative to the repository. */
  place: string;
}

async function readDoc(): Promise<string> {
  return await Deno.readTextFile(join(ROOT, DOC));
}

/** The rows of the table between `<!-- layers:begin -->` and `<!-- layers:end -->`: `| rank | `place`, … | what |`. */
function layersOf(doc: string): Layer[] {
  const begin = doc.indexOf("<!-- layers:begin -->");
  const end = doc.indexOf("<!-- layers:end -->");
  assert.ok(
    begin >= 0 && end > begin,
    `${DOC} has a layer table between <!-- layers:begin --> and <!-- layers:end -->`,
  );
  const layers: Layer[] = [];
  for (const line of doc.slice(begin, end).split("\n")) {
    const cells = line.split("|").map((c) => c.trim());
    const rank = Number(cells[1]);
    if (cells.length < 4 || !/^\d+$/.test(cells[1] ?? "")) continue;
    for (const m of cells[2].matchAll(/`([^`]+)`/g)) layers.push({ rank, place: m[1] });
  }
  assert.ok(layers.length > 0, `${DOC}: the layer table has rows`);
  return layers;
}

async function* tsFiles(dir = ""): AsyncGenerator<string> {
  for await (const e of Deno.readDir(join(ROOT, dir))) {
    const path = dir ? `${dir}/${e.name}` : e.name;
    if (e.isDirectory && !NOT_SOURCES.has(e.name)) yield* tsFiles(path);
    else if (e.isFile && /\.(ts|js)$/.test(e.name)) yield path;
  }
}

const isTestCode = (f: string) => /_test\.ts$/.test(f) || /^(tests|testing|bench|fuzz|scripts)\//.test(f);

/** Relative import specifiers of a source text (static, re-exports and literal dynamic imports). */
function importsOf(text: string): string[] {
  const found: string[] = [];
  const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  for (const m of code.matchAll(/(?:^|[\s;])(?:import|export)\s[^;'"`]*?from\s*"([^"]+)"/g)) found.push(m[1]);
  for (const m of code.matchAll(/(?:^|[\s;])import\s*"([^"]+)"/g)) found.push(m[1]);
  for (const m of code.matchAll(/import\(\s*"([^"]+)"\s*\)/g)) found.push(m[1]);
  return found.filter((s) => s.startsWith("./") || s.startsWith("../"));
}

function placeOf(file: string, layers: readonly Layer[]): Layer | undefined {
  let best: Layer | undefined;
  for (const l of layers) {
    const hit = l.place.endsWith("/") ? file.startsWith(l.place) : file === l.place;
    if (hit && (!best || l.place.length > best.place.length)) best = l;
  }
  return best;
}

async function graph(): Promise<Map<string, string[]>> {
  const edges = new Map<string, string[]>();
  for await (const file of tsFiles()) {
    const text = await Deno.readTextFile(join(ROOT, file));
    edges.set(file, importsOf(text).map((s) => normalize(join(dirname(file), s))));
  }
  return edges;
}

Deno.test("architecture: every source file has a layer, and no import goes up a layer", async () => {
  const layers = layersOf(await readDoc());
  const edges = await graph();
  const wrong: string[] = [];
  for (const [file, targets] of edges) {
    if (isTestCode(file)) continue;
    const from = placeOf(file, layers);
    if (!from) {
      wrong.push(`${file} is in no layer of ${DOC}`);
      continue;
    }
    for (const target of targets) {
      const to = placeOf(target, layers);
      if (to && to.rank > from.rank) wrong.push(`${file} (layer ${from.rank}) imports ${target} (layer ${to.rank})`);
    }
  }
  assert.deepEqual(wrong, []);
});

Deno.test("architecture: no transport imports another; cli/ and the library use a transport only through its mod.ts", async () => {
  const edges = await graph();
  const transportOf = (f: string) => /^transports\/([^/]+)\//.exec(f)?.[1];
  const wrong: string[] = [];
  for (const [file, targets] of edges) {
    if (isTestCode(file)) continue;
    const own = transportOf(file);
    for (const target of targets) {
      const other = transportOf(target);
      if (!other || other === own) continue;
      if (own) wrong.push(`${file} imports another transport: ${target}`);
      else if (file !== "transports/mod.ts" && target !== `transports/${other}/mod.ts`) {
        wrong.push(`${file} reaches into a transport: ${target}`);
      }
    }
  }
  assert.deepEqual(wrong, []);
});

Deno.test("architecture: the imports of the sources form no circle", async () => {
  const edges = await graph();
  // Tarjan's strongly connected components, iteratively deep enough for this tree.
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const circles: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!edges.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const part: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        part.push(w);
      } while (w !== v);
      if (part.length > 1) circles.push(part.sort());
    }
  };
  for (const v of edges.keys()) if (!idx.has(v)) visit(v);
  assert.deepEqual(circles, []);
});

Deno.test(`architecture: no TypeScript file is over ${MAX_LINES} lines`, async () => {
  const long: string[] = [];
  for await (const file of tsFiles()) {
    const lines = (await Deno.readTextFile(join(ROOT, file))).split("\n").length - 1;
    if (lines > MAX_LINES) long.push(`${file}: ${lines} lines`);
  }
  assert.deepEqual(long, []);
});

Deno.test("architecture: every path and symbol docs/architecture.md names exists", async () => {
  const doc = await readDoc();
  const missing: string[] = [];
  // `folder/`, `folder/file.ts`, or `folder/file.ts` `Symbol` (a symbol right after a file must be declared in it).
  for (const m of doc.matchAll(/`([a-z_.]+\/[a-z_./]*(?:\/|\.[a-z]+))`(?:\s*`([A-Za-z_][\w.]*)`)?/g)) {
    const [, path, symbol] = m;
    let text: string | undefined;
    try {
      const stat = await Deno.stat(join(ROOT, path));
      if (stat.isFile) text = await Deno.readTextFile(join(ROOT, path));
    } catch {
      missing.push(path);
      continue;
    }
    if (symbol && text !== undefined) {
      const name = symbol.split(".").at(-1)!;
      const declared = new RegExp(
        `(?:function|class|interface|type|const|let|enum)\\s+${name}\\b|^\\s+(?:async\\s+|readonly\\s+|static\\s+)*${name}\\s*[(<:=]`,
        "m",
      );
      if (!declared.test(text)) missing.push(`${path} ${symbol}`);
    }
  }
  assert.deepEqual(missing, [], `${DOC} names paths or symbols that do not exist in the repository`);
});

Deno.test("architecture: the read permission for telebus's own code covers every place of the layer table", async () => {
  const { TELEBUS_CODE } = await import("../cli/permissions.ts");
  const layers = layersOf(await readDoc());
  const uncovered = layers.map((l) => l.place).filter((place) =>
    !TELEBUS_CODE.some((code) => code.endsWith("/") ? place.startsWith(code) : place === code)
  );
  assert.deepEqual(uncovered, [], "cli/permissions.ts TELEBUS_CODE misses places of the layer table");
});
