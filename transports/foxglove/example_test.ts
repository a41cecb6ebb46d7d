/** examples/foxglove.toml as shipped: both replayed streams reach a Foxglove client, the dashboard answers. */
import assert from "node:assert/strict";
import { DaemonProcess, freePort, until } from "../../testing/mod.ts";
import { Fox } from "./test_util.ts";

Deno.test("examples/foxglove.toml: the replayed arm and base streams in a Foxglove client; the dashboard", async () => {
  const dir = await Deno.makeTempDir();
  const port = freePort();
  const d = await DaemonProcess.start(new URL("../../examples/foxglove.toml", import.meta.url).pathname, {
    TELEBUS_HTTP: "127.0.0.1:0",
    TELEBUS_DATA: dir,
    TELEBUS_FOXGLOVE: `127.0.0.1:${port}`,
    TELEBUS_RECORDING: new URL("../../examples/robot.mpack", import.meta.url).pathname,
  });
  try {
    assert.match((await d.get("/")).text, /<title>telebus<\/title>/);
    const fox = await Fox.connect(`ws://127.0.0.1:${port}`);
    try {
      const subs: number[] = [];
      for (const topic of ["robot/arm", "robot/base"]) {
        subs.push(fox.client.subscribe((await fox.channel(topic)).id));
      }
      await until("a record of each stream", () => subs.every((s) => fox.of(s).length > 0));
      assert.equal(typeof fox.of(subs[1])[0].data.seq, "number");
    } finally {
      await fox.close();
    }
  } finally {
    assert.equal(await d.stop(), 0);
    await Deno.remove(dir, { recursive: true });
  }
});
