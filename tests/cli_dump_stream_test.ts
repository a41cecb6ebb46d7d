/**
 * `dump` and `list` on the fast path (MessagePack written straight to JSON,
 * key paths walked in the bytes): byte for byte what decoding every record
 * and printing it with `toJson` gives (the implementation before the fast
 * path), garbage and torn records included; and memory that does not grow
 * with the size of the log.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { encodeMsgpack } from "../codecs/msgpack.ts";
import { MpackStreamReader } from "../codecs/mpack_stream.ts";
import { toJson } from "../codecs/json.ts";
import type { Dict } from "../core/record.ts";
import { collectNewPaths, compareCodePoints, newPathTree } from "../cli/list.ts";
import { telemetryDict } from "../transports/generator/input.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const FIXTURES = new URL("../testdata/mpacklog/", import.meta.url).pathname;
const MIB = 1024 * 1024;

/** What dump printed before the fast path: every record decoded and printed by toJson; garbage on stderr. */
function referenceDump(bytes: Uint8Array, path: string): { stdout: string; stderr: string[] } {
  const r = new MpackStreamReader();
  r.push(bytes);
  let stdout = "";
  const stderr: string[] = [];
  const take = (it: ReturnType<MpackStreamReader["next"]>) => {
    for (; it !== undefined; it = r.next()) {
      if (it.kind === "record") stdout += toJson(it.value, { style: "python" }) + "\n";
      else stderr.push(`${path}:${it.start}: skipped ${it.length} bytes (${it.reason})`);
    }
  };
  take(r.next());
  take(r.finish());
  return { stdout, stderr };
}

/** What list printed before the fast path. */
function referenceList(bytes: Uint8Array): string {
  const r = new MpackStreamReader();
  r.push(bytes);
  const tree = newPathTree();
  const seen = new Set<string>();
  let out = "";
  const take = (it: ReturnType<MpackStreamReader["next"]>) => {
    for (; it !== undefined; it = r.next()) {
      if (it.kind !== "record") continue;
      const fresh: string[] = [];
      collectNewPaths(it.value, tree, seen, fresh);
      if (fresh.length === 0) continue;
      fresh.sort(compareCodePoints);
      for (const p of fresh) out += "- " + p + "\n";
      out += "\n";
    }
  };
  take(r.next());
  take(r.finish());
  return out;
}

async function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) out.set(p, o), o += p.length;
  return out;
}

const str = (s: string) => {
  const b = new TextEncoder().encode(s);
  return [0xa0 | b.length, ...b];
};

/** Records of every value type, records only the decoder handles, garbage, and a torn record at the end. */
function mixedLog(): Uint8Array {
  const parts: Uint8Array[] = [];
  const f64 = (v: number) => {
    const b = new Uint8Array(9);
    b[0] = 0xcb;
    new DataView(b.buffer).setFloat64(1, v);
    return [...b];
  };
  for (let i = 0; i < 60; i++) {
    const d: Dict = {
      time: 1_700_000_000 + i / 7,
      seq: i,
      big: i % 2 ? 2n ** 64n - 1n : -(2n ** 63n),
      small: [1e-5 * i, 1e16 * (i + 1), 5e-324, -i / 3],
      text: ["plain", 'q"\\', "\x00\x1f\x7f", "é€𝄞", "\u2028"][i % 5],
      bytes: new Uint8Array(i % 6).fill(i),
      nested: { a: { b: [i, { c: null }] }, empty: {}, list: [] },
      flag: i % 3 === 0,
      ["k" + (i % 4)]: i, // a new key now and then, for list
      "unicode ключ": "ü",
    };
    parts.push(encodeMsgpack(d));
    if (i % 10 === 3) {
      // Records a JavaScript object would merge, reorder or rename, and Python's float64 forms.
      parts.push(new Uint8Array([0x83, ...str("a"), 1, ...str("b"), 2, ...str("a"), 3]));
      parts.push(new Uint8Array([0x82, ...str("z"), 1, ...str("7"), 2]));
      parts.push(new Uint8Array([0x81, ...str("__proto__"), 0x81, ...str("x"), 1]));
      parts.push(new Uint8Array([0x82, ...str("neg0"), ...f64(-0), ...str("one"), ...f64(1)]));
      parts.push(encodeMsgpack({ when: new Date(1_700_000_000_123 + i) } as Dict));
    }
    if (i === 25) parts.push(new TextEncoder().encode("this is not a record\n"));
  }
  const last = encodeMsgpack({ torn: "x".repeat(50) });
  parts.push(last.subarray(0, 20));
  return concat(parts);
}

