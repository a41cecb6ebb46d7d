/**
 * End to end through real processes: `telebus generate --array` sends 100k
 * array-1.0 messages over PUSH/PULL to a daemon whose zmq input feeds an
 * mpack_file output; every message must be in the file, in order, with its
 * exact data. Then the daemon gets bad input and keeps running.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import * as zmq from "npm:zeromq@^6.5.0";
import { DaemonProcess, until } from "../testing/mod.ts";
import { decodeMsgpackMultiple } from "../codecs/msgpack.ts";
import { arrayBytes } from "../codecs/mflow.ts";
import { arrayPattern } from "../cli/generate.ts";
import type { Dict } from "../core/record.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const N = 100_000;
const ELEMENTS = 64; // uint32: 256 data bytes per message

// Once per binding of the daemon's zmq sockets (TELEBUS_ZMQ; net/zmq_socket.ts); `generate` uses FFI in both.
for (const binding of ["ffi", "zeromq.js"]) {
  Deno.test(`zmq e2e: 100k array-1.0 messages from \`telebus generate\` reach an mpack file, none lost, exact [${binding}]`, () =>
    e2e(binding));
}

async function e2e(binding: string): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "zmq_e2e_" });
  const out = join(dir, "out.mpack");
  const config = join(dir, "telebus.toml");
  await Deno.writeTextFile(
    config,
    `[daemon]
http = "127.0.0.1:0"
data_dir = "${join(dir, "data")}"
dashboard = false

[[inputs.zmq]]
name = "zin"
address = "tcp://127.0.0.1:*"
conn_type = "bind"
max_message_size = "1MiB"

[[outputs.mpack_file]]
name = "file"
path = "${out}"
fsync = "never"
`,
  );
  const daemon = await DaemonProcess.start(config, { TELEBUS_ZMQ: binding });
  try {
    // Inputs start after the HTTP server listens: wait for the input's line with its bound endpoint.
    await until("the zmq input", () => Promise.resolve(/zmq input open/.test(daemon.log)), 5000);
    const endpoint = /zmq input open .*endpoints=(\S+)/.exec(daemon.log)?.[1];
    assert.ok(endpoint, `no endpoint in the log:\n${daemon.log}`);
    assert.match(daemon.log, new RegExp(`zmq input open .*binding=${binding}`));
    const gen = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        MAIN,
        "generate",
        "-a",
        endpoint,
        "--connect",
        "--array",
        "--count",
        String(N),
        "-s",
        String((ELEMENTS * 4) / 2 ** 20),
        // What is still queued at the end may take longer than mflow's 1 s to go out on a busy machine.
        "--linger",
        "3000",
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(gen.code, 0, new TextDecoder().decode(gen.stderr));
    const written = `telebus_output_records_total{output="file",type="mpack_file"}`;
    const genLine = new TextDecoder().decode(gen.stderr).trim();
    await until(`${N} records written`, async () => await daemon.metric(written) >= N, 20_000).catch(async (e) => {
      const m = (await daemon.get("/metrics")).text.split("\n").filter((l) => l.includes("zin") || l.includes("file"));
      throw new Error(`${e.message}\n${genLine}\n${m.join("\n")}\n${daemon.log}`);
    });
    assert.equal(await daemon.metric(`telebus_input_records_total{input="zin",type="zmq"}`), N);
    assert.equal(await daemon.metric(`telebus_input_errors_total{input="zin",type="zmq"}`), 0);
    assert.ok(await daemon.metric(`telebus_input_average_message_size_bytes{input="zin",type="zmq"}`) > 256);

    // Bad input: each counted and located, and the daemon still takes good messages.
    const push = new zmq.Push({ linger: 1000 });
    push.connect(endpoint);
    const enc = new TextEncoder();
    const hdr = enc.encode('{"htype": "array-1.0", "type": "uint32", "shape": [64]}');
    await push.send(enc.encode("{not json"));
    await push.send([enc.encode('{"htype": "dseries_end-1.0"}'), hdr]);
    await push.send([hdr, new Uint8Array(100)]);
    await push.send([hdr, new Uint8Array(100 * 1024 * 1024)]);
    await push.send([hdr, arrayBytes(arrayPattern("uint32", ELEMENTS, N))]);
    await until("the good message after bad ones", async () => await daemon.metric(written) >= N + 1, 10_000);
    push.close();
    assert.equal(await daemon.metric(`telebus_input_errors_total{input="zin",type="zmq"}`), 4);
    for (const kind of ["bad_header", "frame_count", "frame_size", "oversize"]) {
      assert.equal(await daemon.metric(`telebus_input_bad_${kind}_total{input="zin",type="zmq"}`), 1, kind);
    }
    assert.match(daemon.log, new RegExp(`bad message from ${endpoint.replace(/[.*]/g, "\\$&")}: .*max_message_size`));
    assert.equal(await daemon.stop(), 0);

    // The file: every message once, in order, data exact (a checksum over all data against the pattern).
    const records = decodeMsgpackMultiple(await Deno.readFile(out)) as Dict[];
    assert.equal(records.length, N + 1);
    const got = createHash("sha256"), want = createHash("sha256");
    records.forEach((r, k) => {
      const header = r.header as Dict;
      if (k < N) assert.equal(header.frame, k);
      const data = (r.data as Uint8Array[])[0];
      got.update(data);
      want.update(arrayBytes(arrayPattern("uint32", ELEMENTS, k)));
    });
    assert.equal(got.digest("hex"), want.digest("hex"));
  } finally {
    if (!daemon.log.includes("stopped")) await daemon.stop().catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
}
