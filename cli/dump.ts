/**
 * `dump FILE [FIELDS…] [--format json|csv] [-f]`: prints the records of an
 * mpacklog log, compatible with `mpacklog dump` and with its bugs fixed:
 *
 * - json: one line per record as Python's `json.dumps` prints it (see
 *   codecs/json.ts). NaN and ±Infinity always print as `null` (mpacklog left
 *   some `NaN` and every `Infinity`), bytes as `{"$bin": "<base64>"}` (mpacklog
 *   crashed), integers beyond 2^53 exactly.
 * - json + FIELDS: only those `a/b/c` paths, nested as in the record (mpacklog
 *   let the leaf overwrite the nested map). A path through a list keeps the
 *   index as a map key: `foo/cbs/1` prints `{"foo": {"cbs": {"1": 3}}}`.
 * - csv: FIELDS required, `time` moved or added to column 1, values as
 *   Python's `str()` (bools 1/0, `nan`, `inf`, `None`), cells quoted per
 *   RFC 4180 only when needed. A missing value is an empty cell (mpacklog
 *   printed `0`, indistinguishable from a real 0). Whole floats print as
 *   integers (`1`, not `1.0`): JavaScript cannot tell them apart.
 *
 * In both formats a missing field is left out and counted; the counts are
 * printed on stderr at the end (`N records lacked field 'x/y/z'`).
 *
 * The reading loop and the buffered stdout writer are shared with `list`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { formatNumberPython, toJson } from "../codecs/json.ts";
import { lookupPath } from "../codecs/flatten.ts";
import type { MpackRecordItem } from "../codecs/mpack_stream.ts";
import type { Dict, Value } from "../core/record.ts";
import { followMpack } from "../files/mpack_follow.ts";
import { type ProgressBar, startProgress } from "./progress.ts";
import { appendRecordJson } from "../codecs/mpack_json.ts";
import { StdoutWriter, writeStderrLine } from "./stdout.ts";

export { StdoutWriter, writeStderrLine } from "./stdout.ts";

const encoder = new TextEncoder();

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Read size: large, since records are not kept past their batch (see `reuseBuffers` of followMpack). */
const READ_CHUNK = 128 * 1024;

/** Options of {@linkcode readLog}. */
export interface ReadLogOptions {
  /** The log file, or a directory whose newest `*.mpack` file is read. */
  path: string;
  /** Keep reading as the log grows until SIGINT or SIGTERM. */
  follow: boolean;
  /** Prefix of error messages, e.g. `telebus dump`. */
  prog: string;
  /** Stdout, flushed before warnings so that both streams stay in order on a terminal. */
  out: StdoutWriter;
  /**
   * Handles one record, synchronously (it is only valid during the call):
   * output goes to `out` with {@linkcode StdoutWriter.add} or its `sink`,
   * and is flushed after each read.
   */
  onRecord(item: MpackRecordItem): void;
}

/**
 * Reads a log from the start (and follows it with `follow`), passing records
 * to `onRecords`. Skipped garbage is reported on stderr as
 * `file:offset: skipped N bytes (reason)`. A progress bar is shown for large
 * files on a terminal. Returns the exit code: 0, or 1 when the log could not
 * be opened or read, or (without `follow`) held bytes but not one record.
 */
