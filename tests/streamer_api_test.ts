/**
 * The streamer data API end to end: a daemon in-process with
 * `[[inputs.streamer]]` and `[[outputs.streamer]]` on the embedded store,
 * real Deno WebSocket and fetch clients on loopback.
 */
import assert from "node:assert/strict";
import { startDaemon } from "../start.ts";
import { createLogger } from "../core/log.ts";
import type { BusRecord } from "../core/record.ts";
import type { Daemon } from "../core/daemon.ts";
import { decodeMsgpack } from "../codecs/msgpack.ts";
import { letTimePass, RedisServer, testDaemon, until } from "../testing/mod.ts";

const quiet = createLogger("test", { level: "error", write() {} });
const enc = new TextEncoder();
const dec = new TextDecoder();
const ID = /^(\d+)-(\d+)$/;

/** A daemon with a streamer input and output; `store` keys (e.g. `redis_url`) go in both tables. */
async function daemonWith(input: Record<string, unknown> = {}, store: Record<string, unknown> = {}) {
  const t = await testDaemon({
    inputs: { streamer: [{ name: "push", ...store, ...input }] },
    outputs: { streamer: [{ name: "store", ...store }] },
  });
  return {
    daemon: t.daemon,
    host: t.url,
    emit: (stream: string, data: Record<string, unknown>) => t.emit(stream, data, 1_700_000_000_000_000_000n),
    stats: (name: string) => t.daemon.stats.find((s) => s.name === name)!,
    close: () => t.close(),
  };
}

/** Waits until the clock has passed `ms`: entries added from then on get ids after a `$` cursor taken at `ms`. */
async function clockPast(ms: number): Promise<void> {
  await until("the clock to pass the pull's start", () => Date.now() > ms);
}

/** A WebSocket client that queues what it receives. */
class Peer {
  readonly messages: (string | Uint8Array)[] = [];
  #wake?: () => void;
  closeEvent?: CloseEvent;
  readonly closed: Promise<CloseEvent>;

  private constructor(readonly ws: WebSocket) {
    ws.binaryType = "arraybuffer";
    ws.onmessage = (e) => {
      this.messages.push(typeof e.data === "string" ? e.data : new Uint8Array(e.data));
      this.#wake?.();
    };
    this.closed = new Promise((r) =>
      ws.addEventListener("close", (e) => {
        this.closeEvent = e;
        this.#wake?.();
        r(e);
      })
    );
  }

  static async open(url: string): Promise<Peer> {
    const p = new Peer(new WebSocket(url));
    await new Promise((r, j) => (p.ws.onopen = r, p.ws.onerror = j));
    return p;
  }

  async next(timeoutMs = 3000): Promise<string | Uint8Array> {
    const end = Date.now() + timeoutMs;
    while (this.messages.length === 0) {
      if (this.closeEvent) throw new Error(`closed ${this.closeEvent.code} ${this.closeEvent.reason}`);
      const left = end - Date.now();
      if (left <= 0) throw new Error("no message in time");
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.#wake = () => (clearTimeout(t), r());
      });
    }
    return this.messages.shift()!;
  }

  /** One pull iteration: header text then binary body. */
  async frame(): Promise<{ header: [string, string, number][]; body: string }> {
    const h = await this.next();
    assert.equal(typeof h, "string", "the header comes first as a text frame");
    const b = await this.next();
    assert.ok(b instanceof Uint8Array, "then the entries as one binary frame");
    return { header: JSON.parse(h as string), body: dec.decode(b as Uint8Array) };
  }

  push(header: unknown, body: string | Uint8Array): void {
    if (header !== undefined) this.ws.send(JSON.stringify(header));
    this.ws.send(typeof body === "string" ? enc.encode(body) : body);
  }

  async close(): Promise<void> {
    if (!this.closeEvent) this.ws.close();
    await this.closed;
  }
}

const idOf = (id: string) => {
  const m = ID.exec(id);
  assert.ok(m, `${id} is an ms-seq id`);
  return { ms: Number(m[1]), seq: Number(m[2]) };
};

