/**
 * Logging: one line per event on stderr, with a level, a component and
 * structured `key=value` fields; repeats of the same message are rate-limited
 * so that a flood of bad input cannot drown the log.
 *
 * `TELEBUS_LOG_FORMAT=journal` suits systemd's journal: each line starts with
 * its syslog priority (`<3>` error, `<4>` warn, `<6>` info, `<7>` debug) and
 * carries no timestamp, since journald records both.
 *
 * @module
 */

/** Log levels in increasing severity. */
export type LogLevel = "debug" | "info" | "warn" | "error";

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Structured fields attached to a log line. */
export type LogFields = Record<string, unknown>;

/** A logger bound to one component (e.g. `input.robot`). */
export interface Logger {
  /** Logs at debug level. */
  debug(msg: string, fields?: LogFields): void;
  /** Logs at info level. */
  info(msg: string, fields?: LogFields): void;
  /** Logs at warn level. */
  warn(msg: string, fields?: LogFields): void;
  /** Logs at error level. */
  error(msg: string, fields?: LogFields): void;
  /** A logger for a sub-component (`parent.child`). */
  child(component: string): Logger;
}

/** How a line looks: `text` starts with an ISO timestamp, `journal` with a `<N>` syslog priority. */
export type LogFormat = "text" | "journal";

/** Syslog priorities of the levels, for the `journal` format. */
const PRIORITY: Record<LogLevel, number> = { debug: 7, info: 6, warn: 4, error: 3 };

/** Where log lines go and which are kept. */
export interface LogSink {
  /** Lowest level written. */
  level: LogLevel;
  /** Line format (default `text`). */
  format?: LogFormat;
  /** Writes one finished line (without newline). */
  write(line: string): void;
}

const encoder = new TextEncoder();

/**
 * Reads an environment variable only if the program may: a library user who gave no `--allow-env` gets
 * the default rather than a permission prompt (or an error) from importing telebus.
 */
function envIfAllowed(name: string): string | undefined {
  try {
    if (Deno.permissions.querySync({ name: "env", variable: name }).state !== "granted") return undefined;
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

/** The level `TELEBUS_LOG` asks for, if it is set to one (and readable). */
export function envLogLevel(): LogLevel | undefined {
  const v = envIfAllowed("TELEBUS_LOG");
  return v && v in LEVELS ? v as LogLevel : undefined;
}

/** The default sink: stderr, level from `TELEBUS_LOG` (default `info`). */
export const stderrSink: LogSink = {
  level: envLogLevel() ?? "info",
  format: envIfAllowed("TELEBUS_LOG_FORMAT") === "journal" ? "journal" : "text",
  write(line: string) {
    Deno.stderr.writeSync(encoder.encode(line + "\n"));
  },
};

function formatField(v: unknown): string {
  if (typeof v === "string") return /^[\w./:@+-]+$/.test(v) ? v : JSON.stringify(v);
  if (typeof v === "bigint") return v.toString();
  if (v instanceof Error) return JSON.stringify(v.message);
  return JSON.stringify(v) ?? String(v);
}

/** Repeats of one message within this window are summarised instead of printed. */
const REPEAT_WINDOW_MS = 5000;
/** How many identical messages may pass per window before suppression starts. */
const REPEAT_BURST = 5;

interface RepeatState {
  windowStart: number;
  count: number;
  suppressed: number;
}

/** Creates a logger for `component` writing to `sink`. */
export function createLogger(component: string, sink: LogSink = stderrSink): Logger {
  const repeats = new Map<string, RepeatState>();
  const head = (level: LogLevel, now: number) =>
    sink.format === "journal"
      ? `<${PRIORITY[level]}>${level.toUpperCase()} ${component}: `
      : `${new Date(now).toISOString()} ${level.toUpperCase()} ${component}: `;
  function log(level: LogLevel, msg: string, fields?: LogFields) {
    if (LEVELS[level] < LEVELS[sink.level]) return;
    const now = Date.now();
    const key = level + msg;
    let st = repeats.get(key);
    if (!st || now - st.windowStart > REPEAT_WINDOW_MS) {
      if (st && st.suppressed > 0) {
        sink.write(`${head(level, now)}${msg} (repeated ${st.suppressed} more times)`);
      }
      if (repeats.size > 1000) repeats.clear();
      st = { windowStart: now, count: 0, suppressed: 0 };
      repeats.set(key, st);
    }
    st.count++;
    if (st.count > REPEAT_BURST) {
      st.suppressed++;
      return;
    }
    let line = head(level, now) + msg;
    if (fields) {
      for (const k in fields) line += ` ${k}=${formatField(fields[k])}`;
    }
    sink.write(line);
  }
  return {
    debug: (m, f) => log("debug", m, f),
    info: (m, f) => log("info", m, f),
    warn: (m, f) => log("warn", m, f),
    error: (m, f) => log("error", m, f),
    child: (c) => createLogger(`${component}.${c}`, sink),
  };
}
