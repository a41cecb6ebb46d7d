/**
 * File names of the file outputs (`mpack_file`, `mcap`): path templates, `.N`
 * suffixes, the next free name, and the file-system checks that go with them.
 *
 * @module
 */
import { basename, dirname } from "node:path";

/** The placeholders a `path` template may hold. */
export const PATH_PLACEHOLDERS = ["name", "date", "time", "datetime", "started", "seq", "host"] as const;

/** Names every `{...}` of a template that is not a known placeholder. */
export function unknownPlaceholders(template: string): string[] {
  const known: readonly string[] = PATH_PLACEHOLDERS;
  return [...template.matchAll(/\{([^{}]*)\}/g)].map((m) => m[1]).filter((p) => !known.includes(p));
}

/** What is wrong with a path template's placeholders, for a schema's error; undefined when nothing is. */
export function placeholderProblem(template: string): string | undefined {
  const bad = unknownPlaceholders(template);
  if (bad.length === 0) return undefined;
  return `unknown placeholder ${bad.map((b) => `{${b}}`).join(", ")}; known: ${
    PATH_PLACEHOLDERS.map((k) => `{${k}}`).join(" ")
  }`;
}

/** Values substituted into a path template. */
export interface PathValues {
  /** The output's name, for `{name}`. */
  name: string;
  /** The host name, for `{host}`. */
  host: string;
  /** Milliseconds since the epoch, for `{date}`, `{time}` and `{datetime}` (UTC). */
  timeMs: number;
  /** The counter for `{seq}`; when undefined `{seq}` is left in place. */
  seq?: number;
  /** Milliseconds since the epoch when the output started, for `{started}` (default: `timeMs`). */
  startedMs?: number;
}

/** `YYYYMMDD` and `HHMMSS` of a time (UTC). */
function dateAndTime(ms: number): [string, string] {
  const iso = new Date(ms).toISOString(); // 2024-01-02T03:04:05.678Z
  return [
    iso.slice(0, 4) + iso.slice(5, 7) + iso.slice(8, 10),
    iso.slice(11, 13) + iso.slice(14, 16) + iso.slice(17, 19),
  ];
}

/**
 * Expands the placeholders of a path template: `{name}`, `{date}` (YYYYMMDD),
 * `{time}` (HHMMSS), `{datetime}` (YYYYMMDDTHHMMSSZ), all of `timeMs`;
 * `{started}` (YYYYMMDDTHHMMSSZ of `startedMs`), `{seq}` (0-padded to 4) and
 * `{host}`. Times are UTC.
 */
export function expandPathTemplate(template: string, values: PathValues): string {
  const [date, time] = dateAndTime(values.timeMs);
  return template.replace(/\{(name|date|time|datetime|started|seq|host)\}/g, (whole, key: string) => {
    switch (key) {
      case "started": {
        const [d, t] = dateAndTime(values.startedMs ?? values.timeMs);
        return `${d}T${t}Z`;
      }
      case "name":
        return values.name;
      case "date":
        return date;
      case "time":
        return time;
      case "datetime":
        return `${date}T${time}Z`;
      case "host":
        return values.host;
      default:
        return values.seq === undefined ? whole : String(values.seq).padStart(4, "0");
    }
  });
}

/** `a/b.mpack` with `n` = 2 gives `a/b.2.mpack`; a name without an extension gets `.2` appended. */
export function withNumberSuffix(path: string, n: number): string {
  const base = basename(path);
  const dot = base.lastIndexOf(".");
  if (dot <= 0) return `${path}.${n}`;
  const cut = path.length - base.length + dot;
  return `${path.slice(0, cut)}.${n}${path.slice(cut)}`;
}

/** How a new file is chosen: at start (the `append` option applies) or on rotation (always a new file). */
export type OpenMode = "start" | "rotate";

/**
 * The next path of `template` for `mode`, and whether it is an existing file to append to: a `{seq}` template
 * gets the next free number; otherwise the expanded name, or at start with `append` the newest file of its
 * `.1`, `.2`… chain, or else the first free `.N` name.
 */
export async function pickPath(
  template: string,
  values: PathValues,
  mode: OpenMode,
  append: boolean,
): Promise<[string, boolean]> {
  const tpl = expandPathTemplate(template, values);
  if (tpl.includes("{seq}")) return [await freeSeqPath(tpl), false];
  if (!(await exists(tpl))) return [tpl, false];
  if (mode === "start" && append) {
    // Continue the newest file of the `.1`, `.2`… chain an earlier run left.
    let last = tpl;
    for (let i = 1; await exists(withNumberSuffix(tpl, i)); i++) last = withNumberSuffix(tpl, i);
    return [last, true];
  }
  for (let i = 1;; i++) {
    const p = withNumberSuffix(tpl, i);
    if (!(await exists(p))) return [p, false];
  }
}

/**
 * The template with `{seq}` one past the highest number already in the folder, so names keep
 * their order even when older files were deleted.
 */
async function freeSeqPath(tpl: string): Promise<string> {
  const at = (n: number) => tpl.replaceAll("{seq}", String(n).padStart(4, "0"));
  let seq = 0;
  const dir = dirname(tpl);
  const base = basename(tpl);
  if (!dir.includes("{seq}")) {
    const re = new RegExp(`^${base.split("{seq}").map(escapeRegExp).join("(\\d+)")}$`);
    try {
      for await (const e of Deno.readDir(dir)) {
        const m = re.exec(e.name);
        if (m) seq = Math.max(seq, Number(m[1]) + 1);
      }
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
  while (await exists(at(seq))) seq++;
  return at(seq);
}

/** True when something (a file, a link, a device) has this name. */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** The host name for `{host}`, made safe for a file name. */
export function hostName(): string {
  try {
    return Deno.hostname().replace(/[^A-Za-z0-9_.-]/g, "_");
  } catch {
    return "localhost"; // no --allow-sys
  }
}

/** Best effort: makes a new directory entry durable. Not every platform can open a directory. */
export async function syncDir(dir: string): Promise<void> {
  try {
    const d = await Deno.open(dir, { read: true });
    try {
      await d.sync();
    } finally {
      d.close();
    }
  } catch {
    // ignored: the file's own data is still synced
  }
}
