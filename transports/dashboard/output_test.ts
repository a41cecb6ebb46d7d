import assert from "node:assert/strict";
import { HttpServer } from "../../core/http.ts";
import { PartStats } from "../../core/stats.ts";
import { createLogger } from "../../core/log.ts";
import { makeRecord } from "../../core/record.ts";
import { DashboardOutput } from "./output.ts";
import { dashboardSchema } from "./schema.ts";
import { until } from "../../testing/mod.ts";

Deno.test("dashboard: a record whose frame cannot be encoded costs only itself", async () => {
  const lines: string[] = [];
  const log = createLogger("test", { level: "warn", write: (l) => lines.push(l) });
  const http = new HttpServer(log);
  const url = `127.0.0.1:${http.listen("127.0.0.1:0").port}`;
  const stats = new PartStats("output", "dashboard", "dashboard");
  const out = new DashboardOutput(dashboardSchema.parse({}), {
    name: "dashboard",
    log,
    stats,
    dataDir: "/nonexistent",
    http,
  });
  const ws = new WebSocket(`ws://${url}/ws/dashboard`);
  const frames: string[] = [];
  ws.onmessage = (e) => frames.push(e.data);
  const closed = new Promise((r) => ws.onclose = r);
  try {
    await new Promise((r, j) => (ws.onopen = r, ws.onerror = j));
    await until("the client to be registered", () => stats.gauges.get("clients")!() >= 1);
    // A cyclic dictionary (only a program's own code can make one; inputs refuse it) has no JSON form.
    const cyclic: Record<string, unknown> = { i: -1 };
    cyclic.self = cyclic;
    out.write([
      makeRecord("a", 1n, { i: 0 }, "test"),
      makeRecord("a", 2n, cyclic as never, "test", 10),
      makeRecord("b", 3n, { i: 1 }, "test"),
    ]);
    await until(() => `2 frames, got ${frames.length}`, () => frames.length >= 2);
    assert.deepEqual(frames.map((f) => JSON.parse(f).data.i), [0, 1]);
    assert.deepEqual(Object.fromEntries(stats.rejected), { too_deep: 1 });
    assert.match(lines.find((l) => l.includes("record refused")) ?? "", /stream=a reason=too_deep/);
  } finally {
    ws.close();
    await closed;
    await out.close();
    await http.close();
  }
});
