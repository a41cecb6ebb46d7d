/**
 * End to end over TCP: a peer streams 100 000 records into the daemon's MoaT
 * server (`pub` as a stream_w) while a slow output takes them. Flow control
 * must hold the peer back: none is lost or duplicated, they arrive in order,
 * and the records in flight (sent by the peer, not yet written by the output)
 * stay within the queues' bounds the whole time.
 */
import assert from "node:assert/strict";
import { startDaemon } from "../start.ts";
import type { BusRecord } from "../core/record.ts";
import { connectClient, memoryLogger } from "../transports/moat_cmd/test_util.ts";
import { freePort, letTimePass, until } from "../testing/mod.ts";

const TOTAL = 100_000;
/** Output queue + one batch being written + the server's reader queue + credit slack. */
const OUTPUT_QUEUE = 1000;
const BATCH = 250;
const READER_QUEUE = 42;
const BOUND = OUTPUT_QUEUE + BATCH + 2 * READER_QUEUE + 100;

Deno.test("moat e2e: 100k records pushed over TCP into a slow output: none lost, in order, bounded in flight", async () => {
  const port = freePort();
  const { log } = memoryLogger();
  const d = await startDaemon({
    config: {
      daemon: { http: "off", data_dir: await Deno.makeTempDir() },
      inputs: { moat_cmd: [{ name: "moat", listen: `127.0.0.1:${port}`, queue: READER_QUEUE }] },
    },
  }, { log });
  let written = 0;
  let sent = 0;
  let nextSeq = 0;
  let disorder = 0;
  let held = false;
  d.addOutput("slow", {
    async write(records: BusRecord[]) {
      // The first write waits until the peer is well ahead, however fast each side runs on a loaded machine: the
      // output is then surely behind once, and the bound on what is in flight is put to the test.
      if (!held) {
        held = true;
        await until(
          () => `the peer ahead by ${OUTPUT_QUEUE / 2} (${sent - written})`,
          () => sent - written > OUTPUT_QUEUE / 2,
        );
      }
      for (const r of records) {
        if (r.data.seq !== nextSeq) disorder++;
        nextSeq = (r.data.seq as number) + 1;
      }
      written += records.length;
      // A slow sink: 4 ms per batch of at most 250, i.e. at most 62 500 records/s (the peer sends faster).
      await letTimePass(4);
    },
    close: () => Promise.resolve(),
  }, { queueRecords: OUTPUT_QUEUE, batchRecords: BATCH, whenFull: "block" });

  const c = await connectClient(port);
  let maxInFlight = 0;
  try {
    const w = await c.ep.streamW("pub");
    for (let i = 0; i < TOTAL; i++) {
      await w.send("robot/imu", { seq: i, ax: i * 0.001, ay: -i * 0.002, az: 9.81 });
      sent = i + 1;
      maxInFlight = Math.max(maxInFlight, sent - written);
    }
    w.end();
    assert.deepEqual(await w.done(), [TOTAL]);
    await until(() => `${TOTAL} records written (${written})`, () => written >= TOTAL);
    assert.equal(written, TOTAL);
    assert.equal(disorder, 0);
    assert.equal(nextSeq, TOTAL);
    assert.ok(maxInFlight <= BOUND, `in flight up to ${maxInFlight}, bound ${BOUND}`);
    // The output really was the bottleneck: the peer had to wait.
    assert.ok(maxInFlight > OUTPUT_QUEUE / 2, `in flight only ${maxInFlight}: the output was never behind`);
    const input = d.stats.find((p) => p.name === "moat")!;
    assert.equal(input.records, TOTAL);
    assert.equal(input.errors, 0);
  } finally {
    await c.close();
    await d.stop();
  }
});