Deno.test("dump and list: byte for byte as before the fast path, on every value type, garbage and torn records", async () => {
  const dir = await Deno.makeTempDir({ prefix: "telebus-dump-stream-" });
  try {
    const bytes = mixedLog();
    const path = join(dir, "mixed.mpack");
    await Deno.writeFile(path, bytes);
    const want = referenceDump(bytes, path);
    assert.ok(want.stderr.length >= 2, "the log has garbage and a torn record");
    const got = await run("dump", path);
    assert.equal(got.code, 0, got.stderr);
    assert.equal(got.stdout, want.stdout);
    assert.deepEqual(got.stderr.trimEnd().split("\n"), want.stderr);
    const list = await run("list", path);
    assert.equal(list.stdout, referenceList(bytes));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("dump and list: the originals' test logs print as before the fast path", async () => {
  for (const name of ["plain", "quirks", "binary"]) {
    const path = FIXTURES + name + ".mpack";
    const bytes = await Deno.readFile(path);
    const got = await run("dump", path);
    assert.equal(got.stdout, referenceDump(bytes, path).stdout, name);
    assert.equal((await run("list", path)).stdout, referenceList(bytes), name);
  }
});

/** Runs main.ts with `args`, hashing stdout; the peak resident memory (VmHWM) is read from /proc while it runs. */
async function peakOf(args: string[]): Promise<{ peakMiB: number; sha: string; lines: number }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  let peakKiB = 0;
  let running = true;
  const sample = async () => {
    while (running) {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(await Deno.readTextFile(`/proc/${child.pid}/status`));
        if (m) peakKiB = Math.max(peakKiB, Number(m[1]));
      } catch {
        return; // exited
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  const sampler = sample();
  const hash = createHash("sha256");
  let lines = 0;
  for await (const chunk of child.stdout) {
    hash.update(chunk);
    for (let i = 0; i < chunk.length; i++) if (chunk[i] === 10) lines++;
  }
  const status = await child.status;
  running = false;
  await sampler;
  assert.equal(status.code, 0);
  return { peakMiB: peakKiB / 1024, sha: hash.digest("hex"), lines };
}

Deno.test({
  name: "dump and list: memory does not grow with the log (a 128 MiB log), output as before the fast path",
  ignore: Deno.build.os !== "linux", // /proc
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "telebus-dump-big-" });
    try {
      const big = join(dir, "big.mpack");
      const small = join(dir, "small.mpack");
      // Telemetry records of about 440 B, as the benchmarks use; the reference is computed while writing.
      const f = await Deno.open(big, { write: true, create: true });
      const want = createHash("sha256");
      let random = 1;
      const rand = () => (random = (random * 16807) % 2147483647) / 2147483647;
      let size = 0;
      let n = 0;
      let smallBytes: Uint8Array | undefined;
      while (size < 128 * MIB) {
        const parts: Uint8Array[] = [];
        let text = "";
        for (let i = 0; i < 2000; i++, n++) {
          const d = telemetryDict(n, 1_700_000_000 + n / 1000, 30, rand);
          parts.push(encodeMsgpack(d));
          text += toJson(d, { style: "python" }) + "\n";
        }
        const chunk = concat(parts);
        smallBytes ??= chunk;
        want.update(text);
        for (let w = 0; w < chunk.length;) w += await f.write(chunk.subarray(w));
        size += chunk.length;
      }
      f.close();
      await Deno.writeFile(small, smallBytes!);

      const base = await peakOf(["dump", small]);
      const got = await peakOf(["dump", big]);
      assert.equal(got.lines, n);
      assert.equal(got.sha, want.digest("hex"), "the same text as toJson of every decoded record");
      // Before the fast path, a 82 MB log took 144 MiB and a 1 GB one 209 MiB: memory grew with the file.
      assert.ok(
        got.peakMiB - base.peakMiB < 16,
        `dump of ${(size / MIB).toFixed(0)} MiB peaked at ${got.peakMiB.toFixed(1)} MiB, ` +
          `${base.peakMiB.toFixed(1)} MiB for ${(smallBytes!.length / MIB).toFixed(1)} MiB`,
      );
      assert.ok(got.peakMiB < 96, `peak ${got.peakMiB.toFixed(1)} MiB`);
      const list = await peakOf(["list", big]);
      assert.ok(list.peakMiB - base.peakMiB < 16, `list peaked at ${list.peakMiB.toFixed(1)} MiB`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
