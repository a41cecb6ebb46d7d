/**
 * What the `mpack_file` output keeps between runs (`data_dir/mpack_file/<name>.json`), and the marks it leaves
 * on acknowledgement groups so that an input resuming from a checkpoint can have it cut back.
 *
 * @module
 */
import { dirname } from "node:path";
import { syncDir } from "../../core/path_template.ts";

/** A place in one file: `path` (inode `ino`) holds whole records up to `size` bytes. */
export interface FileEnd {
  /** The file's path. */
  path: string;
  /** Its inode, so that a file put in its place is not mistaken for it. */
  ino: number;
  /** Bytes of whole records. */
  size: number;
}

/**
 * The mark this output leaves on an acknowledgement group (`ack.marks[name]`): where it stood just after the
 * group's last record. The input saves it with its checkpoint and hands it back through `rewind` on a restart.
 */
export interface MpackFileMark extends FileEnd {
  /** The lineage it belongs to (see {@linkcode MpackFileState.run}). */
  run: string;
}

/** What the output keeps in `data_dir/mpack_file/<name>.json` between runs. */
export interface MpackFileState {
  /**
   * Lineage id. A run that cut back to a mark of the last lineage continues it (what follows the mark is again
   * only its source's records after that checkpoint); any other run that writes starts a new one. A mark is
   * only honoured when it belongs to the lineage saved here.
   */
  run: string;
  /** Inputs whose records the lineage wrote. */
  sources: string[];
  /** The output's `inputs` and `streams` when the lineage began. */
  selection: string;
  /** Files the lineage opened, oldest first (the last {@linkcode STATE_FILES}); `created`: opened as new. */
  files: { path: string; created: boolean }[];
  /** The last saved end of whole records (at most ~1 s old while writing; exact after a clean close). */
  end?: FileEnd;
}

/** How many files the state remembers; a rewind needs those opened since the last checkpoint. */
export const STATE_FILES = 64;

/** Most milliseconds between saves of the state's `end` while writing. */
export const STATE_SAVE_MS = 1000;

/** True for a well-formed {@linkcode FileEnd}. */
export function isFileEnd(v: unknown): v is FileEnd {
  const m = v as Record<string, unknown> | null;
  return typeof m === "object" && m !== null && typeof m.path === "string" && typeof m.ino === "number" &&
    Number.isSafeInteger(m.size) && (m.size as number) >= 0;
}

/** True for a well-formed {@linkcode MpackFileMark}. */
export function isMark(v: unknown): v is MpackFileMark {
  return isFileEnd(v) && typeof (v as unknown as Record<string, unknown>).run === "string";
}

/** True for a well-formed {@linkcode MpackFileState}. */
export function isState(v: unknown): v is MpackFileState {
  const s = v as Record<string, unknown> | null;
  return typeof s === "object" && s !== null && typeof s.run === "string" && Array.isArray(s.sources) &&
    typeof s.selection === "string" && Array.isArray(s.files) && (s.end === undefined || isFileEnd(s.end));
}

/** A rewind refused: why, with details for the log. */
export interface RewindRefusal {
  /** The reason, as the warning names it. */
  why: string;
  /** What the log line adds. */
  details?: Record<string, unknown>;
}

/** A rewind that may go ahead. */
export interface RewindPlan {
  /** The mark, checked. */
  mark: MpackFileMark;
  /** The state the last run saved (the mark belongs to its lineage). */
  prev: MpackFileState;
  /** Index of the marked file in `prev.files`. */
  at: number;
  /** The files the lineage opened after the marked one (all created by it: they can go). */
  later: MpackFileState["files"];
  /** The marked file's size now. */
  size: number;
}

/**
 * Whether the output may cut back to `mark` for input `source`: only when the mark belongs to the lineage
 * `prev` names, that lineage wrote only records of `source`, the `selection` is unchanged, nothing was written
 * in this run (`wrote`), no file after the mark was appended to, and the marked file is still there, whole.
 */
export async function planRewind(
  mark: unknown,
  source: string,
  prev: MpackFileState | undefined,
  selection: string,
  wrote: boolean,
): Promise<RewindRefusal | RewindPlan> {
  const refuse = (why: string, details?: Record<string, unknown>): RewindRefusal => ({ why, details });
  if (!isMark(mark)) return refuse("malformed mark", { mark });
  if (wrote) return refuse("records were written before the input resumed");
  if (!prev || prev.run !== mark.run) return refuse("the mark is older than the output's last run");
  if (prev.sources.some((s) => s !== source)) {
    return refuse("other inputs wrote to it too", { sources: prev.sources });
  }
  if (prev.selection !== selection) return refuse("its inputs or streams changed");
  const at = prev.files.findLastIndex((f) => f.path === mark.path);
  if (at < 0) return refuse("the marked file is not among its recent files", { file: mark.path });
  const later = prev.files.slice(at + 1);
  // A file appended to after the mark also holds older records: it cannot simply go.
  const kept = later.find((f) => !f.created);
  if (kept) return refuse("a file it appended to after the mark holds older records", { file: kept.path });
  let size: number;
  try {
    const st = await Deno.stat(mark.path);
    if (!st.isFile || (st.ino ?? 0) !== mark.ino) return refuse("another file has its name", { file: mark.path });
    size = st.size;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
    return refuse("the marked file is gone", { file: mark.path });
  }
  if (size < mark.size) {
    return refuse("the file is shorter than the mark: what was written last did not reach the disk", {
      file: mark.path,
      size,
      mark: mark.size,
    });
  }
  return { mark, prev, at, later, size };
}

/**
 * Cuts the marked file (now `size` bytes) back to the mark and removes the `later` files; with `fsync`, makes
 * that durable. Each step can be repeated after a crash. Returns the bytes cut and the files removed.
 */
export async function cutBack(
  mark: MpackFileMark,
  size: number,
  later: readonly { path: string }[],
  fsync: boolean,
): Promise<{ cut: number; removed: string[] }> {
  let cut = size - mark.size;
  const removed: string[] = [];
  for (const f of later) {
    try {
      cut += (await Deno.stat(f.path)).size;
      await Deno.remove(f.path);
      removed.push(f.path);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
  if (size > mark.size) await Deno.truncate(mark.path, mark.size);
  if (fsync && (size > mark.size || removed.length > 0)) {
    const f = await Deno.open(mark.path, { write: true });
    try {
      await f.syncData();
    } finally {
      f.close();
    }
    await syncDir(dirname(mark.path));
  }
  return { cut, removed };
}
