/**
 * `telebus top [--url URL] [--token T] [--once]`: every input, output and
 * processor of a running daemon with its rates, queue fill, drops and errors.
 *
 * It reads `/metrics`, which every daemon with `[daemon] http` serves (the
 * GraphQL `parts` query needs an `[[outputs.graphql]]`, which the shipped
 * configuration has not), and computes rates from two scrapes: records/s and
 * bytes/s are the counters' differences over the time between them. On a
 * terminal it redraws every second until `q` or Ctrl-C; `--once` prints one
 * table from two scrapes a second apart and exits; otherwise (stdout not a
 * terminal) it prints a table every second, one after the other.
 *
 * @module
 */
import { parseOrUsage } from "./args.ts";
import { DaemonHttpError, daemonToken, daemonUrl, getText, refusal, shownUrl } from "./daemon_http.ts";
import { type PartCounters, type Snapshot, snapshotOf } from "./prometheus.ts";

export type { Snapshot } from "./prometheus.ts";
import { writeStderrLine } from "./stdout.ts";
import { columns, onQuit, Screen, writeOut } from "./terminal.ts";

const USAGE = `usage: telebus top [--url URL] [--token T] [--once]

Shows every input, output and processor of a running daemon: records/s, totals, bytes/s, queue fill, drops and
errors, from its /metrics. Redraws every second on a terminal; q or Ctrl-C quits.

  --url URL    the daemon: http://host:port or host:port (default: $TELEBUS_HTTP or 127.0.0.1:8080)
  --token T    the daemon's [daemon] token (default: $TELEBUS_TOKEN)
  --once       print one table (two samples a second apart, for the rates) and exit`;

/** Time between two samples. */
const INTERVAL_MS = 1000;

/** One scrape and when it was taken. */
export interface Sample {
  /** What `/metrics` said. */
  snap: Snapshot;
  /** `performance.now()` when it answered. */
  at: number;
}

/** Reads `/metrics`; throws {@linkcode DaemonHttpError} with the reason in words. */
async function scrape(url: URL, token: string | undefined): Promise<Sample> {
  const { status, text } = await getText(url, token);
  const at = performance.now();
  const shown = shownUrl(url);
  const refused = refusal(shown, status, text, token);
  if (refused) throw new DaemonHttpError(refused, status);
  if (status !== 200) throw new DaemonHttpError(`${shown}: ${status} ${text.trim().slice(0, 200)}`, status);
  try {
    return { snap: snapshotOf(text), at };
  } catch (e) {
    throw new DaemonHttpError(`${shown}: not telebus metrics: ${(e as Error).message}`);
  }
}

/** `1234567` → `1.2M`: counts and rates short enough for a column. */
export function human(n: number, unit = ""): string {
  if (!Number.isFinite(n)) return "—";
  const a = Math.abs(n);
  const [d, s] = a >= 1e9 ? [1e9, "G"] : a >= 1e6 ? [1e6, "M"] : a >= 1e4 ? [1e3, "k"] : [1, ""];
  const v = n / d;
  const text = d === 1 && Number.isInteger(v) ? String(v) : v.toFixed(a / d >= 100 || d === 1 && a >= 100 ? 0 : 1);
  return text.replace(/\.0$/, "") + s + unit;
}

function key(p: PartCounters): string {
  return `${p.kind}\0${p.name}\0${p.type}\0${p.where}`;
}

