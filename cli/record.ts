/**
 * `record SOURCE FOLDER [-m pull|sub] [-s N] [--count N] [--bind]`: mflow's
 * `m_dump`. Connects to SOURCE and writes every frame of every message to
 * `FOLDER/{msg:06d}_{part:03d}.raw`, byte for byte as m_dump does (msg
 * counts from 0, part is 0-based; the folder is created). Any frames are
 * written, JSON or not.
 *
 * `-s N` keeps the first N parts of each message. m_dump's own `-s N` kept
 * only N−1 (an off-by-one: `-s 2` kept just part 000); `-s 0` means all.
 * Ctrl-C stops cleanly after the message being written.
 *
 * @module
 */
import { join } from "node:path";
import { parseOrUsage } from "./args.ts";
import { receiveMessage } from "../net/zmq.ts";
import { announce, interruptSignal, parseMode, parseNumber, receiver, UsageError } from "./zmq_common.ts";
import { writeStderrLine } from "./stdout.ts";

const USAGE = `usage: telebus record SOURCE FOLDER [-m pull|sub] [-s N] [--count N] [--bind] [-q]

Writes every frame of every message from SOURCE to FOLDER/{msg:06d}_{part:03d}.raw (m_dump's layout).
  -m, --mode pull|sub   socket type (default pull)
  -s, --skip N          keep only the first N parts of each message (default 0: all)
      --count N         stop after N messages (default: until Ctrl-C)
      --bind            bind SOURCE instead of connecting to it
  -q, --quiet           no summary line`;

/** The file name of a frame in m_dump's layout. */
export function frameFileName(msg: number, part: number): string {
  return `${String(msg).padStart(6, "0")}_${String(part).padStart(3, "0")}.raw`;
}

/** Runs `telebus record`; returns the exit code. */
export async function recordCommand(args: string[]): Promise<number> {
  const p = parseOrUsage(args, {
    mode: { type: "string", short: "m" },
    skip: { type: "string", short: "s" },
    count: { type: "string" },
    bind: { type: "boolean" },
    quiet: { type: "boolean", short: "q" },
    help: { type: "boolean", short: "h" },
  }, USAGE);
  if (!p) return 2;
  const v = p.values;
  if (v.help) return console.log(USAGE), 0;
  let mode: "pull" | "sub", keep: number, count: number;
  try {
    if (p.positionals.length !== 2) throw new UsageError("SOURCE and FOLDER are required");
    mode = parseMode(v.mode, ["pull", "sub"] as const, "pull");
    keep = parseNumber(v.skip, "--skip", 0) || Infinity;
    count = parseNumber(v.count, "--count", Infinity);
  } catch (e) {
    if (e instanceof UsageError) return console.error(`${e.message}\n\n${USAGE}`), 2;
    throw e;
  }
  const [source, folder] = p.positionals;
  await Deno.mkdir(folder, { recursive: true });
  // The handlers go in before the socket opens, so that no signal is lost in between.
  const { signal, dispose } = interruptSignal();
  let sock;
  try {
    sock = await receiver(source, mode, !!v.bind);
  } catch (e) {
    dispose();
    console.error(`telebus record: ${(e as Error).message}`);
    return 1;
  }
  if (!v.quiet) announce("record", `${mode} ${v.bind ? "bound at" : "from"}`, sock, source);
  if (signal.aborted) sock.close();
  else signal.addEventListener("abort", () => sock.close(), { once: true });
  let msg = 0, files = 0, bytes = 0;
  try {
    while (msg < count) {
      const frames = await receiveMessage(sock);
      if (!frames) break;
      const n = Math.min(frames.length, keep);
      for (let part = 0; part < n; part++) {
        await Deno.writeFile(join(folder, frameFileName(msg, part)), frames[part]);
        files++;
        bytes += frames[part].length;
      }
      msg++;
    }
  } finally {
    dispose();
    if (!sock.closed) sock.close();
  }
  if (!v.quiet) writeStderrLine(`recorded ${msg} messages: ${files} files, ${bytes} bytes in ${folder}`);
  return 0;
}