export async function readLog(options: ReadLogOptions): Promise<number> {
  const { path, follow, prog, out } = options;
  try {
    const info = await Deno.stat(path);
    // Opening now gives a clear error for an unreadable file before any output.
    if (info.isFile) (await Deno.open(path, { read: true })).close();
  } catch (err) {
    writeStderrLine(`${prog}: cannot open '${path}': ${errorMessage(err)}`);
    return 1;
  }
  if (path.endsWith(".mcap")) {
    if (follow) return (writeStderrLine(`${prog}: -f does not follow an .mcap file`), 2);
    // Imported here: the MCAP reader (@mcap/core, lz4, zlib) would add ~25 ms to every start of dump and list.
    const { readMcapLog } = await import("./mcap_log.ts");
    return await readMcapLog(path, prog, {
      onRecord: options.onRecord,
      flush: () => out.flush(),
      get closed() {
        return out.closed;
      },
      warn: writeStderrLine,
    });
  }

  const abort = new AbortController();
  const onSignal = () => abort.abort();
  const signals: Deno.Signal[] = follow ? ["SIGINT", "SIGTERM"] : [];
  for (const sig of signals) {
    try {
      Deno.addSignalListener(sig, onSignal);
    } catch {
      // not supported here (SIGTERM on Windows): that signal keeps its default action
    }
  }
  let progress: ProgressBar | undefined;
  let stdoutTerminal = false;
  try {
    stdoutTerminal = Deno.stdout.isTerminal();
  } catch {
    // not a terminal then
  }
  // The bar and the records would garble each other on one terminal: erase it before each write.
  if (stdoutTerminal) out.beforeWrite = () => progress?.clear();
  let records = 0;
  let garbageBytes = 0;
  let opened = false;
  try {
    // Records are used during onRecord only, so the reader may reuse its buffers and decode on demand.
    const reading = {
      follow,
      from: "start",
      signal: abort.signal,
      decode: false,
      reuseBuffers: true,
      chunkSize: READ_CHUNK,
      onRecord: options.onRecord,
    } as const;
    for await (const ev of followMpack(path, reading)) {
      if (ev.kind === "records") {
        // A follower waits at the end of the data: what was read must be visible now, not once the buffer is full.
        if (follow || out.full) out.flush();
        records += ev.count;
        progress?.update(ev.endOffset, records);
        if (out.closed) break;
      } else if (ev.kind === "garbage") {
        progress?.clear();
        out.flush();
        writeStderrLine(`${ev.file.path}:${ev.start}: skipped ${ev.length} bytes (${ev.reason})`);
        garbageBytes += ev.length;
      } else {
        if (opened) {
          progress?.clear();
          out.flush();
          writeStderrLine(`${prog}: now reading ${ev.to.path} (${ev.reason})`);
        }
        opened = true;
        progress?.finish();
        progress = undefined;
        try {
          progress = startProgress({ total: (await Deno.stat(ev.to.path)).size, follow });
        } catch {
          // no size, no bar
        }
      }
    }
    if (!opened && !abort.signal.aborted) {
      writeStderrLine(`${prog}: cannot open '${path}': no *.mpack file in the directory`);
      return 1;
    }
    // Bytes but not one record: not a log at all (a README, a JSON file). Decided after reading, from the
    // counts alone, so that it holds whatever the reader makes of torn or damaged records; a log being
    // followed may still get its first record, so -f keeps waiting.
    if (!follow && records === 0 && garbageBytes > 0) {
      writeStderrLine(`${prog}: '${path}' is not a MessagePack log: no record in its ${garbageBytes} bytes`);
      return 1;
    }
  } catch (err) {
    if (!abort.signal.aborted) {
      progress?.finish();
      out.flush();
      writeStderrLine(`${prog}: cannot read '${path}': ${errorMessage(err)}`);
      return 1;
    }
  } finally {
    abort.abort(); // stops a follower we left early (closed stdout)
    for (const sig of signals) {
      try {
        Deno.removeSignalListener(sig, onSignal);
      } catch {
        // was never added
      }
    }
    progress?.finish();
  }
  out.flush();
  return 0;
}

/** One `a/b/c` field of the command line. */
export interface FieldPath {
  /** The field as given. */
  text: string;
  /** Its segments (`text` split at `/`). */
  segments: string[];
}

/** Intermediate maps created for nested FIELDS output, told apart from maps taken from the record. */
class Branch {
  [key: string]: Value | undefined;
}

function setOwn(d: Dict, key: string, value: Value): void {
  // A "__proto__" key must become a member, not a new prototype.
  if (key === "__proto__") {
    Object.defineProperty(d, key, { value, enumerable: true, writable: true, configurable: true });
  } else d[key] = value;
}

/** Puts `value` at `segments` in `out`, creating intermediate maps; a whole ancestor already holds it. */
function setNested(out: Dict, segments: string[], value: Value): void {
  let cur: Dict = out;
  const last = segments.length - 1;
  for (let i = 0; i < last; i++) {
    const next = Object.hasOwn(cur, segments[i]) ? cur[segments[i]] : undefined;
    if (next === undefined) {
      const b = new Branch();
      setOwn(cur, segments[i], b as Dict);
      cur = b as Dict;
    } else if (next instanceof Branch) cur = next as Dict;
    else return; // an ancestor was selected whole and contains this value
  }
  setOwn(cur, segments[last], value);
}

/**
 * The record restricted to `fields`, nested as in the record. Counts each
 * missing field in `missing` (same order as `fields`).
 */
