/**
 * `generate [-a ADDRESS] [-s MB] [-m push|pub] [--rate HZ] [--count N] [--array] [--dtype T] [--connect]`:
 * mflow's `m_generate`. Binds (unless `--connect`) and sends messages of
 * `int(MB × 2^20)` bytes as fast as the peer takes them, or at `--rate`.
 *
 * - default: what m_generate sends, byte for byte: `{"htype": "raw-1.0",
 *   "type": "int32", "shape": [1, N/4], "frame": k}` (N/4 printed as a
 *   Python float, `262144.0`) and N zero bytes.
 * - `--array`: `array-1.0` messages of `--dtype` (default `uint32`) whose
 *   element j of message k is `(k × 7919 + j) mod 2^bits`, so that a receiver
 *   can check every byte ({@linkcode arrayPattern}).
 *
 * @module
 */
import { arrayBytes, encodeArrayMessage, parseDtype } from "../codecs/mflow.ts";
import { parseOrUsage } from "./args.ts";
import { sendMessage, type SendSocket } from "../net/zmq.ts";
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
import { FfiSocket, openFfiSocket } from "../net/zmq_ffi.ts";

const USAGE = `usage: telebus generate [-a ADDRESS] [-s MB] [-m push|pub] [--rate HZ] [--count N]
                        [--array] [--dtype TYPE] [--connect] [--linger MS] [-q]

Sends mflow messages of MB megabytes (2^20 bytes; default 1), as m_generate does.
  -a, --address ADDRESS   where to bind (default tcp://*:9999), or to connect with --connect
  -s, --size MB           payload size in MiB (default 1; fractions allowed)
  -m, --mode push|pub     socket type (default push: waits for a peer)
      --rate HZ           messages per second (default: as fast as possible)
      --count N           stop after N messages (default: until Ctrl-C)
      --array             send array-1.0 with a checkable pattern instead of raw-1.0 zeros
      --dtype TYPE        numpy dtype of --array (default uint32)
      --connect           connect to ADDRESS instead of binding it
      --linger MS         how long queued messages may still go out at the end (default 1000)
  -q, --quiet             no summary line`;

/** The integer types `--array` can fill with its pattern. */
const PATTERN_TYPES: Record<string, (n: number) => ArrayBufferView & { [i: number]: number | bigint }> = {
  u1: (n) => new Uint8Array(n),
  i1: (n) => new Int8Array(n),
  u2: (n) => new Uint16Array(n),
  i2: (n) => new Int16Array(n),
  u4: (n) => new Uint32Array(n),
  i4: (n) => new Int32Array(n),
  u8: (n) => new BigUint64Array(n),
  i8: (n) => new BigInt64Array(n),
  f4: (n) => new Float32Array(n),
  f8: (n) => new Float64Array(n),
};

/**
 * The array `generate --array` sends as message `k`: element j is
 * `(k × 7919 + j)` wrapped to the type (for floats: modulo 2^24, exact in both).
 */
export function arrayPattern(dtype: string, elements: number, k: number): ArrayBufferView {
  const d = parseDtype(dtype);
  const make = PATTERN_TYPES[`${d.kind}${d.size}`];
  if (!make) throw new UsageError(`--dtype ${dtype}: only integer and float32/float64 types`);
  const a = make(elements);
  const base = k * 7919;
  if (a instanceof BigUint64Array || a instanceof BigInt64Array) {
    for (let j = 0; j < elements; j++) a[j] = BigInt(base + j);
  } else if (a instanceof Float32Array || a instanceof Float64Array) {
    for (let j = 0; j < elements; j++) a[j] = (base + j) % 16777216;
  } else {
    // Typed arrays wrap integers modulo 2^bits on assignment.
    for (let j = 0; j < elements; j++) a[j] = base + j;
  }
  return a;
}

/** Python's repr of a float that JSON carries (`262144.0`, `0.25`). */
function pyFloat(x: number): string {
  return Number.isInteger(x) ? `${x}.0` : String(x);
}

