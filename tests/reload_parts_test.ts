/**
 * `Daemon.reload` in process: a failed reload puts every part it touched back
 * (records that arrived meanwhile included) and their HTTP routes; a changed
 * input with a checkpoint resumes where the old one stopped.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Daemon, type DaemonPlan, type OutputTable, type PartPlan } from "../core/daemon.ts";
import { createLogger } from "../core/log.ts";
import { makeRecord } from "../core/record.ts";
import type { InputContext, Output, TransportDefinition } from "../core/transport.ts";
import { validateConfig } from "../config/load.ts";
import * as v from "npm:valibot@^1.1.0";
import { outputCommon, table } from "../config/schema.ts";
import { transports } from "../transports/mod.ts";
import { decodeMsgpackMultiple, encodeMsgpack } from "../codecs/msgpack.ts";
import { freePort, letTimePass, makeTestCerts, until } from "../testing/mod.ts";

const quiet = createLogger("test", { level: "error", write() {} });

/** What the fake outputs wrote, by instance (`name/tag#n`), and which instances are closed. */
const written = new Map<string, number[]>();
const closed = new Set<string>();
let instances = 0;
/** A create of a table with `fail` waits for this, then throws "port in use". */
let failGate: Promise<void> = Promise.resolve();

const fake: TransportDefinition = {
  type: "fake",
  description: "test output",
  output: {
    schema: table(v.looseObject(outputCommon)),
    permissions: () => {},
    create: (async (
      config: { tag: string; fail?: boolean },
      ctx: { name: string; http: { route: (p: string, h: () => Response) => void } },
    ) => {
      if (config.fail) {
        await failGate;
        throw new Error("127.0.0.1:4747: address in use");
      }
      const id = `${ctx.name}/${config.tag}#${++instances}`;
      written.set(id, []);
      ctx.http.route(`/fake/${ctx.name}`, () => new Response(config.tag));
      return {
        write(rs) {
          written.get(id)!.push(...rs.map((r) => r.data.seq as number));
        },
        close() {
          closed.add(id);
          return Promise.resolve();
        },
      } satisfies Output;
    }) as never,
  },
};

const out = (name: string, tag: string, fail = false): PartPlan<OutputTable> => ({
  type: "fake",
  name,
  transport: fake,
  config: { tag, fail, when_full: "block", queue_records: 1000, queue_bytes: 1 << 20, batch_records: 7 },
});

/** Every seq written by the instances of output `name`, in the order of instance creation. */
const seqsOf = (name: string) =>
  [...written].filter(([id]) => id.startsWith(`${name}/`)).sort(([a], [b]) =>
    Number(a.split("#")[1]) - Number(b.split("#")[1])
  ).flatMap(([, s]) => s);

Deno.test("reload: a part that cannot start undoes the reload; every record still reaches every output once", async () => {
  const dir = await Deno.makeTempDir();
  const plan = (outputs: PartPlan<OutputTable>[]): DaemonPlan => ({
    daemon: { http: "127.0.0.1:0", data_dir: dir, stop_timeout: 2000 },
    inputs: [],
    outputs,
  });
  const daemon = new Daemon(plan([out("keep", "k"), out("gone", "g"), out("chg", "c1")]), quiet);
  await daemon.start();
  const url = `http://127.0.0.1:${daemon.http.addr!.port}`;
  let ctx!: InputContext;
  await new Promise<void>((resolve) =>
    daemon.addInput("test", {
      run(c) {
        ctx = c;
        resolve();
        return new Promise((r) => c.signal.addEventListener("abort", () => r()));
      },
    })
  );
  let seq = 0;
  const emit = async (n: number) => {
    for (let i = 0; i < n; i++, seq++) await ctx.emit([makeRecord("s", BigInt(seq), { seq }, "test")]);
  };
  try {
    await emit(100);
    let open!: () => void;
    failGate = new Promise((r) => open = r);
    // gone is removed, chg changed, bad added: bad cannot start, after the others were already swapped.
    const reloading = daemon.reload(plan([out("keep", "k"), out("chg", "c2"), out("bad", "b", true)]));
    await until("chg swapped to c2", () => Promise.resolve([...written.keys()].some((k) => k.startsWith("chg/c2"))));
    await emit(100); // while the reload waits for bad
    open();
    const r = await reloading;
    assert.equal(r.result, "failed");
    assert.match(r.error!, /address in use/);
    assert.deepEqual(r.removed, ["output.gone"]);
    assert.deepEqual(r.changed, ["output.chg"]);
    assert.deepEqual(r.added, ["output.bad"]);
    await emit(100);

    const all = Array.from({ length: 300 }, (_, i) => i);
    await until(
      "every record written",
      () => Promise.resolve(["keep", "gone", "chg"].every((n) => seqsOf(n).length === 300)),
    );
    for (const n of ["keep", "gone", "chg"]) assert.deepEqual(seqsOf(n), all, n);
    assert.equal([...written.keys()].filter((k) => k.startsWith("keep/")).length, 1, "keep was not touched");
    // The routes are those of the running configuration again.
    assert.equal(await (await fetch(`${url}/fake/gone`)).text(), "g");
    assert.equal(await (await fetch(`${url}/fake/chg`)).text(), "c1");
    assert.equal((await fetch(`${url}/fake/bad`)).status, 404);
    const health = await (await fetch(`${url}/health`)).json();
    assert.equal(health.status, "running");
    assert.equal(health.reload.result, "failed");

    // Without the part that fails, the same reload applies: gone closes and loses its route.
    const ok = await daemon.reload(plan([out("keep", "k"), out("chg", "c2")]));
    assert.equal(ok.result, "ok", ok.error);
    await emit(10);
    assert.equal(await (await fetch(`${url}/fake/chg`)).text(), "c2");
    assert.equal((await fetch(`${url}/fake/gone`)).status, 404);
    const goneIds = [...written.keys()].filter((k) => k.startsWith("gone/"));
    assert.ok(goneIds.every((k) => closed.has(k)), "every instance of gone was closed");
    assert.match(await (await fetch(`${url}/metrics`)).text(), /^telebus_reload_total\{result="ok"\} 1$/m);
  } finally {
    await daemon.stop();
    await Deno.remove(dir, { recursive: true });
  }
  assert.deepEqual(seqsOf("keep"), Array.from({ length: 310 }, (_, i) => i));
  assert.deepEqual(seqsOf("chg"), Array.from({ length: 310 }, (_, i) => i));
});

