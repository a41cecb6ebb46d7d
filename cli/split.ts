/**
 * `split -c CONFIG` or `split SOURCE STREAM…`: mflow's `m_split`. Receives
 * from one source and sends every message to each output, or, for an output
 * with `modulo: N`, messages N, 2N, 3N, … (counted from 1).
 *
 * Config JSON, as m_split reads it: `{"source": {"address", "mode":
 * "PULL"|"SUB", "queue_size": 100}, "streams": [{"address", "mode":
 * "PUSH"|"PUB", "queue_size": 100, "modulo": N}]}` (modes case-insensitive).
 * An address like `tcp://*:PORT` binds, anything else connects. Without a
 * config the source is connected (PULL) and each stream bound (PUSH).
 *
 * Unlike m_split, which forwarded only the first frame of a selected
 * message (still flagged SNDMORE), every frame of a selected message is
 * forwarded. A PUSH output without a peer holds the whole split back, as in
 * m_split.
 *
 * @module
 */
import { parseOrUsage } from "./args.ts";
import { receiveMessage, sendMessage, type SendSocket } from "../net/zmq.ts";
import {
  announce,
  closeAndLinger,
  connTypeOf,
  interruptSignal,
  parseMode,
  parseNumber,
  UsageError,
} from "./zmq_common.ts";
import { openReceiver, openSender } from "../net/zmq.ts";
import { writeStderrLine } from "./stdout.ts";

const USAGE = `usage: telebus split -c CONFIG.json [--count N]
       telebus split SOURCE STREAM… [--count N]

Copies every message of SOURCE to each STREAM (m_split); a config can select every Nth ("modulo").
  -c, --config FILE   m_split's JSON config
      --count N       stop after N messages from the source`;

/** One parsed output of a split config. */
export interface SplitStream {
  /** Where to send. */
  address: string;
  /** Socket type. */
  mode: "push" | "pub";
  /** Send high-water mark. */
  queue_size: number;
  /** Forward only every Nth message (1 = all). */
  modulo: number;
}

/** A parsed split config. */
export interface SplitConfig {
  /** The source. */
  source: { address: string; mode: "pull" | "sub"; queue_size: number };
  /** The outputs. */
  streams: SplitStream[];
}

function obj(v: unknown, what: string): Record<string, unknown> {
  if (v === null || typeof v !== "object" || Array.isArray(v)) throw new UsageError(`${what} must be an object`);
  return v as Record<string, unknown>;
}

function addr(v: unknown, what: string): string {
  if (typeof v !== "string" || v === "") throw new UsageError(`${what}.address must be a string`);
  return v;
}

function int(v: unknown, what: string, dflt: number, min: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min) {
    throw new UsageError(`${what} must be an integer >= ${min}`);
  }
  return v;
}

/** Parses m_split's JSON config; throws a {@linkcode UsageError} naming what is wrong. */
export function parseSplitConfig(text: string): SplitConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`config is not JSON: ${(e as Error).message}`);
  }
  const c = obj(raw, "config");
  const s = obj(c.source, "source");
  const streams = c.streams;
  if (!Array.isArray(streams) || streams.length === 0) throw new UsageError("streams must be a non-empty list");
  return {
    source: {
      address: addr(s.address, "source"),
      mode: parseMode(s.mode as string | undefined, ["pull", "sub"] as const, "pull"),
      queue_size: int(s.queue_size, "source.queue_size", 100, 0),
    },
    streams: streams.map((x, i) => {
      const o = obj(x, `streams[${i}]`);
      return {
        address: addr(o.address, `streams[${i}]`),
        mode: parseMode(o.mode as string | undefined, ["push", "pub"] as const, "push"),
        queue_size: int(o.queue_size, `streams[${i}].queue_size`, 100, 0),
        modulo: int(o.modulo, `streams[${i}].modulo`, 1, 1),
      };
    }),
  };
}

/** Runs `telebus split`; returns the exit code. */
export async function splitCommand(args: string[]): Promise<number> {
  const p = parseOrUsage(args, {
    config: { type: "string", short: "c" },
    count: { type: "string" },
    help: { type: "boolean", short: "h" },
  }, USAGE);
  if (!p) return 2;
  const v = p.values;
  if (v.help) return console.log(USAGE), 0;
  let config: SplitConfig, count: number;
  try {
    count = parseNumber(v.count, "--count", Infinity, 1);
    if (v.config) {
      if (p.positionals.length > 0) throw new UsageError("give either -c CONFIG or SOURCE STREAM…");
      config = parseSplitConfig(await Deno.readTextFile(String(v.config)));
    } else {
      if (p.positionals.length < 2) throw new UsageError("SOURCE and at least one STREAM are required");
      const [source, ...outs] = p.positionals;
      config = {
        source: { address: source, mode: "pull", queue_size: 100 },
        streams: outs.map((address) => ({ address, mode: "push", queue_size: 100, modulo: 1 })),
      };
    }
  } catch (e) {
    if (e instanceof UsageError) return console.error(`${e.message}\n\n${USAGE}`), 2;
    if (e instanceof Deno.errors.NotFound) return console.error(`telebus split: ${e.message}`), 1;
    throw e;
  }
  // The handlers go in before the sockets open, so that no signal is lost in between.
  const { signal, dispose } = interruptSignal();
  const outs: SendSocket[] = [];
  let source;
  try {
    const src = config.source;
    // Without a config m_split always connects the source and binds the outputs.
    source = await openReceiver(src.address, {
      mode: src.mode,
      connType: v.config ? connTypeOf(src.address) : "connect",
      queueSize: src.queue_size,
    });
    for (const s of config.streams) {
      outs.push(
        await openSender(s.address, {
          mode: s.mode,
          connType: v.config ? connTypeOf(s.address) : "bind",
          queueSize: s.queue_size,
          linger: 1000,
        }),
      );
    }
  } catch (e) {
    source?.close();
    for (const o of outs) o.close();
    dispose();
    console.error(`telebus split: ${(e as Error).message}`);
    return 1;
  }
  announce("split", `${config.source.mode} from`, source, config.source.address);
  if (signal.aborted) source.close();
  else signal.addEventListener("abort", () => source.close(), { once: true });
  const counters = config.streams.map(() => 0);
  let received = 0;
  const forwarded = config.streams.map(() => 0);
  try {
    while (received < count) {
      const frames = await receiveMessage(source);
      if (!frames) break;
      received++;
      for (let i = 0; i < outs.length; i++) {
        if (++counters[i] < config.streams[i].modulo) continue;
        counters[i] = 0;
        if (await sendMessage(outs[i], frames, undefined, signal)) forwarded[i]++;
      }
    }
  } finally {
    if (!source.closed) source.close();
  }
  // mflow's linger of 1 s, once for all outputs (none after a signal: the user asked to stop).
  for (const o of outs) {
    if (signal.aborted) o.linger = 0;
    o.close();
  }
  await closeAndLinger(outs[0], 1000, signal);
  dispose();
  writeStderrLine(`split ${received} messages; forwarded ${forwarded.join(", ")}`);
  return 0;
}
