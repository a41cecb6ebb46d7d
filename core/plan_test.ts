/** An output's queue settings from its table. */
import assert from "node:assert/strict";
import { attachOptions } from "./plan.ts";
import type { OutputCommon } from "../config/types.ts";

Deno.test("plan: a table without the common output keys gets their defaults, not undefined batches", () => {
  // A hand-made transport whose schema left out `outputCommon`: its parsed table has a name and nothing else.
  const o = attachOptions({ name: "raw" } as unknown as OutputCommon);
  assert.deepEqual(
    [o.whenFull, o.queueRecords, o.queueBytes, o.batchRecords],
    ["block", 10000, 64 * 1024 * 1024, 1000],
  );
  const set = attachOptions({ name: "x", when_full: "latest", queue_records: 5, queue_bytes: 2048, batch_records: 2 });
  assert.deepEqual([set.whenFull, set.queueRecords, set.queueBytes, set.batchRecords], ["latest", 5, 2048, 2]);
});
