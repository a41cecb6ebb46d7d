/**
 * End-to-end throughput: a `.mpack` log of 20-key telemetry dictionaries goes
 * tail → bus → `mpack_file`, through the real daemon, and — in the same run,
 * on the same bytes — through a bare msgpackr `unpackMultiple` + `pack` loop
 * that reads and writes the same files. Prints records/s of each and the ratio.
 *
 *   deno run -A bench/pipeline_throughput.ts [--records 300000] [--rounds 3]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { Packr, Unpackr } from "npm:msgpackr@^1.11.5";
import { startDaemon } from "../start.ts";
import { createLogger } from "../core/log.ts";
import { writeTelemetryLog } from "./fixtures.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { records: { type: "string", default: "300000" }, rounds: { type: "string", default: "3" } },
});
const N = Number(values.records);
const ROUNDS = Number(values.rounds);

const dir = await Deno.makeTempDir({ prefix: "telebus-bench-" });
const src = join(dir, "source.mpack");
const bytes = await writeTelemetryLog(src, N);
console.log(`source: ${N} records, ${(bytes / 1e6).toFixed(1)} MB, ${(bytes / N).toFixed(0)} B/record`);

/** The bare loop: read the file in 1 MiB chunks, unpackMultiple, pack each object, write the packed bytes. */
async function bare(out: string): Promise<number> {
  const t0 = performance.now();
  const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });
  const packr = new Packr({ useRecords: false, variableMapSize: true });
  const inp = await Deno.open(src);
  const outf = await Deno.open(out, { write: true, create: true, truncate: true });
  const chunk = new Uint8Array(1 << 20);
  let rest = new Uint8Array(0);
  let count = 0;
  for (;;) {
    const n = await inp.read(chunk);
    if (n === null) break;
    const buf = new Uint8Array(rest.length + n);
    buf.set(rest), buf.set(chunk.subarray(0, n), rest.length);
    const packed: Uint8Array[] = [];
    let end = 0, total = 0;
    try {
      unpackr.unpackMultiple(buf, (v: unknown, _s?: number, e?: number) => {
        const p = packr.pack(v);
        packed.push(p);
        total += p.length;
        end = e!;
        count++;
      });
    } catch (e) {
      if (!(e as { incomplete?: boolean }).incomplete) throw e;
    }
    rest = buf.slice(end);
    const w = new Uint8Array(total);
    let o = 0;
    for (const p of packed) w.set(p, o), o += p.length;
    for (let i = 0; i < w.length;) i += await outf.write(w.subarray(i));
  }
  inp.close();
  outf.close();
  if (count !== N) throw new Error(`bare loop read ${count} of ${N}`);
  return performance.now() - t0;
}

/**
 * The daemon: mpack_tail from the start → bus → mpack_file; timed until the output wrote every record.
 * `decode` makes the tail decode every record (flatten = true; the telemetry here is flat, so the data and
 * their bytes pass on unchanged): the bare loop's decoding, plus the daemon's work, minus the encoding.
 */
async function pipeline(out: string, dataDir: string, decode: boolean): Promise<number> {
  const t0 = performance.now();
  const daemon = await startDaemon({
    config: {
      daemon: { http: "off", data_dir: dataDir },
      inputs: { mpack_tail: [{ name: "tail", path: src, from: "start", flatten: decode }] },
      outputs: { mpack_file: [{ name: "copy", path: out, fsync: "never" }] },
    },
  }, { log: createLogger("bench", { level: "warn", write: (l) => console.error(l) }) });
  const stats = daemon.stats.find((s) => s.name === "copy")!;
  while (stats.records < N) await new Promise((r) => setTimeout(r, 1));
  const t = performance.now() - t0;
  await daemon.stop();
  return t;
}

const bareTimes: number[] = [], passTimes: number[] = [], decodeTimes: number[] = [];
async function sameAsSource(path: string) {
  const [a, b] = [await Deno.readFile(src), await Deno.readFile(path)];
  if (a.length !== b.length || !a.every((x, i) => x === b[i])) throw new Error(`${path} differs from the source`);
}
for (let r = 0; r < ROUNDS; r++) {
  bareTimes.push(await bare(join(dir, `bare-${r}.mpack`)));
  passTimes.push(await pipeline(join(dir, `pass-${r}.mpack`), join(dir, `data-p${r}`), false));
  decodeTimes.push(await pipeline(join(dir, `decode-${r}.mpack`), join(dir, `data-d${r}`), true));
  // Every output must be the source, byte for byte.
  await sameAsSource(join(dir, `pass-${r}.mpack`));
  await sameAsSource(join(dir, `decode-${r}.mpack`));
  await sameAsSource(join(dir, `bare-${r}.mpack`));
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rate = (xs: number[]) => N / (median(xs) / 1000);
const fmt = (x: number) => Math.round(x).toLocaleString("en").padStart(9);
const bareRate = rate(bareTimes);
console.log(
  `bare unpackMultiple + pack loop:                          ${fmt(bareRate)} records/s (median of ${ROUNDS})`,
);
for (
  const [name, xs] of [["tail → bus → mpack_file (bytes passed on)", passTimes], [
    "tail → bus → mpack_file (flatten: every record decoded)",
    decodeTimes,
  ]] as const
) {
  console.log(
    `${name.padEnd(56)} ${fmt(rate(xs))} records/s = ${(100 * rate(xs) / bareRate).toFixed(0)} % of the bare loop`,
  );
}
await Deno.remove(dir, { recursive: true });