/** Runs `telebus generate`; returns the exit code. */
export async function generateCommand(args: string[]): Promise<number> {
  const p = parseOrUsage(args, {
    address: { type: "string", short: "a", default: "tcp://*:9999" },
    size: { type: "string", short: "s", default: "1" },
    mode: { type: "string", short: "m" },
    rate: { type: "string" },
    count: { type: "string" },
    array: { type: "boolean" },
    dtype: { type: "string", default: "uint32" },
    connect: { type: "boolean" },
    linger: { type: "string" },
    quiet: { type: "boolean", short: "q" },
    help: { type: "boolean", short: "h" },
  }, USAGE);
  if (!p) return 2;
  const v = p.values;
  if (v.help) return console.log(USAGE), 0;
  let mode: "push" | "pub", bytes: number, rate: number, count: number, linger: number;
  try {
    if (p.positionals.length > 0) throw new UsageError(`unexpected ${p.positionals.join(" ")}`);
    mode = parseMode(v.mode, ["push", "pub"] as const, "push");
    bytes = Math.floor(parseNumber(v.size, "--size", 1) * 2 ** 20);
    rate = parseNumber(v.rate, "--rate", 0);
    count = parseNumber(v.count, "--count", Infinity, 0);
    linger = parseNumber(v.linger, "--linger", 1000, 0);
    if (v.array) arrayPattern(String(v.dtype), 0, 0);
  } catch (e) {
    if (e instanceof UsageError) return console.error(`${e.message}\n\n${USAGE}`), 2;
    throw e;
  }
  const address = String(v.address);
  // The handlers go in before the socket opens: from then on a signal ends the command wherever it waits.
  const { signal, dispose } = interruptSignal();
  try {
    let sock: SendSocket | FfiSocket | undefined;
    try {
      sock = openFfiSocket({ type: mode, connType: v.connect ? "connect" : "bind", address, queueSize: 100, linger });
      sock ??= await sender(address, mode, !!v.connect, 100, linger);
    } catch (e) {
      console.error(`telebus generate: ${(e as Error).message}`);
      return 1;
    }
    if (!v.quiet) announce("generate", v.connect ? `${mode} to` : `${mode} bound at`, sock, address);
    const pacer = rate > 0 ? new Pacer(rate, signal) : undefined;
    const dtype = String(v.dtype);
    const elements = v.array ? Math.floor(bytes / parseDtype(dtype).size) : 0;
    const zeros = new Uint8Array(bytes);
    const encoder = new TextEncoder();
    const headerHead = `{"htype": "raw-1.0", "type": "int32", "shape": [1, ${pyFloat(bytes / 4)}], "frame": `;
    const send = sock instanceof FfiSocket
      ? ffiSender(sock, signal)
      : (f: Uint8Array[]) => sendMessage(sock, f, undefined, signal);
    const t0 = performance.now();
    let sent = 0, sentBytes = 0;
    while (sent < count && !signal.aborted) {
      if (pacer) {
        await pacer.next();
        if (signal.aborted) break;
      }
      const frames = v.array
        ? encodeArrayMessage([arrayPattern(dtype, elements, sent)], sent, { type: dtype, shape: [elements] })
        : [encoder.encode(headerHead + sent + "}"), zeros];
      if (v.array && parseDtype(dtype).little === false) frames[1] = arrayBytes(frames[1], dtype);
      // Without a peer (or with a slow one) this waits; a signal ends the wait.
      const ok = send(frames);
      if (ok !== true && !await ok) break;
      sent++;
      for (const f of frames) sentBytes += f.length;
    }
    const s = (performance.now() - t0) / 1000;
    if (sock instanceof FfiSocket) {
      // Closed with its linger; the process stays up for it, as closeAndLinger does for zeromq.js.
      sock.close(signal.aborted ? 0 : undefined);
      if (!signal.aborted && linger > 0) await sleep(linger, signal);
    } else await closeAndLinger(sock, linger, signal);
    if (!v.quiet) {
      writeStderrLine(
        `sent ${sent} messages, ${(sentBytes / 1e6).toFixed(3)} MB in ${s.toFixed(2)} s (${(sent / s).toFixed(1)} Hz, ${
          (sentBytes / 1e6 / s).toFixed(3)
        } MB/s)`,
      );
    }
    return 0;
  } finally {
    dispose();
  }
}

/** How often the busy send loop lets timers and signals run (ms). */
const YIELD_MS = 20;

/**
 * Sending on a libzmq socket: true at once when the socket took the message
 * (no promise), else a promise that waits until it does (false when the
 * signal aborted). Lets the event loop run every {@linkcode YIELD_MS} of
 * sending without a wait, so that Ctrl-C is seen.
 */
function ffiSender(sock: FfiSocket, signal: AbortSignal): (frames: Uint8Array[]) => true | Promise<boolean> {
  let lastYield = performance.now();
  let n = 0;
  const slow = async (frames: Uint8Array[]): Promise<boolean> => {
    if (sock.trySend(frames)) {
      await new Promise((r) => setTimeout(r, 0));
      lastYield = performance.now();
      return !signal.aborted;
    }
    for (;;) {
      if (signal.aborted || !await sock.wait("out")) return false;
      if (signal.aborted) return false;
      if (sock.trySend(frames)) {
        lastYield = performance.now();
        return true;
      }
    }
  };
  return (frames) => {
    if ((++n & 255) === 0 && performance.now() - lastYield >= YIELD_MS) return slow(frames);
    return sock.trySend(frames) ? true : slow(frames);
  };
}
