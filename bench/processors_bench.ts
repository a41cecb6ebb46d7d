/**
 * `deno bench` of the processors' overhead per record: each bench runs 1000 20-key telemetry records (~260 B, 4
 * streams) through one processor chain, so ops/s × 1000 = records/s, and the time per iteration / 1000 is the cost
 * per record. The baseline is a chain-less pass (what an output without processors does).
 *
 *   deno bench -A bench/processors_bench.ts
 */
import { makeRecord } from "../core/record.ts";
import { ProcessorChain } from "../processors/chain.ts";
import type { ProcessorConfig } from "../processors/schema.ts";
import { telemetry } from "./fixtures.ts";

const dicts = telemetry(1000);
const records = dicts.map((d, i) => makeRecord(`robot/${i % 4}`, BigInt(i), d, "bench"));
const nested = dicts.map((d, i) =>
  makeRecord(`robot/${i % 4}`, BigInt(i), { pose: { x: d.seq, y: 1, z: 2 }, imu: { a: 1, b: 2 }, ...d }, "bench")
);

/** A chain of `configs` whose timed records go nowhere (the bench measures the synchronous path). */
function bench(name: string, configs: ProcessorConfig[], input = records, baseline = false) {
  const chain = new ProcessorChain(configs, () => {});
  Deno.bench(name, { group: "processors", baseline }, () => {
    chain.process(input.slice());
  });
  // Stop the timers once the benches are done (a throttle or aggregate would keep the process alive).
  globalThis.addEventListener("unload", () => chain.close(false));
}

bench("none (baseline)", [], records, true);
bench("filter streams", [{ type: "filter", streams: ["robot/1", "robot/2"] }]);
bench("filter where", [{ type: "filter", where: "batt_v > 0" }]);
bench("select 3 keys", [{ type: "select", keys: ["seq", "time", "batt_v"] }]);
bench("drop 2 keys", [{ type: "drop", keys: ["x", "y"] }]);
bench("rename key + stream", [{ type: "rename", keys: { seq: "n" }, streams: { "robot/1": "r1" } }]);
bench("throttle", [{ type: "throttle", interval: 60_000 }]);
bench("every 10", [{ type: "every", n: 10 }]);
bench("aggregate 20 keys", [{ type: "aggregate", window: 60_000, functions: ["mean", "min", "max"] }]);
bench("flatten (nested)", [{ type: "flatten", separator: "/" }], nested);
bench("filter + select + throttle", [
  { type: "filter", exclude: ["robot/3"] },
  { type: "select", keys: ["seq", "time", "y*"] },
  { type: "throttle", interval: 60_000 },
]);
