/**
 * Start-up beside a large existing `mpack_file` output: the daemon must not
 * read the file again, neither after a clean stop nor after `kill -9`. The
 * output keeps where its whole records end (`data_dir/mpack_file/<name>.json`,
 * saved at most a second apart while writing and exactly on close) and scans
 * only what follows. Bytes read are taken from `/proc/<pid>/io` (`rchar`: every
 * byte the daemon process read, its own code included), so this does not rely
 * on the daemon's word.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { encodeMsgpack } from "../../codecs/msgpack.ts";
import { MpackStreamReader } from "../../codecs/mpack_stream.ts";
import { createLogger } from "../../core/log.ts";
import { EncodedRecord } from "../../codecs/encoded_record.ts";
import { PartStats } from "../../core/stats.ts";
import { MpackFileOutput } from "../../transports/mpack_file/output.ts";
import { mpackFileSchema } from "../../transports/mpack_file/schema.ts";
import { DaemonProcess, until } from "../../testing/mod.ts";
import { lostAndDuplicated, recordFigures } from "./figures.ts";

const MiB = 1 << 20;
const EXISTING_MIB = 200;
const TAIL_RECORDS = 50_000;

/** Starts the daemon; returns it with the milliseconds until `/health` said 200 and the bytes read by then. */
async function startTimed(config: string): Promise<{ d: DaemonProcess; healthyMs: number; read: number }> {
  const t0 = performance.now();
  const d = await DaemonProcess.start(config);
  await until("health", async () => (await d.get("/health")).status === 200, 20_000, 5);
  const healthyMs = performance.now() - t0;
  return { d, healthyMs, read: await d.bytesRead() };
}

/** Writes `mib` MiB of 1 MiB records to `path` through the output itself (so its state knows the file). */
async function buildExisting(path: string, dataDir: string, mib: number): Promise<number> {
  const ctx = {
    name: "copy",
    log: createLogger("output.copy", { level: "error", write: () => {} }),
    stats: new PartStats("output", "copy", "mpack_file"),
    dataDir,
    http: { route() {} },
  };
  const out = await MpackFileOutput.open(mpackFileSchema.parse({ path, fsync: "never" }), ctx);
  // Records of 256 bytes, as telemetry is: the cost of scanning is per record.
  const small = encodeMsgpack({ time: 1_600_000_000, seq: -1, blob: new Uint8Array(256 - 23).fill(7) });
  assert.equal(small.length, 256);
  const batch = Array.from({ length: MiB / 256 }, () => new EncodedRecord("old", 0n, small, "builder"));
  for (let i = 0; i < mib; i++) await out.write(batch);
  await out.close();
  return (await Deno.stat(path)).size;
}

Deno.test("start-up beside a 200 MiB existing output reads none of it, after a clean stop and after kill -9", async () => {
  const dir = await Deno.makeTempDir({ prefix: "telebus-startup-" });
  const out = join(dir, "out", "copy.mpack");
  const src = join(dir, "robot.mpack");
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
poll_interval = "5ms"

[[outputs.mpack_file]]
name = "copy"
path = "${out}"
`,
  );
  const existing = await buildExisting(out, dataDir, EXISTING_MIB);
  const parts = Array.from({ length: TAIL_RECORDS }, (_, i) => encodeMsgpack({ time: 1_700_000_000 + i, seq: i }));
  const tail = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((o, p) => (tail.set(p, o), o + p.length), 0);
  await Deno.writeFile(src, tail);

  // 1. Beside the file the output closed cleanly; kill -9 while it copies the source, once a checkpoint is saved.
  const checkpoint = async () =>
    JSON.parse(await Deno.readTextFile(join(dataDir, "checkpoints", "robot.json")).catch(() => "{}")) as {
      offset?: number;
    };
  const first = await startTimed(config);
  await until("a checkpoint", async () => (await checkpoint()).offset !== undefined, 20_000);
  await first.d.stop("SIGKILL");
  // 2. After kill -9: cut back to the checkpoint, then copy the rest.
  const second = await startTimed(config);
  const size = (await Deno.stat(src)).size;
  await until("the whole source", async () => (await checkpoint()).offset === size, 20_000);
  assert.equal(await second.d.stop("SIGTERM"), 0, second.d.log);
  // 3. After a clean stop.
  const third = await startTimed(config);
  assert.equal(await third.d.stop("SIGTERM"), 0, third.d.log);

  const runs = [first, second, third];
  for (const [i, r] of runs.entries()) {
    assert.ok(r.read < existing / 4, `start ${i + 1} read ${r.read} bytes beside a ${existing}-byte output`);
  }
  assert.match(second.d.log, /cut back to the input's checkpoint/, "the restart after kill -9 rewound");

  // Nothing lost or repeated, no torn record: the old records, then every source record once.
  const reader = new MpackStreamReader({ maxRecordBytes: 2 * MiB });
  const file = await Deno.open(out);
  const seqs: number[] = [];
  let garbage = 0;
  for await (const chunk of file.readable) {
    reader.push(chunk);
    for (let it = reader.next(); it; it = reader.next()) {
      if (it.kind === "record") seqs.push(it.value.seq as number);
      else garbage++;
    }
  }
  assert.equal(reader.finish(), undefined);
  const copied = seqs.filter((s) => s >= 0);
  await recordFigures("startup_beside_200mib_output", {
    records: TAIL_RECORDS,
    ...lostAndDuplicated(copied, TAIL_RECORDS),
    existing_mib: Math.round(existing / MiB),
    healthy_ms: runs.map((r) => Math.round(r.healthyMs)),
    read_mib: runs.map((r) => Math.round(r.read / MiB * 10) / 10),
    starts: "after a clean close, after kill -9, after a clean stop",
  });
  assert.equal(garbage, 0);
  assert.equal(seqs.filter((s) => s === -1).length, EXISTING_MIB * MiB / 256);
  assert.deepEqual(copied, Array.from({ length: TAIL_RECORDS }, (_, i) => i));
  await Deno.remove(dir, { recursive: true });
});
