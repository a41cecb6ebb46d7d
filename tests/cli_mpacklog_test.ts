/**
 * The `dump` and `list` commands against the outputs of mpacklog itself
 * (shared fixtures), run as subprocesses through main.ts.
 */
import assert from "node:assert/strict";
import { encodeMsgpack } from "../codecs/msgpack.ts";
import type { Dict } from "../core/record.ts";
import { csvCell } from "../cli/dump.ts";
import { compareCodePoints } from "../cli/list.ts";
import { concat, letTimePass, tornLog, withTimeout } from "../testing/mod.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const FIXTURES = new URL("../testdata/mpacklog/", import.meta.url).pathname;
const NAMES = ["plain", "quirks", "binary"] as const;

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(...args: string[]): Promise<RunResult> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/**
 * Parses one line of mpacklog's "JSON": bare NaN, Infinity and -Infinity
 * outside strings become null (what we print instead).
 */
function parseLoose(line: string): unknown {
  let fixed = "";
  let inString = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (inString) {
      fixed += ch;
      if (ch === "\\") fixed += line[++i];
      else if (ch === '"') inString = false;
    } else if (ch === '"') {
      inString = true;
      fixed += ch;
    } else if (line.startsWith("NaN", i)) {
      fixed += "null", i += 2;
    } else if (line.startsWith("-Infinity", i)) {
      fixed += "null", i += 8;
    } else if (line.startsWith("Infinity", i)) {
      fixed += "null", i += 7;
    } else fixed += ch;
  }
  return JSON.parse(fixed);
}

function lines(text: string): string[] {
  const ls = text.split("\n");
  assert.equal(ls.pop(), "", "output ends with a newline");
  return ls;
}

async function tempFile(records: (Dict | Uint8Array)[]): Promise<string> {
  const path = await Deno.makeTempFile({ suffix: ".mpack" });
  await Deno.writeFile(path, concat(...records.map((r) => r instanceof Uint8Array ? r : encodeMsgpack(r))));
  return path;
}

/** The two records of the spec's example (originals.md §1.3). */
const SPEC_RECORDS: Dict[] = [
  { time: 1.0, foo: { bar: 1, cbs: [1.5, NaN] }, s: "é" },
  { time: 2.0, foo: { bar: 2, cbs: [2.5, 3] }, x: { y: { z: false } }, nan: NaN },
];

for (const name of NAMES) {
  Deno.test(`list ${name}: byte for byte as mpacklog`, async () => {
    const r = await run("list", FIXTURES + name + ".mpack");
    assert.equal(r.stderr, "");
    assert.equal(r.code, 0);
    assert.equal(r.stdout, await Deno.readTextFile(FIXTURES + name + ".list.txt"));
  });
}

for (const name of ["plain", "quirks"] as const) {
  Deno.test(`dump ${name}: same values as mpacklog, NaN and Infinity as null`, async () => {
    const r = await run("dump", FIXTURES + name + ".mpack");
    assert.equal(r.stderr, "");
    assert.equal(r.code, 0);
    const got = lines(r.stdout);
    const want = lines(await Deno.readTextFile(FIXTURES + name + ".dump.ndjson"));
    assert.equal(got.length, want.length);
    for (let i = 0; i < got.length; i++) {
      assert.ok(/^[\x20-\x7e]*$/.test(got[i]), "ensure_ascii: printable ASCII only");
      assert.deepEqual(JSON.parse(got[i]), parseLoose(want[i]), `line ${i + 1}`);
      // JSON.parse rounds both sides alike: check the exact digits in the text.
      assert.ok(got[i].includes('"u64_max": 18446744073709551615,'), `u64_max exact on line ${i + 1}`);
      assert.ok(got[i].includes('"i64_min": -9223372036854775808,'), `i64_min exact on line ${i + 1}`);
    }
  });
}

Deno.test("dump binary: bytes as {$bin} (mpacklog crashed), values as in records.jsonl", async () => {
  const r = await run("dump", FIXTURES + "binary.mpack");
  assert.equal(r.stderr, "");
  assert.equal(r.code, 0);
  const got = lines(r.stdout);
  const want = lines(await Deno.readTextFile(FIXTURES + "binary.records.jsonl"));
  assert.equal(got.length, want.length);
  for (let i = 0; i < got.length; i++) assert.deepEqual(JSON.parse(got[i]), JSON.parse(want[i]), `line ${i + 1}`);
  assert.ok(got[0].includes('"blob": {"$bin": "AAECAwQ="}'));
});

