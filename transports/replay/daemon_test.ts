/** The replay input in a daemon: replay → mpack_file is deterministic, and `exit_when_done` stops the daemon. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startDaemon } from "../../start.ts";
import { withTimeout } from "../../testing/mod.ts";
import { convertCommand } from "../../cli/convert.ts";

const FIXTURES = new URL("../../testdata/mpacklog/", import.meta.url);

/** Replays `recording` into an mpack_file at `out` in a daemon that stops by itself at the end. */
async function replayToFile(recording: string, out: string, dataDir: string): Promise<void> {
  const daemon = await startDaemon({
    config: {
      daemon: { http: "off", data_dir: dataDir, dashboard: false, exit_when_done: true },
      inputs: { replay: [{ name: "robot", path: recording, speed: 0, time: "original" }] },
      outputs: { mpack_file: [{ path: out, fsync: "never" }] },
    },
  }, { log: false });
  await withTimeout("the daemon stops once the replay is done", daemon.stopped, 20_000);
}

Deno.test("replay → mpack_file: two replays give byte-identical files, each the recording itself", async () => {
  const dir = await Deno.makeTempDir({ prefix: "replay_daemon_test_" });
  try {
    // Three of mpacklog's own logs back to back: 120 records, every value type.
    const parts = await Promise.all(
      ["plain", "quirks", "binary"].map((n) => Deno.readFile(new URL(`${n}.mpack`, FIXTURES))),
    );
    const recording = join(dir, "in.mpack");
    await Deno.writeFile(recording, new Uint8Array(parts.flatMap((p) => [...p])));
    await replayToFile(recording, join(dir, "a.mpack"), join(dir, "data_a"));
    await replayToFile(recording, join(dir, "b.mpack"), join(dir, "data_b"));
    const [input, a, b] = await Promise.all(["in", "a", "b"].map((n) => Deno.readFile(join(dir, `${n}.mpack`))));
    assert.ok(a.length > 60_000, `${a.length} bytes written`);
    assert.ok(a.length === b.length && a.every((x, i) => x === b[i]), "the two replays wrote the same bytes");
    assert.ok(a.length === input.length && a.every((x, i) => x === input[i]), "each wrote the recording as it was");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("replay of an .mcap recording → mpack_file: identical twice, MessagePack messages written as recorded", async () => {
  const dir = await Deno.makeTempDir({ prefix: "replay_daemon_mcap_test_" });
  try {
    const source = new URL("plain.mpack", FIXTURES).pathname;
    const recording = join(dir, "in.mcap");
    assert.equal(await convertCommand([source, recording, "--encoding", "msgpack"]), 0);
    await replayToFile(recording, join(dir, "a.mpack"), join(dir, "data_a"));
    await replayToFile(recording, join(dir, "b.mpack"), join(dir, "data_b"));
    const [input, a, b] = await Promise.all([
      Deno.readFile(source),
      Deno.readFile(join(dir, "a.mpack")),
      Deno.readFile(join(dir, "b.mpack")),
    ]);
    assert.ok(a.length > 1000, `${a.length} bytes written`);
    assert.ok(a.length === b.length && a.every((x, i) => x === b[i]), "the two replays wrote the same bytes");
    assert.ok(a.length === input.length && a.every((x, i) => x === input[i]), "the .mpack the recording came from");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
