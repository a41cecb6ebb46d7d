/**
 * The daemon's `zmq` input and output on both bindings (libzmq through FFI,
 * zeromq.js), beside a bare zeromq.js loop, in one run:
 *
 * - input: a peer PUSH sends; measured are the daemon (`zmq` input → bus →
 *   an output that only counts) with each binding, and a bare zeromq.js
 *   PULL loop; messages per second from the first to the last.
 * - output: measured are the daemon (an input of prebuilt records → bus →
 *   `zmq` output) with each binding, and a bare zeromq.js PUSH loop; the
 *   peer PULL counts and times them.
 *
 * The peer (bench/zmq_bench_peer.ts, libzmq through FFI) and the measured end
 * (bench/zmq_bench_run.ts) are separate processes: a daemon started inside
 * the process that also drives the peer used to hang this bench. Every
 * measurement has a stall timeout (`--timeout`, seconds): a stuck process is
 * killed and named, never waited for silently. Sides alternate in order
 * from round to round; medians are printed.
 *
 *   deno run -A bench/zmq_throughput.ts [--rounds 3] [--scale 1] [--cases raw-1k,…] [--directions in,out]
 *
 * Cases (bench/zmq_bench_cases.ts): raw-1k, mflow-1k, msgpack (a ~150 B
 * telemetry map), raw-64k, raw-1m.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { CASES, messageBytes } from "./zmq_bench_cases.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    rounds: { type: "string", default: "3" },
    scale: { type: "string", default: "1" },
    cases: { type: "string", default: CASES.map((c) => c.name).join(",") },
    directions: { type: "string", default: "in,out" },
    timeout: { type: "string", default: "120" },
  },
});
const ROUNDS = Number(values.rounds);
const TIMEOUT_MS = Number(values.timeout) * 1000;
const HERE = new URL(".", import.meta.url).pathname;

/** A child process and the JSON lines it prints. */
class Proc {
  readonly child: Deno.ChildProcess;
  readonly #lines: AsyncIterator<string>;
  #stderr = "";
  constructor(script: string, args: string[]) {
    this.child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", HERE + script, ...args],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#lines = this.child.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(splitLines())[
      Symbol.asyncIterator
    ]();
    const child = this.child;
    (async () => {
      for await (const t of child.stderr.pipeThrough(new TextDecoderStream())) {
        this.#stderr = (this.#stderr + t).slice(-2000);
      }
    })();
  }
  /** The next JSON line that has `key`; throws when the process ends first or `TIMEOUT_MS` passes. */
  async next(key: string, what: string): Promise<Record<string, number | string>> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stall = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`STALLED: ${what}: no "${key}" within ${TIMEOUT_MS / 1000} s; stderr: ${this.#stderr}`)),
        TIMEOUT_MS,
      );
    });
    try {
      for (;;) {
        const r = await Promise.race([this.#lines.next(), stall]);
        if (r.done) throw new Error(`${what} ended without "${key}"; stderr: ${this.#stderr}`);
        const v = JSON.parse(r.value);
        if (key in v) return v;
      }
    } finally {
      clearTimeout(timer);
    }
  }
  async kill(): Promise<void> {
    try {
      this.child.kill("SIGKILL");
    } catch {
      // ended already
    }
    await this.child.status;
  }
}

function splitLines(): TransformStream<string, string> {
  let rest = "";
  return new TransformStream({
    transform(chunk, out) {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop()!;
      for (const p of parts) if (p.trim()) out.enqueue(p);
    },
    flush(out) {
      if (rest.trim()) out.enqueue(rest);
    },
  });
}

type Side = "bare zeromq.js" | "daemon ffi" | "daemon zeromq.js";
const SIDES: Side[] = ["bare zeromq.js", "daemon ffi", "daemon zeromq.js"];

/** One measurement: messages per second. */
async function measure(caseName: string, count: number, direction: "in" | "out", side: Side): Promise<number> {
  const what = `${caseName} ${direction} ${side}`;
  const peer = new Proc("zmq_bench_peer.ts", [direction === "in" ? "send" : "receive", caseName, String(count)]);
  let run: Proc | undefined;
  try {
    const { endpoint } = await peer.next("endpoint", `${what} (peer)`);
    const [kind, binding] = side === "bare zeromq.js" ? ["bare", "zeromq.js"] : side.split(" ");
    run = new Proc("zmq_bench_run.ts", [
      direction,
      kind,
      caseName,
      String(count),
      String(endpoint),
      "--binding",
      binding,
    ]);
    const r = direction === "in" ? await run.next("msgs", what) : await peer.next("msgs", `${what} (peer)`);
    return Number(r.msgs) / (Number(r.ms) / 1000);
  } finally {
    await peer.kill();
    await run?.kill();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (rate: number, bytes: number) =>
  `${Math.round(rate).toLocaleString("en")} msg/s ${(rate * bytes / 1e6).toFixed(0)} MB/s`;
const rows: string[] = [];
try {
  for (const name of values.cases.split(",")) {
    const c = CASES.find((x) => x.name === name);
    if (!c) throw new Error(`unknown case ${name}`);
    const count = Math.max(10, Math.round(c.count * Number(values.scale)));
    for (const direction of values.directions.split(",") as ("in" | "out")[]) {
      const rates = new Map<Side, number[]>(SIDES.map((s) => [s, []]));
      for (let r = 0; r < ROUNDS; r++) {
        // Alternate the order so that no side always runs first (or last) in a round.
        const order = SIDES.map((_, i) => SIDES[(i + r) % SIDES.length]);
        for (const side of order) rates.get(side)!.push(await measure(name, count, direction, side));
      }
      const [bare, ffi, js] = SIDES.map((s) => median(rates.get(s)!));
      const bytes = messageBytes(c);
      const line =
        `${name} ${direction} × ${count}: daemon ffi ${fmt(ffi, bytes)}, daemon zeromq.js ${fmt(js, bytes)} ` +
        `(ffi ${(ffi / js).toFixed(2)}× zeromq.js); bare zeromq.js loop ${fmt(bare, bytes)} ` +
        `(daemon ffi ${(100 * ffi / bare).toFixed(0)} %, zeromq.js ${(100 * js / bare).toFixed(0)} % of it); ` +
        `median of ${ROUNDS}`;
      console.log(line);
      rows.push(
        `| ${name} | ${direction} | ${Math.round(ffi).toLocaleString("en")} | ${
          Math.round(js).toLocaleString("en")
        } | ` +
          `${(ffi / js).toFixed(2)}× | ${Math.round(bare).toLocaleString("en")} |`,
      );
    }
  }
} catch (e) {
  console.error((e as Error).message);
  Deno.exit(1);
}
console.log(
  "\n| case | direction | daemon, FFI msg/s | daemon, zeromq.js msg/s | FFI ÷ zeromq.js | bare zeromq.js loop msg/s |",
);
console.log("| --- | --- | ---: | ---: | ---: | ---: |");
for (const r of rows) console.log(r);