Deno.test("dump: the spec's example, exact text", async () => {
  const path = await tempFile(SPEC_RECORDS);
  try {
    const r = await run("dump", path);
    assert.equal(r.code, 0);
    assert.equal(
      r.stdout,
      '{"time": 1, "foo": {"bar": 1, "cbs": [1.5, null]}, "s": "\\u00e9"}\n' +
        '{"time": 2, "foo": {"bar": 2, "cbs": [2.5, 3]}, "x": {"y": {"z": false}}, "nan": null}\n',
    );
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("dump FIELDS: nested as in the record, missing fields left out and counted", async () => {
  const path = await tempFile(SPEC_RECORDS);
  try {
    // FIELDS after --format are accepted (mpacklog's argparse refuses them).
    const r = await run("dump", path, "--format", "json", "foo/bar", "x/y/z", "foo/cbs/1", "nope");
    assert.equal(r.code, 0);
    assert.equal(
      r.stdout,
      '{"foo": {"bar": 1, "cbs": {"1": null}}}\n' +
        '{"foo": {"bar": 2, "cbs": {"1": 3}}, "x": {"y": {"z": false}}}\n',
    );
    assert.equal(r.stderr, "1 records lacked field 'x/y/z'\n2 records lacked field 'nope'\n");
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("dump FIELDS: a whole map and a path inside it", async () => {
  const path = await tempFile([{ a: { b: 1, c: 2 }, d: 3 }]);
  try {
    const r = await run("dump", path, "a/b", "a", "a/c");
    assert.equal(r.stdout, '{"a": {"b": 1, "c": 2}}\n');
    assert.equal(r.stderr, "");
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("dump --format csv: the spec's example, missing as an empty cell", async () => {
  const path = await tempFile(SPEC_RECORDS);
  try {
    const r = await run("dump", path, "foo/bar", "foo/cbs/1", "x/y/z", "--format", "csv");
    assert.equal(r.code, 0);
    // mpacklog printed 1.0/2.0 for time (JS cannot tell 1.0 from 1) and 0 for the missing x/y/z.
    assert.equal(r.stdout, "time,foo/bar,foo/cbs/1,x/y/z\n1,1,nan,\n2,2,3,0\n");
    assert.equal(r.stderr, "1 records lacked field 'x/y/z'\n");
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("dump --format csv: time moved to the front, quoting, Python str()", async () => {
  const path = await tempFile([{ time: 0.5, s: 'a,"b"', l: [1, true, null, "x"], t: true, n: null, i: -Infinity }]);
  try {
    const r = await run("dump", path, "--format=csv", "s", "time", "l", "t", "n", "i");
    assert.equal(r.code, 0);
    assert.equal(r.stdout, 'time,s,l,t,n,i\n0.5,"a,""b""","[1, True, None, \'x\']",1,None,-inf\n');
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("dump --format csv without FIELDS is a usage error", async () => {
  const r = await run("dump", FIXTURES + "plain.mpack", "--format", "csv");
  assert.equal(r.code, 2);
  assert.equal(r.stdout, "");
  assert.match(r.stderr, /FIELDS is required/);
});

Deno.test("dump: bad arguments exit 2 with usage; --help exits 0", async () => {
  for (const args of [["dump"], ["dump", "x.mpack", "--format", "xml"], ["dump", "x.mpack", "--bogus"], ["list"]]) {
    const r = await run(...args);
    assert.equal(r.code, 2, args.join(" "));
    assert.match(r.stderr, /usage:/);
  }
  const h = await run("dump", "--help");
  assert.equal(h.code, 0);
  assert.match(h.stdout, /usage: telebus dump FILE/);
});

Deno.test("dump: a missing file exits 1 with a clear message", async () => {
  const r = await run("dump", "/nonexistent/log.mpack");
  assert.equal(r.code, 1);
  assert.equal(r.stdout, "");
  assert.match(r.stderr, /cannot open '\/nonexistent\/log\.mpack'/);
  const l = await run("list", "/nonexistent/log.mpack");
  assert.equal(l.code, 1);
  assert.match(l.stderr, /cannot open/);
});

Deno.test("dump: garbage is skipped with a located warning, good records still printed", async () => {
  const first = encodeMsgpack({ a: 1 });
  const junk = new Uint8Array([0xc1, 0xc1, 0x6a, 0x75, 0x6e, 0x6b]);
  const second = encodeMsgpack({ a: 2 });
  const path = await tempFile([first, junk, second, encodeMsgpack({ a: 3 }).subarray(0, 3)]);
  try {
    const r = await run("dump", path);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, '{"a": 1}\n{"a": 2}\n');
    const warnings = lines(r.stderr);
    assert.equal(warnings.length, 2, r.stderr);
    assert.match(warnings[0], new RegExp(`^${path}:${first.length}: skipped ${junk.length} bytes \\(.+\\)$`));
    // The torn last record is reported too.
    assert.match(
      warnings[1],
      new RegExp(`^${path}:${first.length + junk.length + second.length}: skipped 3 bytes \\(.+\\)$`),
    );
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("dump and list: records after a crashed writer's torn record are all read", async () => {
  // The case: 100 bytes of a record with a 1 MiB binary field, then 20,000 records by a new writer.
  // Before, dump printed 5,016 lines (14,987 records lost, one bogus).
  const log = tornLog();
  const path = await tempFile([log.before, log.torn, log.after]);
  try {
    const r = await run("dump", path);
    assert.equal(r.code, 0);
    const printed = lines(r.stdout).map((l) => JSON.parse(l).seq);
    assert.deepEqual(printed, log.seqs);
    assert.equal(
      r.stderr,
      `${path}:${log.before.length}: skipped ${log.torn.length} bytes (torn record: its declared length runs over ` +
        `records that start at offset ${log.before.length + log.torn.length})\n`,
    );
    const l = await run("list", path);
    assert.equal(l.code, 0);
    assert.equal(l.stdout, "- name\n- ok\n- seq\n- time\n- value\n\n");
    assert.match(l.stderr, new RegExp(`^${path}:${log.before.length}: skipped ${log.torn.length} bytes \\(torn`));

    // Fewer records than the torn field's declared length: the end of the file comes first.
    const short = tornLog({ records: 5000 });
    await Deno.writeFile(path, concat(short.before, short.torn, short.after));
    const s = await run("dump", path, "seq");
    assert.deepEqual(lines(s.stdout).map((line) => JSON.parse(line).seq), short.seqs);
    assert.equal(s.stderr, `${path}:${short.before.length}: skipped 100 bytes (torn record at end of data)\n`);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("dump and list: a directory reads its newest .mpack file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/old.mpack`, encodeMsgpack({ old: 1 }));
    await Deno.writeFile(`${dir}/new.mpack`, encodeMsgpack({ new: 1 }));
    await Deno.utime(`${dir}/old.mpack`, 1_000_000, 1_000_000);
    const r = await run("dump", dir);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, '{"new": 1}\n');
    assert.equal((await run("list", dir)).stdout, "- new\n\n");
    const empty = await Deno.makeTempDir({ dir });
    const e = await run("dump", empty);
    assert.equal(e.code, 1);
    assert.match(e.stderr, /no \*\.mpack file/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("dump: a closed stdout (EPIPE) ends quietly", async () => {
  const records: Dict[] = [];
  for (let i = 0; i < 20000; i++) records.push({ seq: i, payload: "x".repeat(100) });
  const path = await tempFile(records);
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", MAIN, "dump", path],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stderr = new Response(child.stderr).text();
    const reader = child.stdout.getReader();
    await reader.read();
    await reader.cancel(); // like `| head -1`
    const status = await child.status;
    assert.equal(await stderr, "");
    assert.equal(status.code, 0);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("dump -f: prints appended records, exits 0 on SIGTERM", async () => {
  const path = await tempFile([{ n: 1 }]);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "dump", "-f", path],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const readLines = async (n: number) => {
    while (text.split("\n").length - 1 < n) {
      const { value, done } = await withTimeout(() => `${n} lines, got ${JSON.stringify(text)}`, reader.read(), 15_000);
      if (done) break;
      text += value;
    }
  };
  try {
    await readLines(1);
    assert.equal(text, '{"n": 1}\n');
    const f = await Deno.open(path, { append: true });
    await f.write(encodeMsgpack({ n: 2 }));
    const torn = encodeMsgpack({ n: 3 });
    await f.write(torn.subarray(0, 2)); // a record written in two pieces is not garbage
    await letTimePass(300); // on purpose: several of the reader's polls see the torn piece, which it must hold back
    await f.write(torn.subarray(2));
    f.close();
    await readLines(3);
    assert.equal(text, '{"n": 1}\n{"n": 2}\n{"n": 3}\n');
    child.kill("SIGTERM");
    const status = await withTimeout("the exit after SIGTERM", child.status);
    assert.equal(status.code, 0);
    assert.equal(await stderr, "");
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // already ended
    }
    await reader.cancel().catch(() => {});
    await Deno.remove(path);
  }
});

Deno.test("csvCell: Python str() rules and RFC 4180 quoting", () => {
  assert.equal(csvCell(undefined), "");
  assert.equal(csvCell(true), "1");
  assert.equal(csvCell(false), "0");
  assert.equal(csvCell(NaN), "nan");
  assert.equal(csvCell(Infinity), "inf");
  assert.equal(csvCell(1e-5), "1e-05");
  assert.equal(csvCell(2n ** 64n - 1n), "18446744073709551615");
  assert.equal(csvCell("plain"), "plain");
  assert.equal(csvCell("two\nlines"), '"two\nlines"');
  assert.equal(csvCell({ a: [1.5, NaN], "it's": "x" }), '"{\'a\': [1.5, nan], ""it\'s"": \'x\'}"');
  // Python's repr of these bytes is b"\x00A'"; its double quotes need CSV quoting.
  assert.equal(csvCell(new Uint8Array([0, 0x41, 0x27])), '"b""\\x00A\'"""');
});

Deno.test("compareCodePoints: Python's order, not UTF-16's", () => {
  const keys = ["\uffff", "🔑", "a", "\ue000", "é"];
  assert.deepEqual([...keys].sort(compareCodePoints), ["a", "é", "\ue000", "\uffff", "🔑"]);
  assert.deepEqual([...keys].sort(), ["a", "é", "🔑", "\ue000", "\uffff"]);
});
