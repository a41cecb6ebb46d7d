/**
 * The zmq transport inside a daemon (in-process): an mflow stream comes in on
 * a zmq input and goes out on a zmq output byte for byte, with mflow-like
 * statistics on both sides.
 */
import assert from "node:assert/strict";
import * as zmq from "npm:zeromq@^6.5.0";
import { startDaemon } from "../start.ts";
import { createLogger } from "../core/log.ts";
import { receiveMessage } from "../net/zmq.ts";
import { fixtureMessages, testBothBindings } from "../transports/zmq/test_helpers.ts";
import { bytesEqual, until } from "../testing/mod.ts";

testBothBindings("zmq daemon: mflow in, mflow out, frames unchanged; statistics of both sides", async (binding) => {
  const lines: string[] = [];
  const daemon = await startDaemon({
    config: {
      daemon: { http: "off", data_dir: await Deno.makeTempDir({ prefix: "zmq_daemon_" }), dashboard: false },
      inputs: { zmq: [{ name: "zin", address: "tcp://127.0.0.1:*", conn_type: "bind" }] },
      outputs: { zmq: [{ name: "zout", address: "tcp://127.0.0.1:*", linger: 0 }] },
    },
  }, { log: createLogger("test", { level: "info", write: (l) => lines.push(l) }) });
  const endpoint = (part: string) =>
    new RegExp(`${part}: zmq (?:input|output) open .*endpoints=(\\S+)`).exec(lines.join("\n"))?.[1];
  const inEp = endpoint("input.zin"), outEp = endpoint("output.zout");
  assert.ok(inEp && outEp, lines.join("\n"));
  assert.equal(lines.filter((l) => l.includes(`binding=${binding}`)).length, 2, lines.join("\n"));
  const push = new zmq.Push({ linger: 0 });
  const pull = new zmq.Pull({ linger: 0 });
  push.connect(inEp);
  pull.connect(outEp);
  try {
    const msgs = fixtureMessages();
    for (const m of msgs) await push.send(m.frames);
    const got: Uint8Array[][] = [];
    const timer = setTimeout(() => pull.close(), 3000);
    while (got.length < msgs.length) {
      const m = await receiveMessage(pull);
      if (!m) throw new Error(`received ${got.length} of ${msgs.length}`);
      got.push(m);
    }
    clearTimeout(timer);
    got.forEach((frames, i) => {
      assert.equal(frames.length, msgs[i].frames.length);
      frames.forEach((f, j) => assert.ok(bytesEqual(new Uint8Array(f), msgs[i].frames[j]), `${msgs[i].htype} ${j}`));
    });
    const zin = daemon.stats.find((s) => s.name === "zin")!, zout = daemon.stats.find((s) => s.name === "zout")!;
    await until("output bytes", () => zout.bytes === 2569, 2000);
    assert.equal(zin.records, 15);
    assert.equal(zin.bytes, 2569);
    assert.equal(zout.records, 15);
    const json = zin.toJSON() as { gauges: Record<string, number> };
    assert.ok(Math.abs(json.gauges.average_message_size_bytes - 2569 / 15) < 1e-9);
    assert.ok("message_rate" in json.gauges && "data_rate_bytes" in json.gauges);
  } finally {
    await daemon.stop();
    if (!pull.closed) pull.close();
    push.close();
  }
});
