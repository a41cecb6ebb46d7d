/**
 * `stats SOURCE [-m pull|sub] [-i SECONDS] [--count N] [--duration S] [--bind]`:
 * mflow's `m_stats`. Connects to SOURCE, counts messages and bytes (a
 * message counts when its first frame is not empty), prints a rate line per
 * interval and, on Ctrl-C (or after `--count`/`--duration`), mflow's summary.
 *
 * @module
 */
import { parseOrUsage } from "./args.ts";
import { receiveMessage, ThroughputStatistics } from "../net/zmq.ts";
import { announce, interruptSignal, parseMode, parseNumber, receiver, UsageError } from "./zmq_common.ts";
import { type FfiSocket, openFfiSocket } from "../net/zmq_ffi.ts";

const USAGE = `usage: telebus stats SOURCE [-m pull|sub] [-i SECONDS] [--count N] [--duration S] [--bind]

Prints the data and message rates of a stream (m_stats), and a summary on Ctrl-C.
  -m, --mode pull|sub     socket type (default pull)
  -i, --interval SECONDS  time between rate lines (default 0.5)
      --count N           stop after N messages
      --duration S        stop after S seconds
      --bind              bind SOURCE instead of connecting to it`;

/** m_stats' rate line (MB = 10^6 bytes). */
export function rateLine(s: { data_rate: number; message_rate: number }): string {
  return `Data rate: ${(s.data_rate / 1e6).toFixed(3).padStart(10)} MB/s    Message rate: ${
    s.message_rate.toFixed(3).padStart(10)
  } Hz`;
}

/** m_stats' summary, framed by 60 underscores. */
export function summaryText(t: ThroughputStatistics): string {
  const s = t.summary();
  const rule = "_".repeat(60);
  return [
    rule,
    "Statistics:",
    `  total_elapsed_time:   ${s.total_elapsed_time.toFixed(3)} s`,
    `  messages_received:    ${s.messages_received}`,
    `  total_bytes_received: ${s.total_bytes_received}`,
    `  average_message_size: ${s.average_message_size.toFixed(1)} B`,
    `  average_message_rate: ${s.average_message_rate.toFixed(3)} Hz`,
    `  average_data_rate:    ${(s.average_data_rate / 1e6).toFixed(3)} MB/s`,
    rule,
  ].join("\n");
}

/** Runs `telebus stats`; returns the exit code. */
export async function statsCommand(args: string[]): Promise<number> {
  const p = parseOrUsage(args, {
    mode: { type: "string", short: "m" },
    interval: { type: "string", short: "i" },
    count: { type: "string" },
    duration: { type: "string" },
    bind: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  }, USAGE);
  if (!p) return 2;
  const v = p.values;
  if (v.help) return console.log(USAGE), 0;
  let mode: "pull" | "sub", interval: number, count: number, duration: number;
  try {
    if (p.positionals.length !== 1) throw new UsageError("SOURCE is required");
    mode = parseMode(v.mode, ["pull", "sub"] as const, "pull");
    interval = parseNumber(v.interval, "--interval", 0.5, 0.01);
    count = parseNumber(v.count, "--count", Infinity, 1);
    duration = parseNumber(v.duration, "--duration", Infinity, 0);
  } catch (e) {
    if (e instanceof UsageError) return console.error(`${e.message}\n\n${USAGE}`), 2;
    throw e;
  }
  // The handlers go in before the socket opens, so that no signal is lost in between.
  const { signal, dispose } = interruptSignal();
  let ffi: FfiSocket | undefined;
  try {
    ffi = openFfiSocket({
      type: mode,
      connType: v.bind ? "bind" : "connect",
      address: p.positionals[0],
      queueSize: 100,
    });
  } catch (e) {
    dispose();
    console.error(`telebus stats: ${(e as Error).message}`);
    return 1;
  }
  if (ffi) {
    try {
      return await statsFfi(ffi, {
        mode,
        bind: !!v.bind,
        address: p.positionals[0],
        interval,
        count,
        duration,
        signal,
      });
    } finally {
      dispose();
    }
  }
  let sock;
  try {
    sock = await receiver(p.positionals[0], mode, !!v.bind);
  } catch (e) {
    dispose();
    console.error(`telebus stats: ${(e as Error).message}`);
    return 1;
  }
  announce("stats", `${mode} ${v.bind ? "bound at" : "from"}`, sock, p.positionals[0]);
  const stats = new ThroughputStatistics();
  const close = () => sock.close();
  if (signal.aborted) close();
  else signal.addEventListener("abort", close, { once: true });
  const timer = setInterval(() => {
    const s = stats.sample(interval * 1000 - 1);
    if (s) console.log(rateLine(s));
  }, interval * 1000);
  const end = Number.isFinite(duration) ? setTimeout(close, duration * 1000) : undefined;
  try {
    while (stats.messages_received < count) {
      const frames = await receiveMessage(sock);
      if (!frames) break;
      if (frames[0].length === 0) continue;
      let bytes = 0;
      for (const f of frames) bytes += f.length;
      stats.add(bytes);
    }
  } finally {
    clearInterval(timer);
    clearTimeout(end);
    dispose();
    if (!sock.closed) sock.close();
  }
  console.log(summaryText(stats));
  return 0;
}

/** How often the busy receive loop lets timers and signals run (ms). */
const YIELD_MS = 20;

/**
 * The loop of {@linkcode statsCommand} on a libzmq socket: messages are taken
 * while there are any, without a promise each; rate lines are printed from
 * the loop itself, which lets the event loop run every {@linkcode YIELD_MS}
 * (for Ctrl-C and `--duration`).
 */
async function statsFfi(
  sock: FfiSocket,
  o: {
    mode: string;
    bind: boolean;
    address: string;
    interval: number;
    count: number;
    duration: number;
    signal: AbortSignal;
  },
): Promise<number> {
  announce("stats", `${o.mode} ${o.bind ? "bound at" : "from"}`, sock, o.address);
  const stats = new ThroughputStatistics();
  const close = () => sock.close();
  if (o.signal.aborted) close();
  else o.signal.addEventListener("abort", close, { once: true });
  const end = Number.isFinite(o.duration) ? setTimeout(close, o.duration * 1000) : undefined;
  const intervalMs = o.interval * 1000;
  let lastSample = performance.now();
  let lastYield = lastSample;
  const tick = (now: number) => {
    if (now - lastSample >= intervalMs) {
      lastSample = now;
      const s = stats.sample(intervalMs - 1);
      if (s) console.log(rateLine(s));
    }
  };
  try {
    while (stats.messages_received < o.count && !sock.closed) {
      const m = sock.tryReceiveSizes();
      if (m === null) {
        tick(performance.now());
        if (!await sock.wait("in")) break;
        lastYield = performance.now();
        continue;
      }
      if (m.first > 0) stats.add(m.total);
      if ((stats.messages_received & 255) === 0) {
        const now = performance.now();
        tick(now);
        if (now - lastYield >= YIELD_MS) {
          await new Promise((r) => setTimeout(r, 0));
          lastYield = performance.now();
        }
      }
    }
  } finally {
    clearTimeout(end);
    o.signal.removeEventListener("abort", close);
    sock.close();
  }
  console.log(summaryText(stats));
  return 0;
}
