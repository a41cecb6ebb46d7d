import assert from "node:assert/strict";
import { createLogger } from "../../core/log.ts";
import { type Dict, makeRecord } from "../../core/record.ts";
import { PartStats } from "../../core/stats.ts";
import { decodeMsgpack } from "../../codecs/msgpack.ts";
import { StreamerOutput } from "./output.ts";
import { streamerOutputSchema } from "./schema.ts";

Deno.test("streamer output: a record it cannot store within the codecs' limits costs only itself", async () => {
  let deep: unknown = 1;
  for (let i = 0; i < 100; i++) deep = [deep]; // its 1 at level 101: the streamer input would refuse it
  for (const format of ["msgpack", "json"] as const) {
    const stats = new PartStats("output", "store", "streamer");
    const lines: string[] = [];
    const routes: string[] = [];
    const out = new StreamerOutput(streamerOutputSchema.parse({ format }), {
      name: "store",
      log: createLogger("test", { level: "warn", write: (l) => lines.push(l) }),
      stats,
      dataDir: "/nonexistent",
      http: { route: (path) => void routes.push(path) },
    });
    try {
      await out.write([
        makeRecord("s", 0n, { i: 0 }, "test"),
        makeRecord("s", 0n, { i: -1, deep: deep as number }, "test"),
        makeRecord("s", 0n, { i: 1 }, "test"),
        makeRecord("s", 0n, { i: -2, big: 2n ** 64n }, "test"),
        makeRecord("s", 0n, { i: 2 }, "test"),
      ]);
      const [key] = await out.api.store.keys();
      const [[, entries]] = await out.api.store.read([[key, "0"]], { count: 10 });
      const values = entries.map((e) =>
        (format === "msgpack" ? decodeMsgpack(e.data) : JSON.parse(new TextDecoder().decode(e.data))) as Dict
      );
      // JSON prints a bigint exactly; MessagePack has no form for one beyond 64 bits.
      assert.deepEqual(values.map((v) => v.i), format === "json" ? [0, 1, -2, 2] : [0, 1, 2]);
      const expected = format === "json" ? { too_deep: 1 } : { too_deep: 1, unencodable: 1 };
      assert.deepEqual(Object.fromEntries(stats.rejected), expected);
      assert.equal(lines.filter((l) => l.includes("record refused")).length, Object.keys(expected).length);
    } finally {
      await out.close();
    }
  }
});
