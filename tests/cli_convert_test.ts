/**
 * `telebus convert` between `.mpack` and `.mcap` on mpacklog's own logs (testdata/mpacklog), both ways: the maps
 * (every key and value, `seq` included) and the times come back identical; `dump` and `list` read the `.mcap`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { convertCommand } from "../cli/convert.ts";
import { MpackStreamReader } from "../codecs/mpack_stream.ts";
import { openIndexedMcap, readMcapRecords } from "../codecs/mcap_read.ts";
import { type Dict, secondsToNs, type Value } from "../core/record.ts";

const FIXTURES = new URL("../testdata/mpacklog/", import.meta.url).pathname;
const MAIN = new URL("../main.ts", import.meta.url).pathname;
const NAMES = ["plain", "quirks", "binary"] as const;

function mpackMaps(bytes: Uint8Array): Dict[] {
  const r = new MpackStreamReader();
  r.push(bytes);
  const out: Dict[] = [];
  for (let it = r.next() ?? r.finish(); it; it = r.next()) {
    assert.equal(it.kind, "record");
    if (it.kind === "record") out.push(it.value);
  }
  return out;
}

async function mcapRecords(path: string): Promise<{ stream: string; time: bigint; data: Dict; sequence: number }[]> {
  // The file must open indexed, and its statistics must count every message.
  const { reader, close } = await openIndexedMcap(path);
  const count = reader.statistics!.messageCount;
  close();
  const out = [];
  for await (const r of readMcapRecords(path)) {
    out.push({ stream: r.stream, time: r.time, data: r.data, sequence: r.sequence });
  }
  assert.equal(BigInt(out.length), count);
  return out;
}

/** What JSON keeps of a value: NaN and ±Infinity become null. */
function jsonKept(v: Value | undefined): Value | undefined {
  if (typeof v === "number") return Number.isFinite(v) ? v : null;
  if (Array.isArray(v)) return v.map((x) => jsonKept(x) as Value);
  if (v !== null && typeof v === "object" && !ArrayBuffer.isView(v) && !(v instanceof Date)) {
    return Object.fromEntries(Object.entries(v as Dict).map(([k, x]) => [k, jsonKept(x)])) as Dict;
  }
  return v;
}

/** The value with -0 as 0. */
function noNegZero(v: Value | undefined): Value | undefined {
  if (Object.is(v, -0)) return 0;
  if (Array.isArray(v)) return v.map((x) => noNegZero(x) as Value);
  if (v !== null && typeof v === "object" && !ArrayBuffer.isView(v) && !(v instanceof Date)) {
    return Object.fromEntries(Object.entries(v as Dict).map(([k, x]) => [k, noNegZero(x)])) as Dict;
  }
  return v;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

async function convert(...args: string[]): Promise<void> {
  assert.equal(await convertCommand(args), 0, args.join(" "));
}

for (const name of NAMES) {
  for (const encoding of ["msgpack", "json"] as const) {
    Deno.test(`convert ${name} (${encoding}): .mpack → .mcap → .mpack → .mcap keeps maps and times`, async () => {
      const dir = await Deno.makeTempDir({ prefix: "telebus-convert-" });
      try {
        const src = FIXTURES + name + ".mpack";
        const original = await Deno.readFile(src);
        const maps = mpackMaps(original);
        const a = join(dir, "a.mcap"), back = join(dir, "back.mpack"), b = join(dir, "b.mcap");
        await convert(src, a, "--encoding", encoding);
        const first = await mcapRecords(a);
        const kept = encoding === "json" ? maps.map((m) => jsonKept(m) as Dict) : maps;
        assert.deepEqual(first.map((r) => r.data), kept);
        assert.deepEqual(first.map((r) => r.time), maps.map((m) => secondsToNs(m.time as number)));
        assert.deepEqual(first.map((r) => r.sequence), maps.map((_, i) => i));
        assert.ok(first.every((r) => r.stream === name));

        await convert(a, back);
        const roundTripped = await Deno.readFile(back);
        // MessagePack messages are the log's own bytes: the log comes back byte for byte.
        if (encoding === "msgpack") assert.ok(equalBytes(roundTripped, original), "byte for byte");
        // Re-encoded maps: MessagePack writes -0.0 as the integer 0 (codecs/msgpack.ts, as mpack_file does).
        assert.deepEqual(mpackMaps(roundTripped), encoding === "json" ? kept.map((m) => noNegZero(m) as Dict) : kept);

        await convert(back, b, "--encoding", encoding, "--stream", name);
        const want = encoding === "json" ? first.map((r) => ({ ...r, data: noNegZero(r.data) as Dict })) : first;
        assert.deepEqual(await mcapRecords(b), want);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    });
  }
}

Deno.test("convert --streams keeps only the selected streams; --stream-key writes and reads the stream", async () => {
  const dir = await Deno.makeTempDir({ prefix: "telebus-convert-" });
  try {
    // Two streams in one .mcap: from two logs under a stream key, through .mpack.
    const both = join(dir, "both.mpack");
    const plain = await Deno.readFile(FIXTURES + "plain.mpack");
    await Deno.writeFile(both, plain);
    await convert(both, join(dir, "x.mcap"), "--stream", "robot/x");
    await convert(join(dir, "x.mcap"), join(dir, "x.mpack"), "--stream-key", "topic");
    const tagged = mpackMaps(await Deno.readFile(join(dir, "x.mpack")));
    assert.ok(tagged.every((m) => m.topic === "robot/x" && Object.keys(m)[0] === "topic"));
    await convert(join(dir, "x.mpack"), join(dir, "y.mcap"), "--stream-key", "topic", "--streams", "robot/*");
    assert.equal((await mcapRecords(join(dir, "y.mcap"))).length, tagged.length);
    await convert(join(dir, "x.mpack"), join(dir, "z.mcap"), "--stream-key", "topic", "--streams", "other/*");
    assert.equal((await mcapRecords(join(dir, "z.mcap"))).length, 0);
    // OUT exists: refused without --force.
    assert.equal(await convertCommand([both, join(dir, "x.mcap")]), 1);
    assert.equal(await convertCommand([both, join(dir, "x.txt")]), 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

async function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), { args: ["run", "-A", MAIN, ...args], stdin: "null" }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("dump and list print an .mcap as they print the .mpack it came from", async () => {
  const dir = await Deno.makeTempDir({ prefix: "telebus-convert-" });
  try {
    for (const name of NAMES) {
      const src = FIXTURES + name + ".mpack", mcap = join(dir, name + ".mcap");
      await convert(src, mcap);
      for (const cmd of [["dump"], ["list"], ["dump", "--format", "csv", "seq", "time"]]) {
        const want = await run(cmd[0], src, ...cmd.slice(1));
        const got = await run(cmd[0], mcap, ...cmd.slice(1));
        assert.equal(got.code, 0, got.stderr);
        assert.ok(got.stdout.length > 0);
        assert.equal(got.stdout, want.stdout, `${cmd.join(" ")} ${name}`);
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