export function selectFields(record: Dict, fields: readonly FieldPath[], missing: number[]): Dict {
  const out: Dict = {};
  for (let i = 0; i < fields.length; i++) {
    const v = lookupPath(record, fields[i].text);
    if (v === undefined) missing[i]++;
    else setNested(out, fields[i].segments, v);
  }
  return out;
}

function pyQuote(s: string): string {
  // Python's repr picks single quotes unless the text holds ' and no ".
  const q = s.includes("'") && !s.includes('"') ? '"' : "'";
  let r = q;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    const c = s.charCodeAt(i);
    if (ch === "\\" || ch === q) r += "\\" + ch;
    else if (ch === "\n") r += "\\n";
    else if (ch === "\r") r += "\\r";
    else if (ch === "\t") r += "\\t";
    else if (c < 0x20 || (c >= 0x7f && c <= 0xa0)) r += "\\x" + c.toString(16).padStart(2, "0");
    else r += ch;
  }
  return r + q;
}

function pyBytes(b: Uint8Array): string {
  let hasSingle = false, hasDouble = false;
  for (const c of b) {
    if (c === 0x27) hasSingle = true;
    else if (c === 0x22) hasDouble = true;
  }
  const q = hasSingle && !hasDouble ? 0x22 : 0x27;
  let r = "b" + String.fromCharCode(q);
  for (const c of b) {
    if (c === 0x5c || c === q) r += "\\" + String.fromCharCode(c);
    else if (c === 0x0a) r += "\\n";
    else if (c === 0x0d) r += "\\r";
    else if (c === 0x09) r += "\\t";
    else if (c < 0x20 || c >= 0x7f) r += "\\x" + c.toString(16).padStart(2, "0");
    else r += String.fromCharCode(c);
  }
  return r + String.fromCharCode(q);
}

/** Python's `repr()` of a decoded value, as `str()` of a list or dict prints its items. */
function pyRepr(v: Value | undefined): string {
  if (v === null || v === undefined) return "None";
  switch (typeof v) {
    case "boolean":
      return v ? "True" : "False";
    case "number":
      return formatNumberPython(v);
    case "bigint":
      return v.toString();
    case "string":
      return pyQuote(v);
  }
  if (Array.isArray(v)) return "[" + v.map(pyRepr).join(", ") + "]";
  if (v instanceof Uint8Array) return pyBytes(v);
  if (v instanceof DataView) return pyBytes(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
  if (ArrayBuffer.isView(v)) {
    return "[" + Array.from(v as unknown as ArrayLike<number | bigint>, (x) => pyRepr(x)).join(", ") + "]";
  }
  if (v instanceof Date) return pyQuote(v.toISOString());
  const parts: string[] = [];
  for (const k in v) {
    const x = (v as Dict)[k];
    if (x !== undefined) parts.push(pyQuote(k) + ": " + pyRepr(x));
  }
  return "{" + parts.join(", ") + "}";
}

const CSV_SPECIAL = /[",\r\n]/;

/**
 * {@linkcode formatNumberPython}, with `JSON.stringify` where it prints the same text (every number in fixed
 * notation): `String(v)` keeps each result in V8's number-to-string cache, which lives in the old generation, and a
 * long `--format csv` dump grew by megabytes a second (84 MiB after 88 MB of log, 137 MiB after 1 GB; now flat).
 */
function pyNumber(v: number): string {
  const a = v < 0 ? -v : v;
  return a >= 1e-4 && a < 1e16 ? JSON.stringify(v) : formatNumberPython(v);
}

/**
 * One CSV cell: Python's `str()` of the value as mpacklog prints it (bools as
 * 1/0), an empty cell when missing, quoted per RFC 4180 only when needed.
 */
export function csvCell(v: Value | undefined): string {
  let s: string;
  if (v === undefined) return "";
  else if (v === null) s = "None";
  else if (typeof v === "boolean") s = v ? "1" : "0";
  else if (typeof v === "number") s = pyNumber(v);
  else if (typeof v === "bigint") s = v.toString();
  else if (typeof v === "string") s = v;
  else s = pyRepr(v);
  return CSV_SPECIAL.test(s) ? '"' + s.replaceAll('"', '""') + '"' : s;
}

const DUMP_USAGE = `usage: PROG FILE [FIELDS...] [--format json|csv] [-f|--follow]

Prints the records of an mpacklog log: a .mpack file, or the newest *.mpack file of a directory, or an .mcap file.

arguments:
  FILE           log file or directory
  FIELDS         a/b/c paths to print (numeric segments index lists); required for csv
options:
  --format F     json (default): one JSON object per line, as mpacklog prints it
                 csv: one row per record, the field 'time' first
  -f, --follow   keep printing records as the log grows (tail -f) until interrupted
  -h, --help     show this help`;

function usage(text: string, prog: string, error?: string): number {
  if (error) {
    writeStderrLine(text.replaceAll("PROG", prog));
    writeStderrLine(`${prog}: error: ${error}`);
    return 2;
  }
  const bytes = encoder.encode(text.replaceAll("PROG", prog) + "\n");
  try {
    Deno.stdout.writeSync(bytes);
  } catch {
    // a closed stdout cannot show help
  }
  return 0;
}

/** Parses the `dump` arguments; an error message on bad arguments. */
function parseDumpArgs(args: string[]):
  | { help: true }
  | { help?: false; file: string; fields: string[]; format: "json" | "csv"; follow: boolean }
  | { error: string } {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        format: { type: "string" },
        follow: { type: "boolean", short: "f" },
        help: { type: "boolean", short: "h" },
        // mpacklog accepts and ignores it; so do we, so that existing scripts keep working.
        "output-dir": { type: "string" },
      },
    });
  } catch (err) {
    return { error: errorMessage(err) };
  }
  const { values, positionals } = parsed;
  if (values.help) return { help: true };
  const format = values.format ?? "json";
  if (format === "python") return { error: "--format python is not supported (mpacklog's own crashes)" };
  if (format !== "json" && format !== "csv") return { error: `unknown format '${format}' (choose json or csv)` };
  if (positionals.length < 1) return { error: "the log FILE is required" };
  const [file, ...fields] = positionals;
  if (format === "csv" && fields.length === 0) return { error: "a list of FIELDS is required for the csv format" };
  return { file, fields, format, follow: values.follow ?? false };
}

