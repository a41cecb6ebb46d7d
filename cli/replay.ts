/**
 * `replay FOLDER|LOG.mpack [-a ADDRESS] [-m push|pub] [--rate HZ] [--loop] [--speed X] [--connect]`:
 * mflow's `m_replay`, plus rate limiting, looping and `.mpack` logs.
 *
 * - A folder: its `*.raw` files in lexicographic order, files with the same
 *   prefix before `_` forming one multipart message (m_record's layout), so
 *   that a recorded stream goes out as it came.
 * - A `.mpack` log: each record is sent as one MessagePack frame, at the
 *   pace of its `time` key (seconds since the epoch), sped up by `--speed`
 *   (0: as fast as possible). A receiver with `format = "msgpack"` gets the
 *   records back.
 *
 * Binds by default, as m_replay; a PUSH waits for a peer, a PUB drops what
 * is sent before subscribers arrive. At the end unsent messages may still
 * go out for `--linger` ms (m_replay's 1 s).
 *
 * @module
 */
import { join } from "node:path";
import { parseOrUsage } from "./args.ts";
import { sendMessage } from "../net/zmq.ts";
import { MpackStreamReader } from "../codecs/mpack_stream.ts";
import {
  announce,
  closeAndLinger,
  interruptSignal,
  Pacer,
  parseMode,
  parseNumber,
  sender,
  sleep,
  UsageError,
} from "./zmq_common.ts";
import { writeStderrLine } from "./stdout.ts";

const USAGE = `usage: telebus replay FOLDER|LOG.mpack [-a ADDRESS] [-m push|pub] [--rate HZ] [--loop]
                      [--speed X] [--connect] [--linger MS] [-v] [-q]

Sends an m_dump/record folder (one message per file prefix) or a .mpack log.
  -a, --address ADDRESS   where to bind (default tcp://*:9999), or to connect with --connect
  -m, --mode push|pub     socket type (default push: waits for a peer)
      --rate HZ           messages per second (folders; default: as fast as possible)
      --speed X           .mpack logs: X times the original pace (default 1; 0 = as fast as possible)
      --loop              start again at the end, until Ctrl-C
      --connect           connect to ADDRESS instead of binding it
      --linger MS         how long queued messages may still go out at the end (default 1000)
  -v, --verbose           print "Sending NAME True|False" per frame, as m_replay
  -q, --quiet             no summary line`;

/** The messages of a record folder: `*.raw` names sorted, grouped by their prefix before `_`. */
export async function folderMessages(folder: string): Promise<string[][]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(folder)) if (e.isFile && e.name.endsWith(".raw")) names.push(e.name);
  names.sort();
  const out: string[][] = [];
  let prefix: string | undefined;
  for (const n of names) {
    const p = n.split("_")[0];
    if (p === prefix) out[out.length - 1].push(n);
    else out.push([n]), prefix = p;
  }
  return out;
}

/** The records of a `.mpack` log: bytes and time in seconds (undefined when the record has none). */
async function* mpackRecords(path: string): AsyncGenerator<{ raw: Uint8Array; time?: number }> {
  const reader = new MpackStreamReader({ decode: false });
  const file = await Deno.open(path);
  try {
    const buf = new Uint8Array(1 << 20);
    for (;;) {
      const n = await file.read(buf);
      if (n === null) break;
      reader.push(buf.slice(0, n));
      for (let item = reader.next(); item; item = reader.next()) {
        if (item.kind !== "record") continue;
        const t = item.value.time;
        yield { raw: item.raw.slice(), time: typeof t === "number" ? t : undefined };
      }
    }
    // The file read whole: a record still held back at its end is torn, and the records a new writer appended
    // after the tear are found inside it (the rule of transports/mpack_tail/README.md).
    for (let item = reader.finish(); item; item = reader.next()) {
      if (item.kind !== "record") continue;
      const t = item.value.time;
      yield { raw: item.raw.slice(), time: typeof t === "number" ? t : undefined };
    }
  } finally {
    file.close();
  }
}

/** Runs `telebus replay`; returns the exit code. */
export async function replayCommand(args: string[]): Promise<number> {
  const p = parseOrUsage(args, {
    address: { type: "string", short: "a", default: "tcp://*:9999" },
    mode: { type: "string", short: "m" },
    rate: { type: "string" },
    speed: { type: "string" },
    loop: { type: "boolean" },
    connect: { type: "boolean" },
    linger: { type: "string" },
    verbose: { type: "boolean", short: "v" },
    quiet: { type: "boolean", short: "q" },
    help: { type: "boolean", short: "h" },
  }, USAGE);
  if (!p) return 2;
  const v = p.values;
  if (v.help) return console.log(USAGE), 0;
  let mode: "push" | "pub", rate: number, speed: number, linger: number;
  try {
    if (p.positionals.length !== 1) throw new UsageError("FOLDER or LOG.mpack is required");
    mode = parseMode(v.mode, ["push", "pub"] as const, "push");
    rate = parseNumber(v.rate, "--rate", 0);
    speed = parseNumber(v.speed, "--speed", 1);
    linger = parseNumber(v.linger, "--linger", 1000, 0);
  } catch (e) {
    if (e instanceof UsageError) return console.error(`${e.message}\n\n${USAGE}`), 2;
    throw e;
  }
  const path = p.positionals[0];
  let isFolder: boolean;
  try {
    isFolder = (await Deno.stat(path)).isDirectory;
  } catch (e) {
    console.error(`telebus replay: ${(e as Error).message}`);
    return 1;
  }
  // The handlers go in before the socket opens: from then on a signal ends the command wherever it waits.
  const { signal, dispose } = interruptSignal();
  try {
    let sock;
    try {
      sock = await sender(String(v.address), mode, !!v.connect, 100, linger);
    } catch (e) {
      console.error(`telebus replay: ${(e as Error).message}`);
      return 1;
    }
    if (!v.quiet) announce("replay", v.connect ? `${mode} to` : `${mode} bound at`, sock, String(v.address));
    let sent = 0, bytes = 0;
    const t0 = performance.now();
    do {
      if (isFolder) {
        const pacer = new Pacer(rate, signal);
        for (const names of await folderMessages(path)) {
          await pacer.next();
          if (signal.aborted) break;
          const frames = await Promise.all(names.map((n) => Deno.readFile(join(path, n))));
          if (v.verbose) {
            names.forEach((n, i) => console.log(`Sending ${n} ${i < names.length - 1 ? "True" : "False"}`));
          }
          if (!await sendMessage(sock, frames, undefined, signal)) break;
          sent++;
          for (const f of frames) bytes += f.length;
        }
      } else {
        let first: { log: number; wall: number } | undefined;
        for await (const r of mpackRecords(path)) {
          if (signal.aborted) break;
          if (speed > 0 && r.time !== undefined) {
            first ??= { log: r.time, wall: performance.now() };
            const due = first.wall + ((r.time - first.log) * 1000) / speed;
            const wait = due - performance.now();
            if (wait > 1) await sleep(wait, signal);
            if (signal.aborted) break;
          }
          if (!await sendMessage(sock, [r.raw], undefined, signal)) break;
          sent++;
          bytes += r.raw.length;
        }
      }
    } while (v.loop && !signal.aborted);
    const s = (performance.now() - t0) / 1000;
    await closeAndLinger(sock, linger, signal);
    if (!v.quiet) writeStderrLine(`replayed ${sent} messages, ${bytes} bytes in ${s.toFixed(2)} s`);
    return 0;
  } finally {
    dispose();
  }
}
