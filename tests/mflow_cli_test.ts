import assert from "node:assert/strict";
import { join } from "node:path";
import * as zmq from "npm:zeromq@^6.5.0";
import { MflowDecoder } from "../codecs/mflow.ts";
import { encodeMsgpack } from "../codecs/msgpack.ts";
import { ZmqInput } from "../transports/zmq/input.ts";
import { zmqInputSchema } from "../transports/zmq/schema.ts";
import { receiveMessage } from "../net/zmq.ts";
import { fixtureMessages, MFLOW_FIXTURES, TestInputContext } from "../transports/zmq/test_helpers.ts";
import { recordCommand } from "../cli/record.ts";
import { replayCommand } from "../cli/replay.ts";
import { bytesEqual, concat, tornLog, until } from "../testing/mod.ts";
import { generateCommand } from "../cli/generate.ts";
import { splitCommand } from "../cli/split.ts";
import { statsCommand } from "../cli/stats.ts";

const enc = new TextEncoder();

async function boundPush(): Promise<zmq.Push> {
  const s = new zmq.Push({ linger: 0 });
  await s.bind("tcp://127.0.0.1:*");
  return s;
}

async function boundPull(): Promise<zmq.Pull> {
  const s = new zmq.Pull({ linger: 0 });
  await s.bind("tcp://127.0.0.1:*");
  return s;
}

/** Receives `n` messages (3 s at most). */
async function receiveN(sock: zmq.Pull, n: number): Promise<Uint8Array[][]> {
  const out: Uint8Array[][] = [];
  const timer = setTimeout(() => sock.close(), 3000);
  try {
    while (out.length < n) {
      const m = await receiveMessage(sock);
      if (!m) throw new Error(`received ${out.length} of ${n}`);
      out.push(m.map((b) => new Uint8Array(b)));
    }
  } finally {
    clearTimeout(timer);
  }
  return out;
}

/** Starts a zmq input bound to a free port. */
async function input(format = "mflow") {
  const c = zmqInputSchema.safeParse({ address: "tcp://127.0.0.1:*", conn_type: "bind", format });
  if (!c.success) throw new Error("bad config");
  const inp = new ZmqInput(c.data);
  const [endpoint] = await inp.open();
  const t = new TestInputContext();
  const running = inp.run(t.ctx);
  return { t, endpoint, stop: async () => (t.ac.abort(), await running) };
}

async function listDir(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  return names.sort();
}

