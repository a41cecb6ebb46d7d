import assert from "node:assert/strict";
import { join } from "node:path";
import { openRecording, type RecordingProblem, type RecordingRecord } from "./recording.ts";
import { encodeMsgpack } from "./msgpack.ts";
import { secondsToNs } from "../core/record.ts";
import { concat } from "../testing/mod.ts";

const FIXTURES = new URL("../testdata/mpacklog/", import.meta.url);

async function all(path: string, options = {}): Promise<RecordingRecord[]> {
  const out: RecordingRecord[] = [];
  for await (const r of openRecording(path, options)) out.push(r);
  return out;
}

async function withFile(bytes: Uint8Array, fn: (path: string) => Promise<void>, name = "r.mpack"): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "recording_test_" });
  try {
    const path = join(dir, name);
    await Deno.writeFile(path, bytes);
    await fn(path);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("openRecording: mpacklog's own files, every record with its time, bytes and offset", async () => {
  for (const name of ["plain", "quirks", "binary"]) {
    const path = new URL(`${name}.mpack`, FIXTURES).pathname;
    const expected = (await Deno.readTextFile(new URL(`${name}.records.jsonl`, FIXTURES))).trim().split("\n");
    const got = await all(path, { stream: "s" });
    assert.equal(got.length, expected.length, name);
    const file = await Deno.readFile(path);
    let offset = 0;
    for (const [i, r] of got.entries()) {
      const want = JSON.parse(expected[i].replace(/\bNaN\b|-?Infinity\b/g, "null"));
      assert.equal(r.stream, "s");
      assert.equal(r.time, secondsToNs(want.time), `${name} record ${i}`);
      assert.equal(r.data.seq, want.seq);
      assert.equal(r.offset, offset);
      const same = new Uint8Array(r.msgpack!).every((b, j) => b === file[offset + j]);
      assert.ok(same, `${name} record ${i}: the recorded bytes`);
      offset += r.msgpack!.length;
    }
    assert.equal(offset, file.length, `${name}: every byte is a record`);
  }
});

Deno.test("openRecording: stream key, untimed records, whole-second times", async () => {
  const bytes = concat(
    encodeMsgpack({ seq: 0 }), // before any time: the first timed record's
    encodeMsgpack({ seq: 1, stream: "a", time: 1_700_000_001.5 }),
    encodeMsgpack({ seq: 2, stream: 7 }), // no time: the one before; stream not a string: the fallback
    encodeMsgpack({ seq: 3, stream: "b", t: 1_700_000_003 }),
  );
  await withFile(bytes, async (path) => {
    let got = await all(path, { streamKey: "stream" });
    assert.deepEqual(got.map((r) => r.stream), ["recording", "a", "recording", "b"]);
    assert.deepEqual(got.map((r) => r.time), [
      1_700_000_001_500_000_000n,
      1_700_000_001_500_000_000n,
      1_700_000_001_500_000_000n,
      1_700_000_001_500_000_000n,
    ]);
    got = await all(path, { timeKey: "t", stream: "x" });
    assert.deepEqual(got.map((r) => r.time), Array(4).fill(1_700_000_003_000_000_000n));
    assert.deepEqual(got.map((r) => r.stream), ["x", "x", "x", "x"]);
    got = await all(path, { timeKey: "none" });
    assert.deepEqual(got.map((r) => r.time), [0n, 0n, 0n, 0n], "no record has a time: the epoch");
  });
});

Deno.test("openRecording: garbage and a torn end are reported with file and offset; reading goes on", async () => {
  const a = encodeMsgpack({ time: 1, seq: 0 }).slice();
  const b = encodeMsgpack({ time: 2, seq: 1 }).slice();
  const torn = encodeMsgpack({ time: 3, seq: 2, pad: "x".repeat(40) }).slice(0, 20);
  await withFile(concat(a, Uint8Array.of(0xc1, 0xc1), b, torn), async (path) => {
    const problems: RecordingProblem[] = [];
    const got = await all(path, { onProblem: (p: RecordingProblem) => problems.push(p) });
    assert.deepEqual(got.map((r) => r.data.seq), [0, 1]);
    assert.deepEqual(problems.map((p) => [p.path, p.offset, p.length]), [
      [path, a.length, 2],
      [path, a.length + 2 + b.length, 20],
    ]);
    assert.ok(problems.every((p) => p.reason.length > 0));
  });
});

Deno.test("openRecording: an unknown extension throws at once; a missing file names itself", async () => {
  assert.throws(() => openRecording("run.csv"), /cannot read recording run\.csv: "\.csv" is no recording format/);
  assert.throws(() => openRecording("run"), /no extension \(known: \.mpack, \.mcap\)/);
  await withFile(encodeMsgpack({ time: 1 }), async (path) => {
    assert.equal((await all(path)).length, 1, "the extension is matched case-blind");
  }, "R.MPACK");
  await assert.rejects(all("/nonexistent/r.mpack"), /cannot open recording \/nonexistent\/r\.mpack: /);
});
