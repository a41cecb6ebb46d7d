/**
 * Start-up beside a large existing `mpack_file` output (default 1 GiB), and
 * the cost of a restart after `kill -9`. The daemon runs as a subprocess
 * (`mpack_tail` → `mpack_file`, `fsync = "interval"`, appending to the large
 * file); each start is timed from spawn to `/health` = 200, and the bytes the
 * process read by then are taken from `/proc/<pid>/io` (`rchar`: everything,
 * its own code included).
 *
 *   deno run -A bench/mpack_file_startup.ts [--size-mb 1024] [--starts 5]
 *
 * Scenarios, each `--starts` times (median, min, max printed):
 * - `empty`: no existing output (the baseline: what Deno and the daemon cost);
 * - `clean`: beside the large file after a clean stop;
 * - `kill9`: beside the large file after `kill -9` in the middle of copying
 *   100k records; the restart cuts back to the checkpoint, and the copy is
 *   checked afterwards to hold every record exactly once.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { encodeMsgpack } from "../codecs/msgpack.ts";
import { MpackStreamReader } from "../codecs/mpack_stream.ts";
import { createLogger } from "../core/log.ts";
import { EncodedRecord } from "../codecs/encoded_record.ts";
import { PartStats } from "../core/stats.ts";
import { MpackFileOutput } from "../transports/mpack_file/output.ts";
import { mpackFileSchema } from "../transports/mpack_file/schema.ts";
import { DaemonProcess, until } from "../testing/mod.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { "size-mb": { type: "string", default: "1024" }, starts: { type: "string", default: "5" } },
});
const SIZE_MIB = Number(values["size-mb"]);
const STARTS = Number(values.starts);
const MiB = 1 << 20;
const COPY_RECORDS = 100_000;

const dir = await Deno.makeTempDir({ prefix: "telebus-startup-bench-" });
const dataDir = join(dir, "data");
const out = join(dir, "out", "copy.mpack");
const src = join(dir, "robot.mpack");

function config(name: string, outPath: string): string {
  const path = join(dir, `${name}.toml`);
  Deno.writeTextFileSync(
    path,
    `
[daemon]
http = "127.0.0.1:0"
data_dir = "${join(dataDir, name)}"

[[inputs.mpack_tail]]
name = "robot"
path = "${src}"
poll_interval = "5ms"

[[outputs.mpack_file]]
name = "copy"
path = "${outPath}"
`,
  );
  return path;
}

async function start(cfg: string): Promise<{ d: DaemonProcess; ms: number; readMiB: number }> {
  const t0 = performance.now();
  const d = await DaemonProcess.start(cfg);
  await until("/health to answer 200", async () => (await d.get("/health")).status === 200, 60_000, 5);
  const ms = performance.now() - t0;
  return { d, ms, readMiB: await d.bytesRead() / MiB };
}

function summary(name: string, runs: { ms: number; readMiB: number }[]): void {
  const ms = runs.map((r) => r.ms).sort((a, b) => a - b);
  const read = runs.map((r) => r.readMiB).sort((a, b) => a - b);
  const mid = (xs: number[]) => xs[Math.floor(xs.length / 2)];
  console.log(
    `${name.padEnd(6)} healthy after median ${mid(ms).toFixed(0)} ms (min ${ms[0].toFixed(0)}, max ${
      ms.at(-1)!.toFixed(0)
    }); read by then: median ${mid(read).toFixed(1)} MiB (max ${read.at(-1)!.toFixed(1)})`,
  );
}

async function checkpointOffset(name: string): Promise<number | undefined> {
  try {
    const path = join(dataDir, name, "checkpoints", "robot.json");
    return (JSON.parse(await Deno.readTextFile(path)) as { offset: number }).offset;
  } catch {
    return undefined;
  }
}

// The large output, written through the output itself (so that its state knows where its records end).
{
  const t0 = performance.now();
  const ctx = {
    name: "copy",
    log: createLogger("output.copy", { level: "error", write: () => {} }),
    stats: new PartStats("output", "copy", "mpack_file"),
    dataDir: join(dataDir, "big"),
    http: { route() {} },
  };
  const o = await MpackFileOutput.open(mpackFileSchema.parse({ path: out, fsync: "never" }), ctx);
  // Records of 256 bytes, as telemetry is: the cost of scanning is per record.
  const small = encodeMsgpack({ time: 1_600_000_000, seq: -1, blob: new Uint8Array(256 - 23).fill(7) });
  const batch = Array.from({ length: MiB / small.length }, () => new EncodedRecord("old", 0n, small, "old"));
  for (let i = 0; i < SIZE_MIB; i++) await o.write(batch);
  await o.close();
  console.log(
    `existing output: ${((await Deno.stat(out)).size / MiB).toFixed(0)} MiB, written in ${
      ((performance.now() - t0) / 1000).toFixed(1)
    } s`,
  );
}
const parts = Array.from({ length: COPY_RECORDS }, (_, i) => encodeMsgpack({ time: 1_700_000_000 + i, seq: i }));
const tail = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
parts.reduce((o, p) => (tail.set(p, o), o + p.length), 0);
await Deno.writeFile(src, new Uint8Array(0));

// Baseline: no existing output.
{
  const cfg = config("empty", join(dir, "empty", "copy-{seq}.mpack"));
  const runs = [];
  for (let i = 0; i < STARTS; i++) {
    const r = await start(cfg);
    await r.d.stop("SIGTERM");
    runs.push(r);
  }
  summary("empty", runs);
}

// Beside the large file: clean stops, then kill -9 while copying.
{
  await Deno.mkdir(join(dataDir, "big"), { recursive: true });
  const cfg = config("big", out);
  const clean = [];
  for (let i = 0; i < STARTS; i++) {
    const r = await start(cfg);
    await r.d.stop("SIGTERM");
    clean.push(r);
  }
  summary("clean", clean);
  const killed = [];
  let d = (await start(cfg)).d;
  for (let i = 0; i < STARTS; i++) {
    // A new slice of the source each round; kill once a checkpoint inside it is saved.
    const before = (await Deno.stat(src)).size;
    const slice = tail.subarray(Math.floor(i * tail.length / STARTS), Math.floor((i + 1) * tail.length / STARTS));
    await Deno.writeFile(src, slice, { append: true });
    await until(
      "a checkpoint inside the new slice",
      async () => ((await checkpointOffset("big")) ?? 0) > before,
      60_000,
      5,
    );
    await d.stop("SIGKILL");
    const r = await start(cfg);
    killed.push(r);
    d = r.d;
  }
  const size = (await Deno.stat(src)).size;
  await until("the checkpoint at the end", async () => await checkpointOffset("big") === size, 60_000, 5);
  await d.stop("SIGTERM");
  summary("kill9", killed);
  const cuts = killed.map((k) => /cut back to the input's checkpoint.*? bytes=(\d+)/.exec(k.d.log)?.[1] ?? "none");
  console.log(`kill9: bytes cut back at each restart: ${cuts.join(", ")}`);

  // Every record once, in order, after the old ones.
  const reader = new MpackStreamReader({ maxRecordBytes: 2 * MiB });
  const f = await Deno.open(out);
  let old = 0, next = 0, bad = 0;
  for await (const chunk of f.readable) {
    reader.push(chunk);
    for (let it = reader.next(); it; it = reader.next()) {
      if (it.kind !== "record") bad++;
      else if (it.value.seq === -1) old++;
      else if (it.value.seq === next) next++;
      else bad++;
    }
  }
  console.log(
    `output check: ${old} old records, ${next} of ${COPY_RECORDS} copied in order, ${bad} out of place ` +
      `(lost ${COPY_RECORDS - next}, duplicated or garbage ${bad})`,
  );
}
await Deno.remove(dir, { recursive: true });