/** The 4.6 pull transcripts on the store `store` selects (the embedded one, or Redis with `redis_url`). */
async function transcript46(store: Record<string, unknown>): Promise<void> {
  const d = await daemonWith({}, store);
  const live = await Peer.open(`ws://${d.host}/data/cnt/pull`);
  await clockPast(Date.now()); // the pull's `$` cursor was taken before it opened
  const push = await Peer.open(`ws://${d.host}/data/cnt/push`);
  push.push([5], "hello");
  push.push([["cnt", 2], ["cnt", 5]], "abcde");
  const f1 = await live.frame(), f2 = await live.frame(), f3 = await live.frame();
  assert.deepEqual([f1.header[0][0], f1.header[0][2], f1.body], ["cnt", 5, "hello"]);
  assert.deepEqual([f2.header[0][0], f2.header[0][2], f2.body], ["cnt", 2, "ab"]);
  assert.deepEqual([f3.header[0][0], f3.header[0][2], f3.body], ["cnt", 3, "cde"]);
  const [i1, i2, i3] = [f1, f2, f3].map((f) => f.header[0][1]);
  assert.equal(idOf(i1).seq, 0);
  assert.equal(idOf(i2).seq, 0);
  // Each entry's id comes from the clock when it is added (in Redis, and in the embedded store as in Redis): a frame's
  // entries share the millisecond (…978-0, …978-1, as in the spec's transcript) unless the clock ticked between them.
  assert.ok(idOf(i3).ms > idOf(i2).ms || idOf(i3).seq === 1, `${i3} follows ${i2}`);
  assert.ok(idOf(i2).ms >= idOf(i1).ms);

  const all = await Peer.open(`ws://${d.host}/data/cnt/pull?last_entry_id=0&count=5`);
  assert.deepEqual(await all.frame(), {
    header: [["cnt", i1, 5], ["cnt", i2, 7], ["cnt", i3, 10]],
    body: "helloabcde",
  });
  const latest = await Peer.open(`ws://${d.host}/data/cnt/pull?last_entry_id=0&count=2&latest=1`);
  assert.deepEqual(await latest.frame(), { header: [["cnt", i3, 3], ["cnt", i2, 5]], body: "cdeab" }, "newest first");
  const raw = await Peer.open(`ws://${d.host}/data/cnt/pull?header=0&last_entry_id=0`);
  assert.equal(dec.decode(await raw.next() as Uint8Array), "hello");
  assert.equal(dec.decode(await raw.next() as Uint8Array), "ab");
  for (const p of [live, push, all, latest, raw]) await p.close();
  await d.close();
}

Deno.test("streamer 4.6 transcripts: push [5]+hello and pairs+abcde; pull count=1, count=5, latest, header=0", () =>
  transcript46({}));

Deno.test("streamer 4.6 transcripts on Redis (redis_url): the same frames from a real redis-server", async () => {
  const redis = await RedisServer.start(false);
  try {
    await transcript46({ redis_url: redis.url });
  } finally {
    await redis.close();
  }
});

Deno.test("streamer push header forms: a+b end/start offsets, triples with explicit ids, header=0, ack ids", async () => {
  const d = await daemonWith();
  const push = await Peer.open(`ws://${d.host}/data/a+b/push?ack=1`);
  push.push([2, 5], "abcde");
  const ack1 = JSON.parse(await push.next() as string);
  assert.equal(ack1.length, 2);
  push.push([0, 1], "xyz");
  const ack2 = JSON.parse(await push.next() as string);
  push.push([["a", "9999999999999-1", 1], ["b", null, 3], ["c", "9999999999999-7", 4]], "PQRS");
  const ack3 = JSON.parse(await push.next() as string);
  assert.equal(ack3[0], "9999999999999-1");
  assert.equal(ack3[2], "9999999999999-7");
  assert.match(ack3[1], ID);
  const get = async (sid: string, q = "") => {
    const r = await fetch(`http://${d.host}/data/${sid}?last_entry_id=0&count=10${q}`);
    return { offsets: JSON.parse(r.headers.get("x-offsets")!), body: await r.text() };
  };
  assert.deepEqual(await get("a"), {
    offsets: [["a", ack1[0], 2], ["a", ack2[0], 3], ["a", "9999999999999-1", 4]],
    body: "abxP",
  });
  assert.deepEqual((await get("b")).body, "cdeyzQR");
  assert.deepEqual((await get("c")).offsets, [["c", "9999999999999-7", 1]]);
  const both = await Peer.open(`ws://${d.host}/data/a+b/pull?last_entry_id=0`);
  assert.deepEqual(await both.frame(), { header: [["a", ack1[0], 2], ["b", ack1[1], 5]], body: "abcde" });
  assert.deepEqual(
    await both.frame(),
    { header: [["a", ack2[0], 1], ["b", ack2[1], 3]], body: "xyz" },
    "per-stream cursors",
  );
  await both.close();
  const raw = await Peer.open(`ws://${d.host}/data/whole/push?header=0&ack=true`);
  raw.push(undefined, "[1,2] not a header");
  assert.match(JSON.parse(await raw.next() as string)[0], ID);
  assert.equal((await get("whole")).body, "[1,2] not a header");
  // device_id and prefix make the key; the pull strips the device unless asked to keep it
  const dev = await Peer.open(`ws://${d.host}/data/s/push?device_id=hl2&prefix=p.&ack=1`);
  dev.push([3], "dev");
  await dev.next();
  const r = await fetch(`http://${d.host}/data/s?device_id=hl2&prefix=p.&last_entry_id=0`);
  assert.equal(JSON.parse(r.headers.get("x-offsets")!)[0][0], "p.s");
  assert.equal(await r.text(), "dev");
  const any = await Peer.open(`ws://${d.host}/data/s/pull?device_id=*&prefix=p.&last_entry_id=0`);
  assert.deepEqual((await any.frame()).header[0][0], "hl2:p.s", "device kept with device_id=*");
  for (const p of [push, raw, dev, any]) await p.close();
  await d.close();
});

