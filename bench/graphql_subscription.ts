/**
 * GraphQL subscription events/s: records emitted into the daemon reach a
 * `records` subscription (graphql-transport-ws, graphql-ws's own client in
 * the same process), for 1 and 10 subscribers.
 *
 *   deno run -A bench/graphql_subscription.ts [--records 50000]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { createClient } from "npm:graphql-ws@^6.0.6";
import { makeRecord } from "../core/record.ts";
import { testDaemon } from "../testing/mod.ts";
import { telemetry } from "./fixtures.ts";

const { values } = parseArgs({ args: Deno.args, options: { records: { type: "string", default: "50000" } } });
const N = Number(values.records);
const dicts = telemetry(1000);

async function run(subscribers: number): Promise<number> {
  // A large buffer per subscriber: this measures delivery, not dropping.
  const t = await testDaemon({ outputs: { graphql: [{ subscriber_buffer: N }] } });
  const clients = Array.from(
    { length: subscribers },
    () => createClient({ url: `ws://${t.url}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0 }),
  );
  let received = 0;
  let started = 0;
  const done = Promise.withResolvers<void>();
  for (const c of clients) {
    c.subscribe({ query: "subscription { records { stream time data } }" }, {
      next: () => {
        if (++received === N * subscribers) done.resolve();
      },
      error: (e) => done.reject(e),
      complete: () => {},
    });
  }
  // Wait until every subscription is registered.
  for (;;) {
    const r = await fetch(`http://${t.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "{ outputs { gauges } }" }),
    });
    if ((await r.json()).data.outputs[0].gauges.subscribers === subscribers) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  started = performance.now();
  for (let i = 0; i < N; i += 500) {
    const batch = [];
    for (let k = 0; k < 500 && i + k < N; k++) batch.push(makeRecord("robot/telemetry", 1n, dicts[k], "bench"));
    const p = t.emitRecords(batch);
    if (p) await p;
    await new Promise((r) => setTimeout(r, 0));
  }
  await done.promise;
  const rate = received / ((performance.now() - started) / 1000);
  for (const c of clients) await c.dispose();
  await t.close();
  return rate;
}

for (const n of [1, 10]) {
  console.log(`${n} subscriber(s): ${Math.round(await run(n)).toLocaleString("en")} events/s delivered`);
}