Deno.test("record: the original's messages give m_dump's folder, byte for byte", async () => {
  const push = await boundPush();
  const dir = await Deno.makeTempDir({ prefix: "mflow_record_" });
  try {
    const msgs = fixtureMessages();
    const rec = recordCommand([push.lastEndpoint!, dir, "--count", String(msgs.length), "-q"]);
    for (const m of msgs) await push.send(m.frames);
    assert.equal(await rec, 0);
    const want = await listDir(MFLOW_FIXTURES + "dump");
    assert.deepEqual(await listDir(dir), want);
    for (const name of want) {
      const a = await Deno.readFile(join(dir, name));
      const b = await Deno.readFile(join(MFLOW_FIXTURES, "dump", name));
      assert.ok(bytesEqual(a, b), name);
    }
  } finally {
    push.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("record -s N keeps the first N parts", async () => {
  const push = await boundPush();
  const dir = await Deno.makeTempDir({ prefix: "mflow_record_" });
  try {
    const rec = recordCommand([push.lastEndpoint!, dir, "--count", "1", "-s", "2", "-q"]);
    await push.send([enc.encode("a"), enc.encode("b"), enc.encode("c")]);
    assert.equal(await rec, 0);
    assert.deepEqual(await listDir(dir), ["000000_000.raw", "000000_001.raw"]);
  } finally {
    push.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("replay: the original's m_dump folder is received intact by a zmq input", async () => {
  const { t, endpoint, stop } = await input();
  try {
    const code = await replayCommand([MFLOW_FIXTURES + "dump", "-a", endpoint, "--connect", "-q", "--linger", "100"]);
    assert.equal(code, 0);
    const msgs = fixtureMessages();
    await until("15 records", () => t.records.length === msgs.length);
    const dec = new MflowDecoder();
    t.records.forEach((r, i) => {
      assert.deepEqual(r.data, dec.decode(msgs[i].frames).data);
      const frames = r.meta!.frames as Uint8Array[];
      assert.equal(frames.length, msgs[i].frames.length);
      frames.forEach((f, j) => assert.ok(bytesEqual(f, msgs[i].frames[j])));
    });
    assert.equal(t.stats.errors, 0);
  } finally {
    await stop();
  }
});

Deno.test("replay: a .mpack log at its own pace (--speed), received as msgpack records", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mflow_replay_" });
  const { t, endpoint, stop } = await input("msgpack");
  try {
    const log = join(dir, "log.mpack");
    const recs = [0, 0.1, 0.2].map((dt, i) => ({ time: 1700000000 + dt, seq: i, v: "x" }));
    await Deno.writeFile(log, new Uint8Array(recs.flatMap((r) => [...encodeMsgpack(r)])));
    const t0 = performance.now();
    assert.equal(await replayCommand([log, "-a", endpoint, "--connect", "--speed", "2", "-q", "--linger", "100"]), 0);
    const took = performance.now() - t0;
    assert.ok(took >= 90 && took < 1500, `took ${took} ms, expected about 100`);
    await until("3 records", () => t.records.length === 3);
    assert.deepEqual(t.records.map((r) => r.data), recs);
  } finally {
    await stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("replay: a .mpack log with a torn record sends the records written after the tear too", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mflow_replay_torn_" });
  const { t, endpoint, stop } = await input("msgpack");
  try {
    const log = join(dir, "torn.mpack");
    const torn = tornLog({ records: 500 }); // ends inside the torn record's declared 1 MiB
    await Deno.writeFile(log, concat(torn.before, torn.torn, torn.after));
    assert.equal(await replayCommand([log, "-a", endpoint, "--connect", "-q", "--linger", "100"]), 0);
    await until("every record of the torn log", () => t.records.length === torn.seqs.length);
    assert.deepEqual(t.records.map((r) => r.data.seq), torn.seqs);
  } finally {
    await stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("generate: m_generate's raw-1.0 messages, and checkable array-1.0", async () => {
  const pull = await boundPull();
  try {
    const g = generateCommand(["-a", pull.lastEndpoint!, "--connect", "--count", "2", "-q", "--linger", "100"]);
    const got = await receiveN(pull, 2);
    assert.equal(await g, 0);
    assert.equal(
      new TextDecoder().decode(got[1][0]),
      '{"htype": "raw-1.0", "type": "int32", "shape": [1, 262144.0], "frame": 1}',
    );
    assert.equal(got[1][1].length, 1 << 20);
    assert.ok(got[1][1].every((b) => b === 0));
    const a = generateCommand([
      "-a",
      pull.lastEndpoint!,
      "--connect",
      "--count",
      "3",
      "-s",
      String(64 / 2 ** 20),
      "--array",
      "--dtype",
      ">u2",
      "-q",
      "--linger",
      "100",
    ]);
    const arrays = await receiveN(pull, 3);
    assert.equal(await a, 0);
    const dec = new MflowDecoder();
    const m = dec.decode(arrays[2]).data;
    assert.deepEqual(m.header, { htype: "array-1.0", type: ">u2", shape: [32], frame: 2 });
    assert.deepEqual(m.data, [Uint16Array.from({ length: 32 }, (_, j) => (2 * 7919 + j) & 0xffff)]);
  } finally {
    pull.close();
  }
});

Deno.test("stats: counts messages and bytes and prints m_stats' summary", async () => {
  const push = await boundPush();
  const lines: string[] = [];
  const log = console.log;
  console.log = (s: string) => lines.push(s);
  try {
    const s = statsCommand([push.lastEndpoint!, "--count", "20", "-i", "0.05"]);
    for (let i = 0; i < 21; i++) await push.send(i === 0 ? [new Uint8Array(0)] : [enc.encode("h"), new Uint8Array(99)]);
    assert.equal(await s, 0);
  } finally {
    console.log = log;
    push.close();
  }
  const text = lines.join("\n");
  assert.match(text, /_{60}\nStatistics:/);
  assert.match(text, /messages_received: +20\n/);
  assert.match(text, /total_bytes_received: 2000\n/);
  assert.match(text, /average_message_size: 100\.0 B/);
});

Deno.test("split: every frame of every Nth message goes to each stream (config with modulo)", async () => {
  const src = await boundPush();
  const all = await boundPull(), half = await boundPull();
  const dir = await Deno.makeTempDir({ prefix: "mflow_split_" });
  try {
    const cfg = join(dir, "split.json");
    await Deno.writeTextFile(
      cfg,
      JSON.stringify({
        source: { address: src.lastEndpoint, mode: "pull" },
        streams: [{ address: all.lastEndpoint, mode: "PUSH" }, { address: half.lastEndpoint, mode: "push", modulo: 2 }],
      }),
    );
    const run = splitCommand(["-c", cfg, "--count", "6"]);
    for (let i = 1; i <= 6; i++) await src.send([enc.encode(`h${i}`), enc.encode(`d${i}`)]);
    const [a, b] = await Promise.all([receiveN(all, 6), receiveN(half, 3)]);
    assert.equal(await run, 0);
    const text = (m: Uint8Array[][]) => m.map((fs) => fs.map((f) => new TextDecoder().decode(f)).join("+"));
    assert.deepEqual(text(a), ["h1+d1", "h2+d2", "h3+d3", "h4+d4", "h5+d5", "h6+d6"]);
    assert.deepEqual(text(b), ["h2+d2", "h4+d4", "h6+d6"]);
    // bad configs are usage errors
    await Deno.writeTextFile(cfg, JSON.stringify({ source: { address: "x", mode: "PUSH" }, streams: [] }));
    assert.equal(await splitCommand(["-c", cfg]), 2);
  } finally {
    all.close(), half.close(), src.close();
    await Deno.remove(dir, { recursive: true });
  }
});