Deno.test("streamer GET: default reads the oldest (no 500), x-offsets, x-last-entry-id, latest, $, a+b", async () => {
  const d = await daemonWith();
  const push = await Peer.open(`ws://${d.host}/data/g+h/push?ack=1`);
  push.push([1, 3], "GHH");
  const [g1, h1] = JSON.parse(await push.next() as string);
  push.push([2, 3], "ggh");
  const [g2, h2] = JSON.parse(await push.next() as string);
  let r = await fetch(`http://${d.host}/data/g`);
  assert.equal(r.status, 200, "the original answered 500 here");
  assert.equal(r.headers.get("content-type"), "application/octet-stream");
  assert.equal(r.headers.get("x-offsets"), `[["g","${g1}",1]]`);
  assert.equal(r.headers.get("x-last-entry-id"), g1);
  assert.equal(await r.text(), "G");
  r = await fetch(`http://${d.host}/data/g/?last_entry_id=${g1}`);
  assert.equal(await r.text(), "gg", "the cursor continues; a trailing slash is accepted");
  assert.equal(r.headers.get("x-last-entry-id"), g2);
  r = await fetch(`http://${d.host}/data/g?last_entry_id=0&latest=1`);
  assert.equal(await r.text(), "gg", "latest gives the newest");
  r = await fetch(`http://${d.host}/data/g+h?last_entry_id=0&count=5`);
  assert.deepEqual(JSON.parse(r.headers.get("x-offsets")!), [["g", g1, 1], ["g", g2, 3], ["h", h1, 5], ["h", h2, 6]]);
  assert.equal(await r.text(), "GggHHh", "a+b works on GET");
  assert.equal(r.headers.get("x-last-entry-id"), h2 > g2 ? h2 : g2);
  assert.deepEqual(JSON.parse(r.headers.get("x-last-entry-ids")!), { g: g2, h: h2 });
  const t0 = Date.now();
  r = await fetch(`http://${d.host}/data/g?last_entry_id=$&block=100`);
  assert.ok(Date.now() - t0 >= 90, "$ blocks for new entries");
  assert.equal(await r.text(), "");
  assert.equal(r.headers.get("x-offsets"), "[]");
  assert.ok(Math.abs(idOf(r.headers.get("x-last-entry-id")!).ms - t0) < 1000, "the cursor is now");
  // a blocked GET is answered by a push
  const waiting = fetch(`http://${d.host}/data/g?last_entry_id=${g2}&block=1500`);
  // The push comes a little later, so that the GET is (most likely) waiting by then; it answers "n" either way.
  letTimePass(30).then(() => push.push([1, 1], "n"));
  r = await waiting;
  assert.equal(await r.text(), "n");
  r = await fetch(`http://${d.host}/data/g?count=zero`);
  assert.equal(r.status, 422);
  assert.match((await r.json()).error, /count="zero"/);
  await push.close();
  await d.close();
});