Deno.test("reload: a changed mpack_tail input resumes from its checkpoint: no record lost or repeated", async () => {
  const dir = await Deno.makeTempDir();
  const src = join(dir, "src.mpack"), dst = join(dir, "out.mpack");
  const TOTAL = 4000;
  const chunk = (from: number, n: number) => {
    const parts = Array.from({ length: n }, (_, i) => encodeMsgpack({ time: 1.5, seq: from + i }));
    const b = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
    let o = 0;
    for (const p of parts) b.set(p, (o += p.length) - p.length);
    return b;
  };
  await Deno.writeFile(src, chunk(0, 500));
  const config = (poll: number) => ({
    daemon: { http: "off", data_dir: join(dir, "state"), dashboard: false },
    inputs: { mpack_tail: [{ name: "tail", path: src, from: "checkpoint", poll_interval: `${poll}ms` }] },
    outputs: { mpack_file: [{ name: "log", path: dst, fsync: "never" }] },
  });
  const plan = async (poll: number) => await validateConfig(config(poll), { registry: transports });
  const warnings: string[] = [];
  const daemon = new Daemon(await plan(20), createLogger("test", { level: "warn", write: (l) => warnings.push(l) }));
  await daemon.start();
  const count = async () => {
    try {
      return decodeMsgpackMultiple(await Deno.readFile(dst)).length;
    } catch {
      return 0; // not there yet, or a record half written
    }
  };
  try {
    const writer = (async () => {
      using f = await Deno.open(src, { append: true });
      for (let s = 500; s < TOTAL; s += 100) {
        const b = chunk(s, 100);
        for (let o = 0; o < b.length;) o += await f.write(b.subarray(o));
        await letTimePass(5); // a writer at work during the reload, not a synchronisation
      }
    })();
    await until("records written", async () => await count() >= 1000);
    const r = await daemon.reload(await plan(30));
    assert.equal(r.result, "ok", r.error);
    assert.deepEqual(r.changed, ["input.tail"]);
    await writer;
    await until("every record written", async () => await count() >= TOTAL);
  } finally {
    await daemon.stop();
  }
  const seqs = decodeMsgpackMultiple(await Deno.readFile(dst)).map((d) => (d as { seq: number }).seq);
  await Deno.remove(dir, { recursive: true });
  assert.deepEqual(seqs, Array.from({ length: TOTAL }, (_, i) => i));
  // The kept output holds exactly what the old input's last checkpoint covers: nothing to cut, nothing to warn about.
  assert.deepEqual(warnings, []);
});