/** Splits command-line fields into their segments. */
export function toFieldPaths(fields: string[]): FieldPath[] {
  return fields.map((text) => ({ text, segments: text.split("/") }));
}

/**
 * Runs `dump` with the arguments after the command name. Returns the exit
 * code: 0 (also after SIGINT/SIGTERM with `-f`, or when stdout is closed), 1
 * when the log cannot be opened, 2 on bad arguments. `prog` prefixes messages.
 */
export async function dumpCommand(args: string[], prog = "telebus dump"): Promise<number> {
  const a = parseDumpArgs(args);
  if ("error" in a) return usage(DUMP_USAGE, prog, a.error);
  if (a.help) return usage(DUMP_USAGE, prog);

  let names = a.fields;
  // mpacklog puts `time` first; unlike it, we do not print `time` twice when it was also given later.
  if (a.format === "csv") names = ["time", ...names.filter((f) => f !== "time")];
  const fields = toFieldPaths(names);
  const missing = new Array<number>(fields.length).fill(0);
  const out = new StdoutWriter();

  let onRecord: (item: MpackRecordItem) => void;
  if (a.format === "csv") {
    out.add(names.join(",") + "\n");
    onRecord = (item) => {
      let line = "";
      for (let i = 0; i < fields.length; i++) {
        const v = lookupPath(item.value, fields[i].text);
        if (v === undefined) missing[i]++;
        if (i > 0) line += ",";
        line += csvCell(v);
      }
      out.add(line + "\n");
    };
  } else if (fields.length > 0) {
    onRecord = (item) => out.add(toJson(selectFields(item.value, fields, missing), PYTHON) + "\n");
  } else {
    const sink = out.sink;
    onRecord = (item) => {
      // Straight from the bytes; the few records the byte walk leaves alone are decoded.
      const b = item.buffer ?? item.raw;
      const at = item.offset ?? 0;
      if (!appendRecordJson(sink, b, at, at + item.end - item.start)) out.add(toJson(item.value, PYTHON) + "\n");
    };
  }

  const code = await readLog({ path: a.file, follow: a.follow, prog, out, onRecord });
  if (code !== 0) return code;
  if (!out.closed) {
    for (let i = 0; i < fields.length; i++) {
      if (missing[i] > 0) {
        writeStderrLine(`${missing[i]} records lacked field '${fields[i].text}'`);
      }
    }
  }
  return 0;
}

const PYTHON = { style: "python" } as const;