Deno.test("streamer POST: multipart entries, ids returned; * takes stream ids from file names", async () => {
  const d = await daemonWith();
  const form = new FormData();
  form.append("entries", new Blob(['{"x": 2}']), "one");
  form.append("entries", new Blob(['{"x": 3}']), "two");
  let r = await fetch(`http://${d.host}/data/zxcv?device_id=asdf`, { method: "POST", body: form });
  const ids = await r.json();
  assert.equal(ids.length, 2);
  ids.forEach((i: string) => assert.match(i, ID));
  r = await fetch(`http://${d.host}/data/zxcv?device_id=asdf&last_entry_id=0&count=9`);
  assert.equal(await r.text(), '{"x": 2}{"x": 3}');
  const star = new FormData();
  star.append("entries", new Blob(["A"]), "sa");
  star.append("entries", new Blob(["B"]), "sb");
  r = await fetch(`http://${d.host}/data/*`, { method: "POST", body: star });
  assert.equal((await r.json()).length, 2);
  assert.equal(await (await fetch(`http://${d.host}/data/sa?last_entry_id=0`)).text(), "A");
  assert.equal(await (await fetch(`http://${d.host}/data/sb?last_entry_id=0`)).text(), "B");
  r = await fetch(`http://${d.host}/data/x`, { method: "POST", body: "not multipart" });
  assert.equal(r.status, 400);
  assert.match((await r.json()).error, /multipart\/form-data/);
  await d.close();
});

Deno.test("streamer pull: blocking read woken by a push; timeout sends [] and an empty frame; ack; max_fps", async () => {
  const d = await daemonWith();
  const push = await Peer.open(`ws://${d.host}/data/w/push`);
  const idle = await Peer.open(`ws://${d.host}/data/w/pull?block=50`);
  assert.deepEqual(await idle.frame(), { header: [], body: "" }, "a blocking timeout still sends [] + empty");
  await idle.close();
  const blocked = await Peer.open(`ws://${d.host}/data/w/pull?block=5000`);
  await clockPast(Date.now()); // the pull's `$` cursor was taken before it opened
  const t0 = Date.now();
  push.push([4], "wake");
  assert.equal((await blocked.frame()).body, "wake");
  assert.ok(Date.now() - t0 < 1000, "woken by the push, not by the block timeout");
  await blocked.close();

  for (let i = 0; i < 4; i++) push.push([1], String(i));
  await until(
    "4 entries",
    async () => (await (await fetch(`http://${d.host}/data/w?last_entry_id=0&count=9`)).text()).length === 8,
  );
  const ack = await Peer.open(`ws://${d.host}/data/w/pull?last_entry_id=0&ack=1`);
  assert.equal((await ack.frame()).body, "wake");
  // The window is observed once a pull without ack on the same stream has had all five entries: the server
  // had the next entries ready and sent them there, so an acking pull that did not wait would have sent too.
  const unacked = await Peer.open(`ws://${d.host}/data/w/pull?last_entry_id=0`);
  for (const body of ["wake", "0", "1", "2", "3"]) assert.equal((await unacked.frame()).body, body);
  await unacked.close();
  assert.equal(ack.messages.length, 0, "nothing more before the client acknowledges");
  ack.ws.send("ok");
  assert.equal((await ack.frame()).body, "0");
  await ack.close();

  const fps = await Peer.open(`ws://${d.host}/data/w/pull?last_entry_id=0&max_fps=20`);
  const t1 = Date.now();
  for (let i = 0; i < 5; i++) await fps.frame();
  assert.ok(Date.now() - t1 >= 4 * 50 - 10, `5 sends at 20 fps take >= 200 ms (took ${Date.now() - t1})`);
  await fps.close();
  await push.close();
  await d.close();
});