Deno.test("reload: a new [daemon] http address is bound, then the old one closed; a new token applies at once", async () => {
  const dir = await Deno.makeTempDir();
  const plan = (http: string, token = ""): DaemonPlan => ({
    daemon: { http, data_dir: dir, stop_timeout: 2000, token },
    inputs: [],
    outputs: [out("keep", "k")],
  });
  const daemon = new Daemon(plan("127.0.0.1:0"), quiet);
  await daemon.start();
  const old = `http://127.0.0.1:${daemon.http.addr!.port}`;
  try {
    assert.equal((await fetch(`${old}/metrics`)).status, 200);
    // A port found free may be taken by another test's connection before the reload binds it: then another one.
    let port = 0;
    let r: Awaited<ReturnType<Daemon["reload"]>> | undefined;
    for (let attempt = 0; attempt < 5 && (r === undefined || /in use/.test(r.error ?? "")); attempt++) {
      port = freePort();
      r = await daemon.reload(plan(`127.0.0.1:${port}`, "s3cret"));
    }
    assert.equal(r?.result, "ok", r?.error);
    // Parts get the token when they start (listeners of their own ask peers for it): a new one restarts them.
    assert.deepEqual(r?.changed, ["output.keep"]);
    const now = `http://127.0.0.1:${port}`;
    assert.equal(daemon.http.addr!.port, port);
    assert.equal((await fetch(`${now}/health`)).status, 200);
    assert.equal((await fetch(`${now}/metrics`)).status, 401);
    const ok = await fetch(`${now}/metrics`, { headers: { authorization: "Bearer s3cret" } });
    assert.equal(ok.status, 200);
    await ok.body?.cancel();
    await assert.rejects(fetch(`${old}/health`), "the old address is closed");
  } finally {
    await daemon.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("reload: an input server that cannot bind (moat_cmd listen, zmq bind) fails the reload; the old parts run on", async () => {
  const dir = await Deno.makeTempDir();
  const held = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (held.addr as Deno.NetAddr).port;
  const config = (inputs: Record<string, unknown>) => ({
    daemon: { http: "off", data_dir: dir, dashboard: false },
    inputs: { generator: [{ name: "gen", rate: 500 }], ...inputs },
    outputs: { mpack_file: [{ name: "log", path: join(dir, "t.mpack"), fsync: "never" }] },
  });
  const plan = async (inputs: Record<string, unknown> = {}) =>
    await validateConfig(config(inputs), { registry: transports });
  const daemon = new Daemon(await plan(), quiet);
  await daemon.start();
  const size = async () => (await Deno.stat(join(dir, "t.mpack"))).size;
  try {
    for (
      const inputs of [
        { moat_cmd: [{ name: "moat", listen: `127.0.0.1:${port}` }] },
        { zmq: [{ name: "z", address: `tcp://127.0.0.1:${port}`, conn_type: "bind" }] },
      ]
    ) {
      const r = await daemon.reload(await plan(inputs));
      assert.equal(r.result, "failed", JSON.stringify(inputs));
      assert.match(r.error!, /in use/i);
      assert.equal(daemon.state, "running");
      assert.deepEqual(daemon.stats.map((s) => s.name).sort(), ["gen", "log"]);
      const before = await size();
      await until("the log grows", async () => await size() > before);
    }
    held.close();
    const ok = await daemon.reload(await plan({ moat_cmd: [{ name: "moat", listen: `127.0.0.1:${port}` }] }));
    assert.equal(ok.result, "ok", ok.error);
    (await Deno.connect({ hostname: "127.0.0.1", port })).close();
  } finally {
    try {
      held.close();
    } catch {
      // closed above
    }
    await daemon.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("reload: TLS turned on at the same address serves HTTPS; unreadable TLS files leave the listener as it was", async () => {
  const dir = await Deno.makeTempDir();
  const certs = await makeTestCerts(dir);
  const free = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (free.addr as Deno.NetAddr).port;
  free.close();
  const plan = (tls?: { cert: string; key: string }): DaemonPlan => ({
    daemon: { http: `127.0.0.1:${port}`, data_dir: dir, stop_timeout: 2000, tls_cert: tls?.cert, tls_key: tls?.key },
    inputs: [],
    outputs: [out("keep", "k")],
  });
  const daemon = new Daemon(plan(), quiet);
  await daemon.start();
  const client = Deno.createHttpClient({ caCerts: [certs.caPem] });
  try {
    assert.equal((await fetch(`http://127.0.0.1:${port}/health`)).status, 200);
    const bad = await daemon.reload(plan({ cert: join(dir, "missing.pem"), key: certs.keyFile }));
    assert.equal(bad.result, "failed");
    assert.match(bad.error!, /tls_cert .*missing\.pem.*cannot read/);
    assert.equal((await fetch(`http://127.0.0.1:${port}/health`)).status, 200, "plain HTTP still served");

    const ok = await daemon.reload(plan({ cert: certs.certFile, key: certs.keyFile }));
    assert.equal(ok.result, "ok", ok.error);
    assert.deepEqual(ok.kept, ["output.keep"]);
    assert.equal((await fetch(`https://127.0.0.1:${port}/health`, { client })).status, 200);
    assert.equal(daemon.http.url, `https://127.0.0.1:${port}/`);
  } finally {
    client.close();
    await daemon.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
