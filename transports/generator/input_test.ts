import assert from "node:assert/strict";
import { createGeneratorInput } from "./input.ts";
import { generatorSchema } from "./schema.ts";
import type { BusRecord } from "../../core/record.ts";
import { PartStats } from "../../core/stats.ts";
import { createLogger } from "../../core/log.ts";
import { MemoryCheckpointStore } from "../../core/checkpoint.ts";
import { encodeMsgpack } from "../../codecs/msgpack.ts";
import { letTimePass } from "../../testing/mod.ts";

function context(emit: (rs: BusRecord[]) => void | Promise<void>, signal = new AbortController().signal) {
  return {
    name: "gen",
    emit,
    signal,
    log: createLogger("gen", { level: "error", write() {} }),
    stats: new PartStats("input", "gen", "generator"),
    checkpoints: new MemoryCheckpointStore(),
    http: { route() {} },
  };
}

Deno.test("generator: count records, round-robin streams, 20 keys of about 270 bytes", async () => {
  const config = generatorSchema.parse({ rate: 0, count: 2500, streams: ["a", "b"] });
  const got: BusRecord[] = [];
  const ctx = context((rs) => void got.push(...rs));
  await createGeneratorInput(config).run(ctx);
  assert.equal(got.length, 2500);
  assert.deepEqual(got.slice(0, 3).map((r) => r.stream), ["a", "b", "a"]);
  assert.deepEqual(got.map((r) => r.data.seq), Array.from({ length: 2500 }, (_, i) => i));
  assert.equal(Object.keys(got[0].data).length, 20);
  const size = encodeMsgpack(got[7].data).length;
  assert.ok(size > 240 && size < 290, `encoded size ${size}`);
  assert.equal(ctx.stats.records, 2500);
});

Deno.test("generator: keeps its rate and stops on abort", async () => {
  const config = generatorSchema.parse({ rate: 500 });
  const abort = new AbortController();
  let n = 0;
  const run = createGeneratorInput(config).run(context((rs) => void (n += rs.length), abort.signal));
  await letTimePass(400); // the test measures the rate over this stretch
  abort.abort();
  await run;
  // 500/s over 0.4 s is 200; allow for timer jitter on a loaded machine.
  assert.ok(n >= 120 && n <= 260, `emitted ${n}`);
});

Deno.test("generator: waits for a blocked bus instead of queueing", async () => {
  const config = generatorSchema.parse({ rate: 0, count: 3000 });
  let inFlight = 0, maxInFlight = 0, n = 0;
  await createGeneratorInput(config).run(context(async (rs) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await letTimePass(1); // a slow bus on purpose
    n += rs.length;
    inFlight--;
  }));
  assert.equal(n, 3000);
  assert.equal(maxInFlight, 1);
});

Deno.test("generator: every record has its own time, rising, also within a batch", async () => {
  const config = generatorSchema.parse({ rate: 0, count: 5000 });
  const got: BusRecord[] = [];
  await createGeneratorInput(config).run(context((rs) => void got.push(...rs)));
  assert.equal(got.length, 5000);
  for (let i = 1; i < got.length; i++) {
    assert.ok(got[i].time > got[i - 1].time, `record ${i} has the time of record ${i - 1} or earlier`);
  }
});