Deno.test("streamer bad input: clear close reasons, counted, daemon keeps serving", async () => {
  const d = await daemonWith();
  const cases: [string, unknown, string, number, RegExp][] = [
    ["cnt", [], "x", 1008, /bad header: header is an empty list/],
    ["a+b", [3], "abc", 1008, /1 offsets for 2 stream/],
    ["cnt", [["cnt", 2]], "abc", 1008, /covers 2 bytes but the frame has 3/],
    ["cnt", [["cnt", "1-0", 1]], "a", 1008, /default:cnt: entry id 1-0 is equal or smaller/],
  ];
  const push0 = await Peer.open(`ws://${d.host}/data/cnt/push`);
  push0.push([1], "z");
  for (const [sid, header, body, code, reason] of cases) {
    await until("z", async () => (await (await fetch(`http://${d.host}/data/cnt?last_entry_id=0`)).text()) === "z");
    const p = await Peer.open(`ws://${d.host}/data/${sid}/push`);
    p.push(header, body);
    const e = await p.closed;
    assert.equal(e.code, code, `${JSON.stringify(header)}: code`);
    assert.match(e.reason, reason);
  }
  const noHeader = await Peer.open(`ws://${d.host}/data/cnt/push`);
  noHeader.ws.send(enc.encode("bytes first"));
  const e1 = await noHeader.closed;
  assert.equal(e1.code, 1003);
  assert.match(e1.reason, /expected a JSON header text frame/);
  const notJson = await Peer.open(`ws://${d.host}/data/cnt/push`);
  notJson.ws.send("{oops");
  assert.match((await notJson.closed).reason, /header is not JSON/);
  const badQuery = await Peer.open(`ws://${d.host}/data/cnt/pull?block=soon`);
  const e2 = await badQuery.closed;
  assert.equal(e2.code, 1008);
  assert.match(e2.reason, /block="soon"/);
  const stats = d.stats("push");
  assert.equal(stats.counters.get("bad_requests"), 7);
  assert.equal(stats.errors, 7);
  assert.match(
    await (await fetch(`http://${d.host}/metrics`)).text(),
    /telebus_input_bad_requests_total\{input="push",type="streamer"\} 7/,
  );
  // still serving, and the good entry is intact
  push0.push([1], "y");
  await until(
    "zy",
    async () => (await (await fetch(`http://${d.host}/data/cnt?last_entry_id=0&count=5`)).text()) === "zy",
  );
  await push0.close();
  await d.close();
});

Deno.test("streamer on the bus: another input's records are pulled; pushed entries reach other outputs", async () => {
  const d = await daemonWith({ decode: "json" });
  const seen: BusRecord[] = [];
  const unsubscribe = d.daemon.subscribe((rs) => void seen.push(...rs), { streams: ["default:*"] });
  const pull = await Peer.open(`ws://${d.host}/data/robot/imu/pull?last_entry_id=0`);
  await d.emit("robot/imu", { x: 1.5, n: 3 });
  const f = await pull.frame();
  assert.equal(f.header[0][0], "robot/imu");
  const back = decodeMsgpack(await (await fetch(`http://${d.host}/data/robot/imu?last_entry_id=0`)).bytes());
  assert.deepEqual(back, { x: 1.5, n: 3 }, "the record's data as one MessagePack map");

  const push = await Peer.open(`ws://${d.host}/data/cnt/push?ack=1`);
  push.push([8], '{"v": 7}');
  const [id] = JSON.parse(await push.next() as string);
  await until("the pushed entry on the bus", () => seen.length === 1);
  assert.equal(seen[0].stream, "default:cnt");
  assert.equal(seen[0].source, "push");
  assert.deepEqual(seen[0].data, { v: 7 });
  assert.equal(seen[0].meta?.entry_id, id);
  assert.equal(seen[0].time, BigInt(idOf(id).ms) * 1_000_000n);
  // The store's output has written both records (robot/imu and the pushed one) once it counts two.
  await until("the store's output to take both records", () => d.stats("store").records === 2);
  // Anywhere in the store, not only under the pushed key: a second copy would land under another key
  // (the record's stream already names the device), where a read of `cnt` alone does not look.
  const all = await fetch(`http://${d.host}/data/cnt?device_id=*&last_entry_id=0&count=9`);
  assert.deepEqual(
    JSON.parse(all.headers.get("x-offsets")!).map((o: unknown[]) => o[0]),
    ["default:cnt"],
    "the store's output does not append it again under any key",
  );
  assert.equal(d.stats("store").gauges.get("store_entries")!(), 2, "the store's output does not append it twice");
  assert.equal(d.stats("store").counters.get("own_entries_skipped"), 1);
  assert.equal(d.stats("push").records, 1);
  await unsubscribe();
  await pull.close();
  await push.close();
  await d.close();
});

