/**
 * `list FILE`: prints, per record, the leaf paths not seen in earlier records,
 * byte for byte as `mpacklog list` prints them: sorted in Python's order (by
 * code point), each as `- a/b`, then one empty line; a record that adds no
 * path prints nothing. Lists and bytes are leaves; empty maps add no path.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { isDict } from "../codecs/flatten.ts";
import type { Dict } from "../core/record.ts";
import { readLog } from "./dump.ts";
import { StdoutWriter, writeStderrLine } from "./stdout.ts";
import { collectRecordPaths, type PathNode } from "../codecs/mpack_json.ts";

export type { PathNode };

/**
 * Compares strings by Unicode code point, as Python sorts them. JavaScript's
 * default compares UTF-16 units, which puts astral characters (surrogates,
 * 0xD800–0xDFFF) before U+E000–U+FFFF.
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // Move surrogates above the rest of the BMP; the order within each group is unchanged.
    if (x >= 0xd800) x += x <= 0xdfff ? 0x2000 : -0x800;
    if (y >= 0xd800) y += y <= 0xdfff ? 0x2000 : -0x800;
    return x - y;
  }
  return a.length - b.length;
}

/** A new, empty root for {@linkcode collectNewPaths}. */
export function newPathTree(): PathNode {
  return { path: "", known: false };
}

/**
 * Appends to `fresh` the leaf paths of `d` not in `seen`, adding them to
 * `seen`. Joins like mpacklog's `list_fields` (an empty-string prefix adds no
 * separator). `seen` decides, not the tree: the key `a/b` and the nested
 * keys `a` → `b` are one path, as in mpacklog.
 */
export function collectNewPaths(d: Dict, node: PathNode, seen: Set<string>, fresh: string[]): void {
  const children = node.children ??= new Map();
  for (const k in d) {
    const v = d[k];
    let child = children.get(k);
    if (child === undefined) {
      child = { path: node.path ? node.path + "/" + k : k, known: false };
      children.set(k, child);
    }
    if (isDict(v)) collectNewPaths(v, child, seen, fresh);
    else if (!child.known) {
      child.known = true;
      if (!seen.has(child.path)) {
        seen.add(child.path);
        fresh.push(child.path);
      }
    }
  }
}

const LIST_USAGE = `usage: PROG FILE

Lists the fields of an mpacklog log (a .mpack file, or the newest *.mpack file of a directory) or an .mcap file:
for each record, the a/b/c paths of its values not seen before, sorted.

options:
  -h, --help     show this help`;

/**
 * Runs `list` with the arguments after the command name. Returns the exit
 * code: 0, 1 when the log cannot be opened, 2 on bad arguments. `prog`
 * prefixes messages.
 */
export async function listCommand(args: string[], prog = "telebus list"): Promise<number> {
  const text = LIST_USAGE.replaceAll("PROG", prog);
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: { help: { type: "boolean", short: "h" } },
    });
  } catch (err) {
    writeStderrLine(text);
    writeStderrLine(`${prog}: error: ${err instanceof Error ? err.message : String(err)}`);
    return 2;
  }
  if (parsed.values.help) {
    const out = new StdoutWriter();
    out.add(text + "\n");
    out.flush();
    return 0;
  }
  if (parsed.positionals.length !== 1) {
    writeStderrLine(text);
    writeStderrLine(
      `${prog}: error: ${parsed.positionals.length ? "only one FILE is accepted" : "the log FILE is required"}`,
    );
    return 2;
  }

  const out = new StdoutWriter();
  const seen = new Set<string>();
  const tree = newPathTree();
  const fresh: string[] = [];
  return await readLog({
    path: parsed.positionals[0],
    follow: false,
    prog,
    out,
    onRecord(item) {
      fresh.length = 0;
      // Straight from the bytes; the few records the byte walk leaves alone are decoded.
      const b = item.buffer ?? item.raw;
      const at = item.offset ?? 0;
      if (!collectRecordPaths(b, at, at + item.end - item.start, tree, seen, fresh)) {
        collectNewPaths(item.value, tree, seen, fresh);
      }
      if (fresh.length === 0) return;
      fresh.sort(compareCodePoints);
      let block = "";
      for (const p of fresh) block += "- " + p + "\n";
      out.add(block + "\n");
    },
  });
}
