/**
 * `telebus dump` of a large log: records/s and the peak resident memory of the
 * dump process (it must stream, not load the file). The log is generated
 * once in a temporary folder.
 *
 *   deno run -A bench/dump_large.ts [--size-mb 1024]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { writeTelemetryLog } from "./fixtures.ts";

const { values } = parseArgs({ args: Deno.args, options: { "size-mb": { type: "string", default: "1024" } } });
const targetBytes = Number(values["size-mb"]) * 1024 * 1024;
const dir = await Deno.makeTempDir({ prefix: "telebus-dump-" });
const log = join(dir, "big.mpack");
// About 272 B per 20-key record.
const records = Math.ceil(targetBytes / 272);
const t0 = performance.now();
const size = await writeTelemetryLog(log, records);
console.log(
  `log: ${records} records, ${(size / 2 ** 20).toFixed(0)} MiB (written in ${
    ((performance.now() - t0) / 1000).toFixed(1)
  } s)`,
);

async function peakRssOf(args: string[]): Promise<{ ms: number; peakMiB: number; lines: number }> {
  const start = performance.now();
  const child = new Deno.Command(Deno.execPath(), { args, stdout: "piped", stderr: "inherit" }).spawn();
  let peak = 0;
  const sampler = setInterval(() => {
    try {
      const status = Deno.readTextFileSync(`/proc/${child.pid}/status`);
      const m = /VmHWM:\s+(\d+) kB/.exec(status);
      if (m) peak = Math.max(peak, Number(m[1]));
    } catch { /* exited */ }
  }, 20);
  let lines = 0;
  for await (const chunk of child.stdout) {
    for (let i = 0; i < chunk.length; i++) if (chunk[i] === 10) lines++;
  }
  const status = await child.status;
  clearInterval(sampler);
  if (!status.success) throw new Error(`dump exited with ${status.code}`);
  return { ms: performance.now() - start, peakMiB: peak / 1024, lines };
}

const main = new URL("../main.ts", import.meta.url).pathname;
const r = await peakRssOf(["run", "-A", main, "dump", log]);
if (r.lines !== records) throw new Error(`dump printed ${r.lines} lines for ${records} records`);
console.log(
  `dump → NDJSON: ${Math.round(records / (r.ms / 1000)).toLocaleString("en")} records/s, ` +
    `${(size / 2 ** 20 / (r.ms / 1000)).toFixed(0)} MiB/s, ${(r.ms / 1000).toFixed(1)} s, peak RSS ${
      r.peakMiB.toFixed(0)
    } MiB`,
);
await Deno.remove(dir, { recursive: true });
