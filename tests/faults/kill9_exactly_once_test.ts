/**
 * End to end, under `kill -9`: the daemon (a subprocess) tails a `.mpack` log
 * into a `mpack_file` output and is killed with SIGKILL several times in the
 * middle of the stream, then restarted with `from = "checkpoint"`. Every
 * record must be in the output exactly once, in order: the output's length is
 * saved with the input's checkpoint and the output is cut back to it on start.
 * The writer keeps appending while the daemon is down; one configuration also
 * rotates the output file every few hundred kilobytes, so kills land after
 * rotations too.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { encodeMsgpack } from "../../codecs/msgpack.ts";
import { MpackStreamReader } from "../../codecs/mpack_stream.ts";
import { DaemonProcess, until } from "../../testing/mod.ts";
import { lostAndDuplicated, recordFigures } from "./figures.ts";

/** Encodes record `i` (about 60 bytes). */
function record(i: number): Uint8Array {
  return encodeMsgpack({ time: 1_700_000_000 + i / 1000, seq: i, v: [i * 0.5, -i], ok: i % 2 === 0 });
}

/** Appends records `from`..`to`-1 to `path` in one write. */
async function appendRecords(path: string, from: number, to: number): Promise<void> {
  const parts: Uint8Array[] = [];
  let length = 0;
  for (let i = from; i < to; i++) {
    const b = record(i);
    parts.push(b);
    length += b.length;
  }
  const buf = new Uint8Array(length);
  let o = 0;
  for (const p of parts) buf.set(p, o), o += p.length;
  await Deno.writeFile(path, buf, { append: true, create: true });
}

/** Every `seq` of the output files, files in name order (`copy.mpack`, `copy.1.mpack`, … by number). */
async function readOutput(dir: string): Promise<{ seqs: number[]; garbage: number; files: number }> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) if (e.name.endsWith(".mpack")) names.push(e.name);
  const num = (n: string) => Number(/\.(\d+)\.mpack$/.exec(n)?.[1] ?? 0);
  names.sort((a, b) => num(a) - num(b));
  const seqs: number[] = [];
  let garbage = 0;
  for (const n of names) {
    const r = new MpackStreamReader();
    r.push(await Deno.readFile(join(dir, n)));
    for (let it = r.next(); it; it = r.next()) {
      if (it.kind === "record") seqs.push(it.value.seq as number);
      else garbage++;
    }
    if (r.finish()) garbage++;
  }
  return { seqs, garbage, files: names.length };
}

/** Counts records missing from, repeated in and out of order in `seqs`, which should be 0..total-1 once each. */
function tally(seqs: number[], total: number): { lost: number; duplicated: number; outOfOrder: number } {
  let outOfOrder = 0;
  for (let k = 1; k < seqs.length; k++) if (seqs[k] <= seqs[k - 1]) outOfOrder++;
  return { ...lostAndDuplicated(seqs, total), outOfOrder };
}

/** The checkpointed offset of input `name`, or -1. */
async function checkpointOffset(dataDir: string, name: string): Promise<number> {
  try {
    return (JSON.parse(await Deno.readTextFile(join(dataDir, "checkpoints", `${name}.json`))) as { offset: number })
      .offset;
  } catch {
    return -1;
  }
}

/**
 * Runs the scenario: `total` records, the first `preload` written before the first start, the rest appended while
 * the daemon is down; a SIGKILL once the output holds each of `killAt` records (counted by `/metrics`).
 */
