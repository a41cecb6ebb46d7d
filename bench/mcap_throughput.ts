/**
 * The `mcap` output against `mpack_file` on the same input in one run, through the real daemon, once per output
 * configuration and round (rounds interleave the configurations, so a busy machine slows them alike). Two inputs:
 * `tail`, a `.mpack` log of 20-key telemetry dictionaries read by `mpack_tail` (whose bytes `mpack_file` passes
 * on without decoding), and `generator` (20 keys, `rate = 0`), whose fresh dictionaries every output must encode.
 * Prints records/s of each and its ratio to `mpack_file` on the same input, and checks that every MCAP file opens
 * indexed with every record.
 *
 *   deno run -A bench/mcap_throughput.ts [--records 1000000] [--rounds 3] [--inputs tail,generator] [--only TEXT]
 *
 * `--only` keeps `mpack_file` and the configurations whose label holds TEXT (e.g. `json, zstd`), for profiling.
 * The daemons run in this process, whose code the runs before have compiled; the `mcap` output's worker starts
 * afresh with each (module loading, then V8 compiling its code as it runs), hence a million records by default:
 * with 200 000 that start is a tenth of a run, which a daemon running for hours pays once.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { startDaemon } from "../start.ts";
import { createLogger } from "../core/log.ts";
import { openIndexedMcap } from "../codecs/mcap_read.ts";
import { writeTelemetryLog } from "./fixtures.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    records: { type: "string", default: "1000000" },
    rounds: { type: "string", default: "3" },
    inputs: { type: "string", default: "tail,generator" },
    only: { type: "string" },
  },
});
const N = Number(values.records);
const ROUNDS = Number(values.rounds);

const dir = await Deno.makeTempDir({ prefix: "telebus-bench-mcap-" });
const src = join(dir, "source.mpack");
const bytes = await writeTelemetryLog(src, N);
console.log(`source: ${N} records, ${(bytes / 1e6).toFixed(1)} MB, ${(bytes / N).toFixed(0)} B/record`);

/** One output configuration: its type and table. */
interface Case {
  label: string;
  type: "mpack_file" | "mcap";
  table: Record<string, unknown>;
}

const ALL_CASES: Case[] = [
  { label: "mpack_file", type: "mpack_file", table: { fsync: "never" } },
  { label: "mcap msgpack, zstd", type: "mcap", table: { encoding: "msgpack", compression: "zstd" } },
  { label: "mcap json, zstd (default)", type: "mcap", table: { encoding: "json", compression: "zstd" } },
  {
    label: "mcap json, zstd, worker = false",
    type: "mcap",
    table: { encoding: "json", compression: "zstd", worker: false },
  },
  { label: "mcap json, lz4", type: "mcap", table: { encoding: "json", compression: "lz4" } },
  { label: "mcap json, none", type: "mcap", table: { encoding: "json", compression: "none" } },
];
const CASES = ALL_CASES.filter((c, i) => i === 0 || values.only === undefined || c.label.includes(values.only));

const INPUTS = {
  tail: { mpack_tail: [{ name: "tail", path: src, from: "start" }] },
  generator: { generator: [{ name: "gen", rate: 0, count: N, keys: 20 }] },
} as const;
type InputName = keyof typeof INPUTS;

/** Runs the daemon with one input and one output until it wrote every record; returns ms and the output's file. */
async function run(input: InputName, c: Case, round: number, i: number): Promise<[number, string]> {
  const out = join(dir, `out-${input}-${round}-${i}.${c.type === "mcap" ? "mcap" : "mpack"}`);
  const t0 = performance.now();
  const daemon = await startDaemon({
    config: {
      daemon: { http: "off", data_dir: join(dir, `data-${input}-${round}-${i}`) },
      inputs: INPUTS[input],
      outputs: { [c.type]: [{ name: "out", path: out, ...c.table }] },
    },
  }, { log: createLogger("bench", { level: "warn", write: (l) => console.error(l) }) });
  const stats = daemon.stats.find((s) => s.name === "out")!;
  while (stats.records < N) await new Promise((r) => setTimeout(r, 1));
  const t = performance.now() - t0;
  await daemon.stop();
  return [t, out];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rate = (xs: number[]) => N / (median(xs) / 1000);
for (const input of values.inputs.split(",") as InputName[]) {
  if (!(input in INPUTS)) throw new Error(`unknown input ${input}`);
  const times = CASES.map(() => [] as number[]);
  const sizes = CASES.map(() => 0);
  for (let r = 0; r < ROUNDS; r++) {
    for (let i = 0; i < CASES.length; i++) {
      const [t, out] = await run(input, CASES[i], r, i);
      times[i].push(t);
      sizes[i] = (await Deno.stat(out)).size;
      if (CASES[i].type === "mcap") {
        const { reader, close } = await openIndexedMcap(out);
        const n = reader.statistics?.messageCount;
        close();
        if (n !== BigInt(N)) throw new Error(`${out}: ${n} of ${N} messages`);
      }
      await Deno.remove(out);
    }
  }
  const base = rate(times[0]);
  console.log(`input ${input}:`);
  for (let i = 0; i < CASES.length; i++) {
    const x = rate(times[i]);
    console.log(
      `  ${CASES[i].label.padEnd(30)} ${Math.round(x).toLocaleString("en").padStart(9)} records/s = ${
        (100 * x / base).toFixed(0).padStart(3)
      } % of mpack_file; file ${(sizes[i] / 1e6).toFixed(1)} MB (median of ${ROUNDS})`,
    );
  }
}
await Deno.remove(dir, { recursive: true });