Deno.test("streamer output alone with JSON entries; stopping the daemon closes open sockets (1001)", async () => {
  const dir = await Deno.makeTempDir();
  const daemon: Daemon = await startDaemon({
    config: {
      daemon: { http: "127.0.0.1:0", data_dir: dir, dashboard: false },
      inputs: { generator: [{ name: "gen", rate: 200, count: 3, streams: ["gen"] }] },
      outputs: { streamer: [{ format: "json", device_id: "lab", maxlen: 10 }] },
    },
  }, { log: quiet });
  const host = `127.0.0.1:${daemon.http.addr!.port}`;
  const r = await fetch(`http://${host}/data/gen?device_id=lab&last_entry_id=0&block=2000`);
  const entry = JSON.parse(await r.text());
  assert.equal(typeof entry, "object", "a JSON dictionary per record");
  const pull = await Peer.open(`ws://${host}/data/never/pull`);
  await daemon.stop();
  const e = await pull.closed;
  assert.equal(e.code, 1001);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("streamer README: the documented configuration starts and serves the API", async () => {
  const readme = await Deno.readTextFile(new URL("../transports/streamer/README.md", import.meta.url));
  const toml = /```toml\n([\s\S]*?)```/.exec(readme)![1];
  const dir = await Deno.makeTempDir();
  const daemon = await startDaemon({
    toml: `[daemon]\nhttp = "127.0.0.1:0"\ndashboard = false\ndata_dir = ${JSON.stringify(dir)}\n\n${toml}`,
  }, { log: quiet });
  const host = `127.0.0.1:${daemon.http.addr!.port}`;
  const push = await Peer.open(`ws://${host}/data/readme/push?ack=1`);
  push.push([2], "ok");
  assert.match(JSON.parse(await push.next() as string)[0], ID);
  assert.equal(await (await fetch(`http://${host}/data/readme`)).text(), "ok");
  await push.close();
  await daemon.stop();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("streamer config: tables sharing a store must agree; max_clients refuses extra sockets", async () => {
  const dir = await Deno.makeTempDir();
  const logged: string[] = [];
  const capture = createLogger("test", { level: "error", write: (line: string) => void logged.push(line) });
  const mismatched = await startDaemon({
    config: {
      daemon: { http: "127.0.0.1:0", data_dir: dir, dashboard: false },
      inputs: { streamer: [{ maxlen: 5 }] },
      outputs: { streamer: [{}] },
    },
  }, { log: capture });
  await until("the input to fail", () => mismatched.stats.find((s) => s.kind === "input")!.errors === 1);
  assert.match(logged.join("\n"), /streamer store \\?"default\\?" is configured twice with different maxlen/);
  await mismatched.stop();
  const daemon = await startDaemon({
    config: {
      daemon: { http: "127.0.0.1:0", data_dir: dir, dashboard: false },
      inputs: { streamer: [{ max_clients: 1 }] },
      outputs: { streamer: [{ max_clients: 1 }] },
    },
  }, { log: quiet });
  const host = `127.0.0.1:${daemon.http.addr!.port}`;
  const one = await Peer.open(`ws://${host}/data/x/pull?block=100`);
  await assert.rejects(Peer.open(`ws://${host}/data/x/pull`));
  assert.equal(daemon.stats.find((s) => s.kind === "input")!.counters.get("refused_clients"), 1);
  await one.close();
  await daemon.stop();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("streamer push: an entry that decodes to a record beyond the codecs' limits is refused before the bus", async () => {
  const d = await daemonWith({ decode: "json" });
  const seen: BusRecord[] = [];
  const unsubscribe = d.daemon.subscribe((rs) => void seen.push(...rs), { streams: ["default:*"] });
  const push = await Peer.open(`ws://${d.host}/data/cnt/push?ack=1`);
  const deep = `{"deep": ${"[".repeat(5000)}${"]".repeat(5000)}}`;
  for (const body of ['{"v": 1}', deep, '{"v": 2}']) {
    push.push([body.length], body);
    await push.next(); // the ack
  }
  await until("two records on the bus, one refused", () => seen.length === 2 && d.stats("push").rejectedTotal === 1);
  assert.deepEqual(seen.map((r) => r.data), [{ v: 1 }, { v: 2 }]);
  assert.deepEqual(Object.fromEntries(d.stats("push").rejected), { too_deep: 1 });
  await unsubscribe();
  await push.close();
  await d.close();
});
