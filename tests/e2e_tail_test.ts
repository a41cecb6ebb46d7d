/**
 * End to end: a writer appends to a `.mpack` log at a high rate, with torn
 * writes, a garbage block and a rotation, while the daemon (a subprocess)
 * tails it into a `mpack_file` output; the daemon is stopped with SIGTERM and
 * restarted with `from = "checkpoint"` while the writer goes on. Every good
 * record must arrive exactly once, in order.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { encodeMsgpack } from "../codecs/msgpack.ts";
import { type MpackStreamItem, MpackStreamReader } from "../codecs/mpack_stream.ts";
import { DaemonProcess, letTimePass, prng, until } from "../testing/mod.ts";

const TOTAL = 6000;
const GARBAGE_AT = 1000;
const ROTATE_AT = 2000;
const STOP_AFTER = 2500;

/** Bytes that never start a record: 0xc1, an empty map, a map with a non-string key, arrays, ints. */
const GARBAGE = new Uint8Array(
  Array.from({ length: 20 }, () => [0xc1, 0x80, 0x81, 0x01, 0x02, 0xff, 0x00, 0x93, 0x01, 0x02, 0x03, 0xde, 0x00, 0x00])
    .flat(),
);

function record(i: number) {
  return encodeMsgpack({
    time: 1_700_000_000 + i / 1000,
    seq: i,
    imu: { accel: [i * 0.5, -i * 0.25, 9.81], ok: i % 2 === 0 },
    note: "x".repeat(i % 40),
  });
}

async function writeAll(f: Deno.FsFile, b: Uint8Array) {
  for (let o = 0; o < b.length;) o += await f.write(b.subarray(o));
}

/** Reads every record of the output files in name order. */
async function readOutput(dir: string): Promise<{ seqs: number[]; garbage: number }> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) if (e.name.endsWith(".mpack")) names.push(e.name);
  names.sort();
  const seqs: number[] = [];
  let garbage = 0;
  for (const n of names) {
    const r = new MpackStreamReader();
    r.push(await Deno.readFile(join(dir, n)));
    const take = (first: MpackStreamItem | undefined) => {
      for (let it = first; it; it = r.next()) {
        if (it.kind === "record") seqs.push(it.value.seq as number);
        else garbage++;
      }
    };
    take(r.next());
    take(r.finish()); // a torn end, and any records after it
  }
  return { seqs, garbage };
}

Deno.test("e2e: tail with torn writes, garbage and rotation; SIGTERM and restart from checkpoint; exactly once, in order", async () => {
  const dir = await Deno.makeTempDir({ prefix: "telebus-e2e-" });
  const src = join(dir, "robot.mpack");
  const outDir = join(dir, "out");
  const config = join(dir, "telemetry.toml");
  await Deno.writeTextFile(
    config,
    `
[daemon]
http = "127.0.0.1:0"
data_dir = "${join(dir, "data")}"

[[inputs.mpack_tail]]
name = "robot"
path = "${src}"
from = "checkpoint"
poll_interval = "5ms"

[[outputs.mpack_file]]
name = "copy"
path = "${outDir}/copy.mpack"
fsync = "every_batch"
`,
  );
  let f = await Deno.open(src, { write: true, create: true, append: true });
  let written = 0;
  let writerDone = false;
  const writer = (async () => {
    let i = 0;
    const rand = prng(7);
    while (i < TOTAL) {
      if (i === GARBAGE_AT) await writeAll(f, GARBAGE);
      if (i === ROTATE_AT) {
        f.close();
        await Deno.rename(src, src + ".1");
        f = await Deno.open(src, { write: true, create: true, append: true });
      }
      // A burst of up to 25 records, never crossing the next garbage or rotation point.
      let n = 1 + Math.floor(rand() * 25);
      for (const mark of [GARBAGE_AT, ROTATE_AT, TOTAL]) if (i < mark) n = Math.min(n, mark - i);
      const parts = Array.from({ length: n }, (_, k) => record(i + k));
      const buf = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
      let o = 0;
      for (const p of parts) buf.set(p, o), o += p.length;
      // A torn write: part of the burst, a pause, the rest.
      const cut = Math.floor(rand() * buf.length);
      await writeAll(f, buf.subarray(0, cut));
      await letTimePass(1 + rand() * 4); // a writer at work, not a synchronisation
      await writeAll(f, buf.subarray(cut));
      i += n;
      written = i;
    }
    f.close();
    writerDone = true;
  })();

  const a = await DaemonProcess.start(config);
  await until("records past the rotation", async () => {
    try {
      return (await readOutput(outDir)).seqs.length >= STOP_AFTER;
    } catch {
      return false;
    }
  }, 30_000);
  assert.equal((await a.get("/health")).status, 200);
  assert.ok(
    (await a.metric('telebus_input_garbage_bytes_total{input="robot"')) >= GARBAGE.length,
    "garbage bytes are counted",
  );
  assert.ok((await a.metric('telebus_input_errors_total{input="robot"')) >= 1, "garbage is counted as an error");
  assert.equal(await a.stop("SIGTERM"), 0, `first daemon exits 0:\n${a.log}`);
  assert.match(a.log, new RegExp(`${src.replace(/[.]/g, "\\.")}.*offset`), "the garbage warning names file and offset");
  assert.ok(written < TOTAL, "the writer is still writing while the daemon is down");

  const b = await DaemonProcess.start(config);
  await writer;
  assert.ok(writerDone);
  await until("every record", async () => (await readOutput(outDir)).seqs.length >= TOTAL, 30_000);
  assert.equal(await b.stop("SIGTERM"), 0, `second daemon exits 0:\n${b.log}`);

  const out = await readOutput(outDir);
  assert.equal(out.garbage, 0, "the output holds no garbage and no torn record");
  assert.equal(out.seqs.length, TOTAL, "no record lost or repeated");
  assert.deepEqual(out.seqs, Array.from({ length: TOTAL }, (_, i) => i), "every record once, in order");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("e2e: the shipped telemetry.toml runs, writes where it says, and stops cleanly on SIGINT", async () => {
  const dir = await Deno.makeTempDir({ prefix: "telebus-e2e-" });
  const d = await DaemonProcess.start(new URL("../telemetry.toml", import.meta.url).pathname, {
    TELEBUS_HTTP: "127.0.0.1:0",
    TELEBUS_DATA: dir,
  });
  const m = /writing.*?path=(\S+\.mpack)/.exec(d.log) ?? /(\S+\.mpack)/.exec(d.log);
  assert.ok(m, `the daemon says where it writes:\n${d.log}`);
  await until(
    "generated records",
    async () => (await d.metric('telebus_output_records_total{output="log"')) >= 20,
    10_000,
  );
  assert.equal((await d.get("/health")).status, 200);
  assert.equal(await d.stop("SIGINT"), 0);
  const r = await readOutput(join(dir, "logs"));
  assert.ok(r.seqs.length >= 20);
  assert.equal(r.garbage, 0);
  assert.deepEqual(r.seqs, Array.from({ length: r.seqs.length }, (_, i) => i));
  await Deno.remove(dir, { recursive: true });
});