/** The table of `now`, with rates against `before` (none yet: `…`). */
export function render(url: string, now: Sample, before?: Sample): string[] {
  const dt = before ? (now.at - before.at) / 1000 : 0;
  const prev = new Map(before?.snap.parts.map((p) => [key(p), p]));
  const rate = (a: number, b: number | undefined) => b === undefined || dt <= 0 ? NaN : Math.max(0, a - b) / dt;
  const rows: string[][] = [[
    "KIND",
    "NAME",
    "TYPE",
    "REC/S",
    "RECORDS",
    "BYTES/S",
    "QUEUE",
    "FILL",
    "DROPS",
    "ERRORS",
    "REJECTED",
  ]];
  for (const p of now.snap.parts) {
    const b = prev.get(key(p));
    const queue = p.queue === undefined ? "" : `${human(p.queue)}/${human(p.capacity ?? NaN)}`;
    const fill = p.queue === undefined || !p.capacity ? "" : `${Math.round(100 * p.queue / p.capacity)}%`;
    rows.push([
      p.kind,
      p.where ? `${p.name} (${p.where})` : p.name,
      p.type,
      before ? human(rate(p.records, b?.records)) : "…",
      human(p.records),
      p.kind === "processor" ? "" : before ? human(rate(p.bytes, b?.bytes), "B") : "…", // processors count no bytes
      queue,
      fill,
      human(p.dropped),
      human(p.errors),
      human(p.rejected),
    ]);
  }
  const s = now.snap;
  const bus = s.bus === undefined ? "" : `  bus ${before ? human(rate(s.bus, before.snap.bus)) : "…"} rec/s`;
  const state = s.up === undefined ? "" : s.up === 1 ? "  running" : "  not running";
  const head = `telebus top — ${url}${state}${bus}  ${new Date().toISOString().slice(11, 19)}Z`;
  return [head, "", ...columns(rows, new Set([3, 4, 5, 6, 7, 8, 9, 10]))];
}

/** The `top` command. */
export async function topCommand(args: string[]): Promise<number> {
  const parsed = parseOrUsage(args, {
    url: { type: "string" },
    token: { type: "string" },
    once: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  }, USAGE);
  if (!parsed) return 2;
  const { values: v, positionals } = parsed;
  if (v.help) {
    console.log(USAGE);
    return 0;
  }
  if (positionals.length > 0) {
    console.error(`telebus top: unexpected ${JSON.stringify(positionals[0])}\n\n${USAGE}`);
    return 2;
  }
  const token = daemonToken(v.token as string | undefined);
  try {
    const base = daemonUrl(v.url as string | undefined);
    const url = new URL("/metrics", base);
    const shown = shownUrl(new URL("/", base)).replace(/\/$/, "");
    if (v.once) return await once(url, shown, token);
    return await watch(url, shown, token);
  } catch (e) {
    if (!(e instanceof DaemonHttpError)) throw e;
    writeStderrLine(`telebus top: ${e.message}`);
    return 1;
  }
}

/** A deliberate pause between two samples (the window the rates are measured over), cut short by `stop`. */
function pause(ms: number, stop: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    stop.addEventListener("abort", () => (clearTimeout(t), resolve()), { once: true });
  });
}

async function once(url: URL, shown: string, token: string | undefined): Promise<number> {
  const first = await scrape(url, token);
  await pause(INTERVAL_MS, new AbortController().signal);
  const second = await scrape(url, token);
  writeOut(render(shown, second, first).join("\n") + "\n");
  return 0;
}

/** Redraws every second (a terminal) or prints a table every second (a pipe) until quit. */
async function watch(url: URL, shown: string, token: string | undefined): Promise<number> {
  let before = await scrape(url, token);
  const stop = new AbortController();
  const terminal = Deno.stdout.isTerminal();
  const screen = terminal ? new Screen() : undefined;
  const undo = onQuit(() => stop.abort(), terminal);
  try {
    screen?.open();
    screen?.draw(render(shown, before));
    while (!stop.signal.aborted) {
      await pause(INTERVAL_MS, stop.signal);
      if (stop.signal.aborted) break;
      const now = await scrape(url, token);
      const lines = render(shown, now, before);
      before = now;
      if (screen) screen.draw([...lines, "", "q or Ctrl-C quits"]);
      else if (!writeOut(lines.join("\n") + "\n\n")) break; // the reader of the pipe has gone
    }
    return 0;
  } finally {
    undo();
    screen?.close();
  }
}
