/**
 * One bad record costs only itself (issue 11, item 3): a 5000-deep JSON
 * message among 100 good ones on a `zmq` input. The daemon runs in-process
 * with real zmq sockets, a real `mpack_file` output and its HTTP server.
 */
import assert from "node:assert/strict";
import * as zmq from "npm:zeromq@^6.5.0";
import { startDaemon } from "../start.ts";
import { createLogger } from "../core/log.ts";
import { makeRecord, nowNs } from "../core/record.ts";
import { MpackStreamReader } from "../codecs/mpack_stream.ts";
import { until } from "../testing/mod.ts";

function deep(levels: number): string {
  return `{"i":-1,"deep":${"[".repeat(levels)}${"]".repeat(levels)}}`;
}

Deno.test("bad record: a 5000-deep JSON message on zmq costs only itself; mpack_file gets the 100 good ones", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bad_record_" });
  const lines: string[] = [];
  const daemon = await startDaemon({
    config: {
      daemon: { http: "127.0.0.1:0", data_dir: dir, dashboard: false },
      inputs: { zmq: [{ name: "zin", address: "tcp://127.0.0.1:*", conn_type: "bind", format: "json" }] },
      outputs: { mpack_file: [{ name: "file", path: `${dir}/out.mpack`, fsync: "never" }] },
    },
  }, { log: createLogger("test", { level: "info", write: (l) => lines.push(l) }) });
  const push = new zmq.Push({ linger: 0 });
  try {
    const ep = /input\.zin: zmq input open .*endpoints=(\S+)/.exec(lines.join("\n"))?.[1];
    assert.ok(ep, lines.join("\n"));
    push.connect(ep);
    const enc = new TextEncoder();
    // The bad message sits in the middle of a burst, so it is read into the same batch as good ones.
    for (let i = 0; i < 100; i++) {
      if (i === 50) await push.send(enc.encode(deep(5000)));
      await push.send(enc.encode(JSON.stringify({ i, x: i * 0.5 })));
    }
    await push.send(enc.encode(deep(150))); // beyond the limit but encodable: refused all the same
    const file = daemon.stats.find((s) => s.name === "file")!;
    const zin = daemon.stats.find((s) => s.name === "zin")!;
    await until(() => `${file.records} written`, () => file.records >= 100 && zin.rejectedTotal >= 2, 5000);
    assert.equal(zin.records, 100);
    assert.equal(zin.rejected.get("too_deep"), 2);

    const metrics = await (await fetch(`http://127.0.0.1:${daemon.http.addr!.port}/metrics`)).text();
    assert.match(metrics, /^telebus_input_rejected_total\{input="zin",type="zmq",reason="too_deep"\} 2$/m);
    // Logged once per reason, with the stream and the peer.
    const logged = lines.filter((l) => l.includes("record refused"));
    assert.equal(logged.length, 1, logged.join("\n"));
    assert.match(logged[0], /stream=zin .*reason=too_deep .*endpoint=tcp:\/\/127\.0\.0\.1:\d+/);
    assert.equal(daemon.stats.find((s) => s.name === "zin")!.errors, 0);

    await daemon.stop();
    const reader = new MpackStreamReader();
    reader.push(await Deno.readFile(`${dir}/out.mpack`));
    const got: number[] = [];
    for (let item = reader.next(); item; item = reader.next()) {
      assert.equal(item.kind, "record", JSON.stringify(item));
      if (item.kind === "record") got.push(item.value.i as number);
    }
    assert.equal(reader.finish(), undefined);
    assert.deepEqual(got, Array.from({ length: 100 }, (_, i) => i));
  } finally {
    push.close();
    await daemon.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bad record: a program's own input cannot put a too-deep or cyclic record on the bus", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bad_record_" });
  const daemon = await startDaemon({
    config: {
      daemon: { http: "off", data_dir: dir, dashboard: false },
      outputs: { mpack_file: [{ name: "file", path: `${dir}/out.mpack`, fsync: "never" }] },
    },
  }, { log: createLogger("test", { level: "error", write() {} }) });
  try {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    let nested: unknown = 1;
    for (let i = 0; i < 99; i++) nested = [nested]; // the 1 sits at level 100: at the limit
    const accepted = Promise.withResolvers<void>();
    daemon.addInput("mine", {
      async run(ctx) {
        await ctx.emit([
          makeRecord("s", nowNs(), { i: 0, at_limit: nested as number }, ctx.name),
          makeRecord("s", nowNs(), cyclic as never, ctx.name, 10), // a size given: estimating one would not end
          makeRecord("s", nowNs(), { i: 1, beyond: [nested] as never }, ctx.name),
          makeRecord("s", nowNs(), { i: 2 }, ctx.name),
        ], accepted.resolve);
      },
    });
    await accepted.promise;
    const mine = daemon.stats.find((s) => s.name === "mine")!;
    assert.equal(mine.rejected.get("too_deep"), 2);
    await daemon.stop();
    const reader = new MpackStreamReader();
    reader.push(await Deno.readFile(`${dir}/out.mpack`));
    const got: unknown[] = [];
    for (let item = reader.next(); item; item = reader.next()) {
      assert.equal(item.kind, "record");
      if (item.kind === "record") got.push(item.value.i);
    }
    // A value exactly at the limit is written, and the reader takes it back.
    assert.deepEqual(got, [0, 2]);
  } finally {
    await daemon.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
