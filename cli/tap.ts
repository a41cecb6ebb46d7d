/**
 * `telebus tap [GLOB…] [--url URL] [--token T] [--count N] [--format json|table]`:
 * the live records of a running daemon, through its WebSocket interface.
 *
 * Where: `--url` (a `ws://host:port/path`, or just `host:port`), else
 * `TELEBUS_HTTP`, else the shipped configuration's `127.0.0.1:8080`. Without
 * a path, the `websocket` output's `/ws/records` is tried first, then the
 * dashboard's feed `/ws/dashboard` (on by default, so the shipped
 * configuration has it). A plain GET of the endpoint first tells a daemon
 * that is absent, a token it refuses and a path it does not serve apart, in
 * words; the WebSocket API would only say that the connection failed.
 *
 * Records come as MessagePack frames (`?format=msgpack`), so integers beyond
 * 2^53 and nanosecond times arrive exact, and print as `telebus dump` prints
 * (codecs/json.ts, Python's style): `{"stream": …, "time": seconds, "data": {…}}`.
 *
 * @module
 */
import { toJson } from "../codecs/json.ts";
import { decodeMsgpack } from "../codecs/msgpack.ts";
import { globMatcher } from "../core/glob.ts";
import type { Dict } from "../core/record.ts";
import { parseOrUsage } from "./args.ts";
import {
  authHeaders,
  DaemonHttpError,
  daemonToken,
  daemonUrl,
  getText,
  refusal,
  shownUrl,
  unreachable,
} from "./daemon_http.ts";
import { writeStderrLine } from "./stdout.ts";
import { onQuit, Screen, writeOut } from "./terminal.ts";
import { type TapRecord, TapTable } from "./tap_table.ts";

const USAGE = `usage: telebus tap [GLOB…] [--url URL] [--token T] [--count N] [--format json|table]

Prints the live records of a running daemon, read from its WebSocket interface.

  GLOB…           streams to show (* and ?; default: all)
  --url URL       the daemon: ws://host:port[/path] or host:port (default: $TELEBUS_HTTP or 127.0.0.1:8080;
                  without a path /ws/records, else the dashboard's /ws/dashboard)
  --token T       the daemon's [daemon] token (default: $TELEBUS_TOKEN)
  --count N       exit after N records
  --format F      json: one line per record, as telebus dump prints (default)
                  table: the newest value of every key, redrawn on a terminal (printed once at the end otherwise)`;

/** The paths tried, in order, when `--url` names none. */
const DEFAULT_PATHS = ["/ws/records", "/ws/dashboard"];

/** What to add to a configuration without a WebSocket endpoint. */
const ADD_OUTPUT = `[[outputs.websocket]]\nname = "tap"`;

/** Finds the WebSocket endpoint: the first path that answers a plain GET with 426 (Upgrade Required). */
async function findEndpoint(base: URL, token: string | undefined): Promise<URL> {
  const given = base.pathname !== "/" && base.pathname !== "";
  const paths = given ? [base.pathname] : DEFAULT_PATHS;
  for (const path of paths) {
    const u = new URL(base.href);
    u.pathname = path;
    u.search = "";
    const shown = shownUrl(u, true);
    const { status, text } = await getText(u, token, shown);
    if (status === 426) return u;
    const refused = refusal(shown, status, text, token);
    if (refused) throw new DaemonHttpError(refused, status);
    if (status === 404) continue;
    throw new DaemonHttpError(`${shown}: not a WebSocket endpoint (${status} ${text.trim().slice(0, 200)})`, status);
  }
  const where = shownUrl(base, true);
  throw new DaemonHttpError(
    given
      ? `${shownUrl(base, true)}: 404: the daemon serves nothing there (the websocket output's default path is ` +
        `/ws/records, the dashboard's feed /ws/dashboard)`
      : `the daemon at ${where} has no WebSocket output: neither /ws/records (an [[outputs.websocket]]) nor ` +
        `/ws/dashboard (the dashboard, [daemon] dashboard = true) is served. Add to its configuration:\n\n` +
        `${ADD_OUTPUT}\n\nand reload it (SIGHUP), or give --url ws://host:port/PATH.`,
    404,
  );
}

/** One decoded frame: a record, or an array of records (a batch); undefined when it holds something else. */
function recordsOf(frame: unknown): TapRecord[] | undefined {
  const items = Array.isArray(frame) ? frame : [frame];
  const out: TapRecord[] = [];
  for (const it of items) {
    if (it === null || typeof it !== "object") return undefined;
    const r = it as Record<string, unknown>;
    if (typeof r.stream !== "string") return undefined;
    const time = typeof r.time === "bigint" ? r.time : BigInt(Math.round(Number(r.time ?? 0)));
    out.push({ stream: r.stream, time, data: (r.data ?? {}) as Dict });
  }
  return out;
}

/** Seconds since the epoch, to the microsecond, from nanoseconds. */
function seconds(ns: bigint): number {
  return Number(ns / 1000n) / 1e6;
}

