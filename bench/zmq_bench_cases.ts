/**
 * The message kinds of bench/zmq_throughput.ts, shared by its two processes
 * (bench/zmq_bench_peer.ts, bench/zmq_bench_run.ts).
 *
 * @module
 */
import { encodeMsgpack } from "../codecs/msgpack.ts";

/** One kind of message: its frames, the zmq `format` that reads and writes it, and how many make a round. */
export interface BenchCase {
  /** Name on the command line and in the table. */
  name: string;
  /** The frames of one message. */
  frames: Uint8Array[];
  /** The zmq input's and output's `format`. */
  format: "raw" | "mflow" | "msgpack";
  /** Messages per round (at `--scale 1`). */
  count: number;
}

/** A MessagePack telemetry map as a robot sends them (about 150 B). */
export const TELEMETRY = {
  t: 1733450000.125,
  seq: 123456,
  robot: "arm-7",
  joint_pos: [0.12, -1.57, 0.98, 0.0, 1.2, -0.3],
  temp_c: 41.5,
  battery_v: 47.9,
  mode: "auto",
  ok: true,
};

function mflowArray(size: number): Uint8Array[] {
  const header = new TextEncoder().encode(JSON.stringify({ htype: "array-1.0", type: "uint8", shape: [size] }));
  return [header, new Uint8Array(size).fill(7)];
}

/** Every case, in the order they are run. */
export const CASES: readonly BenchCase[] = [
  { name: "raw-1k", frames: [new Uint8Array(1024).fill(7)], format: "raw", count: 200_000 },
  { name: "mflow-1k", frames: mflowArray(1024), format: "mflow", count: 200_000 },
  { name: "msgpack", frames: [encodeMsgpack(TELEMETRY)], format: "msgpack", count: 200_000 },
  { name: "raw-64k", frames: [new Uint8Array(64 << 10).fill(7)], format: "raw", count: 20_000 },
  { name: "raw-1m", frames: [new Uint8Array(1 << 20).fill(7)], format: "raw", count: 2_000 },
];

/** The case called `name`; throws for an unknown one. */
export function benchCase(name: string): BenchCase {
  const c = CASES.find((x) => x.name === name);
  if (!c) throw new Error(`unknown case ${name} (${CASES.map((x) => x.name).join(", ")})`);
  return c;
}

/** Bytes of one message of `c`. */
export function messageBytes(c: BenchCase): number {
  return c.frames.reduce((n, f) => n + f.length, 0);
}
