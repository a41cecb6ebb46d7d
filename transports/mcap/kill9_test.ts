/**
 * The mcap output under `kill -9`: the daemon (a subprocess) records a generator into rotating MCAP files and is
 * killed with SIGKILL twice, each time restarted; at the end it is stopped cleanly. Every file left must open with
 * `McapIndexedReader` (the torn ones are finished at the restart), and each killed run may lose only the records of
 * its last `flush_interval` (plus the time a batch takes to reach the output). With the worker (the default) and
 * without.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DaemonProcess, until } from "../../testing/mod.ts";
import { openIndexedMcap } from "../../codecs/mcap_read.ts";
import { decodeMcapMessage } from "../../codecs/mcap_read.ts";

const FLUSH_MS = 300;
/** Delay between a record's creation and its arrival in the output's chunk, on a loaded machine. */
const SLACK_MS = 1000;

for (const worker of [true, false]) {
  Deno.test(`kill -9 (worker = ${worker}): every file opens indexed after a restart, and a killed run loses at most its last flush_interval`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "telebus-mcap-kill9-" });
    const outDir = join(dir, "out");
    const config = join(dir, "telemetry.toml");
    await Deno.writeTextFile(
      config,
      `
[daemon]
http = "127.0.0.1:0"
data_dir = "${join(dir, "data")}"

[[inputs.generator]]
name = "gen"
rate = 2000
keys = 8

[[outputs.mcap]]
name = "rec"
path = "${outDir}/rec-{seq}.mcap"
rotate_size = "64KiB"
flush_interval = "${FLUSH_MS}ms"
worker = ${worker}
`,
    );
    const kills: number[] = [];
    try {
      for (let run = 0; run < 3; run++) {
        const d = await DaemonProcess.start(config);
        try {
          // Enough records for a rotation or two in each run.
          await until(
            "records written",
            async () => (await d.metric('telebus_output_records_total{output="rec"')) >= 3000,
            30_000,
          );
          if (run < 2) {
            kills.push(Date.now());
            assert.notEqual(await d.stop("SIGKILL"), 0);
          } else assert.equal(await d.stop("SIGTERM"), 0, d.log);
          // No check that this restart repaired a file: a kill between a rotation's footer and the next file leaves
          // none torn. Repair itself is tested in output_test.ts; here every file must open indexed (below).
        } catch (e) {
          await d.stop("SIGKILL").catch(() => {});
          throw e;
        }
      }
      const names: string[] = [];
      for await (const e of Deno.readDir(outDir)) names.push(e.name);
      assert.ok(names.every((n) => n.endsWith(".mcap")), `no leftovers: ${names}`);
      names.sort();
      // Runs are told apart by the generator's seq starting again at 0.
      const runs: { seq: number; timeMs: number }[][] = [];
      for (const n of names) {
        const { reader, close } = await openIndexedMcap(join(outDir, n));
        try {
          for await (const m of reader.readMessages()) {
            const ch = reader.channelsById.get(m.channelId)!;
            const data = decodeMcapMessage(m.data, ch.messageEncoding);
            const seq = data.seq as number;
            if (seq === 0 || runs.length === 0) runs.push([]);
            runs.at(-1)!.push({ seq, timeMs: Number(m.logTime / 1_000_000n) });
          }
        } finally {
          close();
        }
      }
      assert.equal(runs.length, 3, "three runs");
      for (let k = 0; k < 3; k++) {
        const seqs = runs[k].map((r) => r.seq);
        assert.deepEqual(seqs, seqs.map((_, i) => i), `run ${k}: no gap, in order`);
        assert.ok(seqs.length >= 3000 - 2000 * (FLUSH_MS + SLACK_MS) / 1000, `run ${k} kept ${seqs.length}`);
      }
      for (let k = 0; k < 2; k++) {
        const lostMs = kills[k] - runs[k].at(-1)!.timeMs;
        assert.ok(lostMs <= FLUSH_MS + SLACK_MS, `run ${k} lost its last ${lostMs} ms`);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}