/** The `tap` command. */
export async function tapCommand(args: string[]): Promise<number> {
  const parsed = parseOrUsage(args, {
    url: { type: "string" },
    token: { type: "string" },
    count: { type: "string", short: "n" },
    format: { type: "string", default: "json" },
    help: { type: "boolean", short: "h" },
  }, USAGE);
  if (!parsed) return 2;
  const { values: v, positionals: globs } = parsed;
  if (v.help) {
    console.log(USAGE);
    return 0;
  }
  const format = v.format as string;
  if (format !== "json" && format !== "table") {
    console.error(`telebus tap: --format must be json or table\n\n${USAGE}`);
    return 2;
  }
  const count = v.count === undefined ? Infinity : Number(v.count);
  if (!Number.isInteger(count) && count !== Infinity || count < 1) {
    console.error(`telebus tap: --count must be a whole number ≥ 1\n\n${USAGE}`);
    return 2;
  }
  const token = daemonToken(v.token as string | undefined);
  let endpoint: URL;
  try {
    endpoint = await findEndpoint(daemonUrl(v.url as string | undefined), token);
  } catch (e) {
    if (!(e instanceof DaemonHttpError)) throw e;
    writeStderrLine(`telebus tap: ${e.message}`);
    return 1;
  }
  return await tap(endpoint, token, globs, count, format);
}

/** Reads records from the WebSocket at `endpoint` until `count` are printed, the daemon goes, or the user quits. */
function tap(
  endpoint: URL,
  token: string | undefined,
  globs: string[],
  count: number,
  format: "json" | "table",
): Promise<number> {
  const ws = new URL(endpoint.href);
  ws.protocol = ws.protocol === "https:" ? "wss:" : "ws:";
  ws.searchParams.set("format", "msgpack");
  // A glob holding a comma cannot travel in ?streams= (comma-separated): those subscribe by message instead.
  const byMessage = globs.some((g) => g.includes(","));
  if (globs.length > 0 && !byMessage) ws.searchParams.set("streams", globs.join(","));
  const shown = shownUrl(ws, true);
  const select = globMatcher(globs);
  const terminal = format === "table" && Deno.stdout.isTerminal();
  const table = format === "table" ? new TapTable() : undefined;
  const screen = terminal ? new Screen() : undefined;

  return new Promise<number>((resolve) => {
    let printed = 0;
    let opened = false;
    let done = false;
    let timer: ReturnType<typeof setInterval> | undefined;
    const socket = new WebSocket(ws, { headers: authHeaders(token) });
    socket.binaryType = "arraybuffer";
    const finish = (code: number, message?: string) => {
      if (done) return;
      done = true;
      clearInterval(timer);
      stopQuit();
      screen?.close();
      if (table && (code === 0 || printed > 0)) writeOut(table.lines().join("\n") + "\n");
      if (message) writeStderrLine(`telebus tap: ${message}`);
      try {
        socket.close(1000);
      } catch {
        // already closed
      }
      resolve(code);
    };
    const stopQuit = onQuit(() => finish(0), terminal);
    socket.onopen = () => {
      opened = true;
      if (byMessage) socket.send(JSON.stringify({ subscribe: globs }));
      if (screen) {
        screen.open();
        screen.draw(table!.lines(true));
        // Four redraws a second: fast enough to follow, cheap for the terminal.
        timer = setInterval(() => table!.changed && screen.draw(table!.lines(true)), 250);
      }
    };
    socket.onmessage = (ev) => {
      if (done) return;
      let frame: unknown;
      try {
        frame = typeof ev.data === "string" ? JSON.parse(ev.data) : decodeMsgpack(new Uint8Array(ev.data));
      } catch (e) {
        return finish(1, `${shown}: a frame that is not a record: ${(e as Error).message}`);
      }
      const records = recordsOf(frame);
      if (!records) {
        return finish(1, `${shown}: frames without a stream: not the telebus protocol (dataRT's /ws/client is not)`);
      }
      let out = "";
      for (const r of records) {
        if (!select(r.stream)) continue;
        if (table) table.add(r);
        else out += toJson({ stream: r.stream, time: seconds(r.time), data: r.data }, { style: "python" }) + "\n";
        if (++printed >= count) break;
      }
      if (out && !writeOut(out)) return finish(0); // stdout closed (tap | head): done
      if (printed >= count) finish(0);
    };
    socket.onerror = (ev) => {
      if (opened) return; // the close event follows and says why
      const text = ev instanceof ErrorEvent ? ev.message : "failed";
      finish(1, unreachable(shown, new Error(text)).message);
    };
    socket.onclose = (ev) => {
      if (!opened) return finish(1, `${shown}: the WebSocket could not be opened`);
      const why = ev.code === 1001 ? "the daemon is stopping" : `closed by the daemon (${ev.code} ${ev.reason})`;
      finish(1, `${shown}: ${why} after ${printed} record${printed === 1 ? "" : "s"}`);
    };
  });
}