async function killScenario(opts: { total: number; preload: number; killAt: number[]; output: string }) {
  const dir = await Deno.makeTempDir({ prefix: "telebus-kill9-" });
  const src = join(dir, "robot.mpack");
  const outDir = join(dir, "out");
  const dataDir = join(dir, "data");
  const config = join(dir, "telemetry.toml");
  await Deno.writeTextFile(
    config,
    `
[daemon]
http = "127.0.0.1:0"
data_dir = "${dataDir}"

[[inputs.mpack_tail]]
name = "robot"
path = "${src}"
from = "checkpoint"
poll_interval = "5ms"

[[outputs.mpack_file]]
name = "copy"
path = "${outDir}/copy.mpack"
${opts.output}
`,
  );
  await appendRecords(src, 0, opts.preload);
  const slices = opts.killAt.length;
  let appended = opts.preload;
  const kills: { at: number; written: number }[] = [];
  const logs: string[] = [];
  /** Milliseconds from spawning a daemon after a kill until `/health` said 200. */
  const healthy: number[] = [];
  let peakRss = 0;
  const start = async (afterKill: boolean) => {
    const t0 = performance.now();
    const d = await DaemonProcess.start(config);
    await until("health", async () => (await d.get("/health")).status === 200, 20_000, 10);
    if (afterKill) healthy.push(Math.round(performance.now() - t0));
    return d;
  };
  for (let k = 0; k < slices; k++) {
    const d = await start(k > 0);
    // Each run counts its own records; the kill lands once this run wrote `killAt[k]` of them.
    await until(`output records of run ${k}`, async () => {
      const n = await d.metric('telebus_output_records_total{output="copy"');
      return n >= opts.killAt[k];
    }, 20_000);
    const written = await d.metric('telebus_output_records_total{output="copy"');
    peakRss = Math.max(peakRss, await d.peakRss());
    await d.stop("SIGKILL");
    logs.push(d.log);
    kills.push({ at: opts.killAt[k], written });
    // While the daemon is down the writer goes on.
    const next = Math.min(opts.total, appended + Math.ceil((opts.total - opts.preload) / slices));
    await appendRecords(src, appended, next);
    appended = next;
  }
  if (appended < opts.total) await appendRecords(src, appended, opts.total);
  const last = await start(true);
  const size = (await Deno.stat(src)).size;
  await until(
    "the checkpoint at the end of the log",
    async () => await checkpointOffset(dataDir, "robot") === size,
    20_000,
  );
  peakRss = Math.max(peakRss, await last.peakRss());
  assert.equal(await last.stop("SIGTERM"), 0, `last daemon exits 0:\n${last.log}`);
  logs.push(last.log);
  const out = await readOutput(outDir);
  await Deno.remove(dir, { recursive: true });
  // What each restart cut back: the bytes written after the checkpoint that the kill left behind.
  const cuts = logs.flatMap((l) => [...l.matchAll(/cut back to the input's checkpoint.*? bytes=(\d+)/g)])
    .map((m) => Number(m[1]));
  return {
    ...tally(out.seqs, opts.total),
    garbage: out.garbage,
    files: out.files,
    kills,
    cuts,
    logs,
    healthy,
    peakRssMiB: Math.round(peakRss / 1048576),
  };
}

Deno.test("kill -9 three times mid-stream, mpack_tail → mpack_file: 0 lost, 0 duplicated, in order", async () => {
  const total = 200_000;
  const r = await killScenario({ total, preload: 100_000, killAt: [15_000, 15_000, 15_000], output: "" });
  await recordFigures("kill9_tail_to_file", {
    records: total,
    lost: r.lost,
    duplicated: r.duplicated,
    kills: r.kills.length,
    restart_to_healthy_ms: r.healthy,
    cut_back_bytes: r.cuts,
    peak_rss_mib: r.peakRssMiB,
  });
  assert.equal(r.garbage, 0, "no torn record or garbage in the output");
  assert.equal(r.lost, 0, "no record lost");
  assert.equal(r.duplicated, 0, "no record repeated");
  assert.equal(r.outOfOrder, 0, "in order");
  assert.equal(r.cuts.length, 3, `every restart after a kill cut back to its checkpoint:\n${r.logs.join("\n")}`);
});

Deno.test("kill -9 with size rotation and fsync = every_batch: 0 lost, 0 duplicated, in order", async () => {
  const total = 120_000;
  const r = await killScenario({
    total,
    preload: 60_000,
    killAt: [8_000, 8_000, 8_000],
    output: `rotate_size = "300KiB"\nfsync = "every_batch"\nbatch_records = 700`,
  });
  await recordFigures("kill9_tail_to_file_rotating", {
    records: total,
    lost: r.lost,
    duplicated: r.duplicated,
    kills: r.kills.length,
    files: r.files,
    restart_to_healthy_ms: r.healthy,
    cut_back_bytes: r.cuts,
    peak_rss_mib: r.peakRssMiB,
  });
  assert.ok(r.files > 10, "the output rotated");
  assert.equal(r.garbage, 0, "no torn record or garbage in the output");
  assert.equal(r.lost, 0, "no record lost");
  assert.equal(r.duplicated, 0, "no record repeated");
  assert.equal(r.outOfOrder, 0, "in order");
  assert.equal(r.cuts.length, 3, `every restart after a kill cut back to its checkpoint:\n${r.logs.join("\n")}`);
});
