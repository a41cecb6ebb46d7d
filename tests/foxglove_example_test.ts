/** examples/foxglove.toml as shipped: the shipped recording plays in a loop, at its pace, times shifted to now. */
import assert from "node:assert/strict";
import { DaemonProcess, freePort, until } from "../testing/mod.ts";
import { openIndexedMcap } from "../codecs/mcap_read.ts";

const ROOT = new URL("../", import.meta.url);

Deno.test("examples/foxglove.toml: the shipped recording replays to the dashboard and into .mpack and .mcap files", async () => {
  const dir = await Deno.makeTempDir();
  const started = Date.now() / 1000;
  const d = await DaemonProcess.start(new URL("examples/foxglove.toml", ROOT).pathname, {
    TELEBUS_HTTP: "127.0.0.1:0",
    TELEBUS_DATA: dir,
    TELEBUS_FOXGLOVE: `127.0.0.1:${freePort()}`,
    TELEBUS_RECORDING: new URL("examples/robot.mpack", ROOT).pathname,
  });
  try {
    assert.equal((await d.get("/health")).status, 200);
    assert.match((await d.get("/")).text, /<title>telebus<\/title>/);
    type Stream = { stream: string; count: number; last_time: number };
    let streams: Stream[] = [];
    await until("both recorded streams on the dashboard", async () => {
      streams = JSON.parse((await d.get("/api/streams")).text);
      return streams.filter((s) => s.count >= 5).length === 2;
    });
    assert.deepEqual(streams.map((s) => s.stream).sort(), ["robot/arm", "robot/base"]);
    for (const s of streams) {
      // time = "now": the records carry times of this run, not of the recording (December 2026).
      assert.ok(s.last_time >= started - 1 && s.last_time <= Date.now() / 1000 + 1, `${s.stream}: ${s.last_time}`);
    }
    // Played at its pace (50 records/s), not flat out (which would give the file's 500 at once, again and again).
    const n = streams.reduce((a, s) => a + s.count, 0);
    const most = 50 * (Date.now() / 1000 - started) + 10;
    assert.ok(n <= most, `${n} records so far, at most ${Math.round(most)} at the recording's pace`);
    await until("the replayed records in the data folder", async () => {
      for await (const e of Deno.readDir(dir)) {
        if (e.name.startsWith("replay-") && (await Deno.stat(`${dir}/${e.name}`)).size > 1000) return true;
      }
      return false;
    });
    assert.equal(await d.stop(), 0);
    // The MCAP recording of the run opens indexed, with one channel per stream.
    const mcap = [...Deno.readDirSync(dir)].find((e) => e.name.startsWith("replay-") && e.name.endsWith(".mcap"));
    assert.ok(mcap, "an .mcap file in the data folder");
    const { reader, close } = await openIndexedMcap(`${dir}/${mcap.name}`);
    try {
      assert.deepEqual([...reader.channelsById.values()].map((c) => c.topic).sort(), ["robot/arm", "robot/base"]);
      assert.ok((reader.statistics?.messageCount ?? 0n) >= 10n, `${reader.statistics?.messageCount} messages`);
    } finally {
      close();
    }
  } finally {
    await d.stop().catch(() => {}); // already stopped when the checks above got that far
    await Deno.remove(dir, { recursive: true });
  }
});
