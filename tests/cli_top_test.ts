/** `telebus top` against a running daemon, and its reading of `/metrics`. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { PartStats, ProcessorStats, renderPrometheus } from "../core/stats.ts";
import { snapshotOf } from "../cli/prometheus.ts";
import { render } from "../cli/top.ts";
import { freePort, testDaemon, until } from "../testing/mod.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const ENV = { TELEBUS_TOKEN: "", TELEBUS_HTTP: "" };

/** Runs `telebus ARGS…`; a bound (not a synchronisation): a top that hangs fails the test instead of the suite. */
async function telebus(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    stdin: "null",
    env: ENV,
    signal: AbortSignal.timeout(90_000),
  }).output();
  return { code: out.code, stdout: new TextDecoder().decode(out.stdout), stderr: new TextDecoder().decode(out.stderr) };
}

/** `1.5k` → 1500. */
function number(s: string): number {
  const m = /^([\d.]+)([kMG]?)B?$/.exec(s);
  assert.ok(m, `a number: ${s}`);
  return Number(m[1]) * { "": 1, k: 1e3, M: 1e6, G: 1e9 }[m[2]]!;
}

/** A generator at 200 records/s into a websocket output and an mpack_file output. */
async function daemon(dir: string, extra: Record<string, unknown> = {}) {
  return await testDaemon({
    daemon: extra,
    inputs: { generator: [{ name: "robot", rate: 200, keys: 4 }] },
    outputs: {
      websocket: [{ name: "live", processors: [{ type: "every", n: 2 }] }],
      mpack_file: [{ name: "log", path: join(dir, "t-{datetime}.mpack"), queue_records: 5000 }],
    },
  });
}

Deno.test("top --once: the generator and both outputs with nonzero rates, totals and queue fill", async () => {
  const dir = await Deno.makeTempDir({ prefix: "telebus-top-" });
  const d = await daemon(dir);
  try {
    // Rates come from two samples: wait until the generator has produced, so the window holds records.
    await until("the generator to emit", () => d.daemon.stats.some((s) => s.name === "robot" && s.records > 0));
    const r = await telebus("top", "--once", "--url", d.url);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split("\n");
    assert.match(lines[0], new RegExp(`^telebus top — http://${d.url} +running +bus \\S+ rec/s`));
    assert.match(lines[2], /^KIND +NAME +TYPE +REC\/S +RECORDS +BYTES\/S +QUEUE +FILL +DROPS +ERRORS +REJECTED$/);
    const row = (re: RegExp) => {
      const m = lines.map((l) => re.exec(l)).find((x) => x);
      assert.ok(m, `a row ${re} in\n${r.stdout}`);
      return m;
    };
    const input = row(/^input +robot +generator +(\S+) +(\S+) +(\S+) +(\S+) +(\S+) +(\S+)$/);
    assert.ok(number(input[1]) > 20 && number(input[1]) < 2000, `input rate ${input[1]}`);
    assert.ok(number(input[2]) > 0);
    for (const [name, type] of [["live", "websocket"], ["log", "mpack_file"]]) {
      const out = row(
        new RegExp(
          `^output +${name} +${type} +(\\S+) +(\\S+) +(\\S+) +(\\S+)/(\\S+) +(\\d+)% +(\\S+) +(\\S+) +(\\S+)$`,
        ),
      );
      assert.ok(number(out[1]) > 20 && number(out[1]) < 2000, `${name} rate ${out[1]}`);
      assert.ok(number(out[2]) > 0, `${name} records ${out[2]}`);
      assert.equal(number(out[5]), name === "log" ? 5000 : 10000, `${name} queue capacity`);
      assert.deepEqual([out[7], out[8], out[9]], ["0", "0", "0"], "no drops, errors or rejects");
    }
    // The websocket output's `every` processor: its row, named by its part and place, sees every record and drops half.
    const proc = row(/^processor +live\[0\] \(output\) +every +(\S+) +(\S+) +(\S+) +0 +0$/);
    assert.ok(number(proc[1]) > 20 && number(proc[1]) < 2000, `processor rate ${proc[1]}`);
    assert.ok(number(proc[2]) > 0, `processor records ${proc[2]}`);
    assert.ok(number(proc[3]) > 0, `processor drops ${proc[3]}`);
  } finally {
    await d.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("top: a wrong token and a daemon that is not there fail with exit 1 and say why", async () => {
  const dir = await Deno.makeTempDir({ prefix: "telebus-top-" });
  const d = await daemon(dir, { token: "s3cret" });
  try {
    const r = await telebus("top", "--once", "--url", d.url, "--token", "nope");
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /\/metrics: 401 unauthorized: the daemon refused the token/);
    const ok = await telebus("top", "--once", "--url", d.url, "--token", "s3cret");
    assert.equal(ok.code, 0, ok.stderr);
  } finally {
    await d.close();
    await Deno.remove(dir, { recursive: true });
  }
  const port = freePort();
  const r = await telebus("top", "--url", `127.0.0.1:${port}`);
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    r.stderr,
    new RegExp(`^telebus top: cannot connect to http://127\\.0\\.0\\.1:${port}/metrics: connection refused`),
  );
});

Deno.test("top without --once and not on a terminal: a table a second until SIGINT, then exit 0", async () => {
  const dir = await Deno.makeTempDir({ prefix: "telebus-top-" });
  const d = await daemon(dir);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "top", "--url", d.url],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: ENV,
  }).spawn();
  let out = "";
  const reading = (async () => {
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) out += chunk;
  })();
  try {
    await until("two tables", () => out.split("telebus top — ").length > 2, 60_000);
    child.kill("SIGINT");
    const status = await child.status;
    await reading;
    assert.equal(status.code, 0, new TextDecoder().decode((await child.stderr.getReader().read()).value));
    assert.match(out, /\noutput +log +mpack_file +\d/);
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // exited
    }
    await d.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("top reads core/stats.ts's metrics: drops by reason, rejects, queues, processor series; rates per second", () => {
  const input = new PartStats("input", "robot", "generator");
  const output = new PartStats("output", "up", "mqtt");
  output.gauges.set("queue_records", () => 250);
  output.gauges.set("queue_capacity_records", () => 1000);
  // The processor's series come from core/stats.ts itself, so a change of its labels breaks this test.
  const thin = new ProcessorStats(0, "throttle");
  output.processors = [thin, new ProcessorStats(1, "every")];
  const at = (records: number, dropped: number) => {
    input.records = records;
    output.records = records / 2;
    output.dropped.clear();
    output.drop("drop_oldest", dropped);
    output.drop("latest", 1);
    output.reject("too_deep", 2);
    thin.in = records / 10;
    thin.out = records / 10 - dropped;
    thin.dropped = dropped;
    return renderPrometheus([input, output], { up: 1, bus_records_total: records });
  };
  const a = snapshotOf(at(1000, 10)), b = snapshotOf(at(3000, 30));
  assert.equal(b.bus, 3000);
  assert.equal(b.up, 1);
  const [i, o, p, q] = b.parts;
  assert.deepEqual([i.kind, i.name, i.type, i.records, i.dropped], ["input", "robot", "generator", 3000, 0]);
  assert.deepEqual([o.kind, o.records, o.dropped, o.rejected, o.queue, o.capacity], ["output", 1500, 31, 4, 250, 1000]);
  assert.deepEqual([p.kind, p.name, p.type, p.where, p.records, p.dropped], [
    "processor",
    "up[0]",
    "throttle",
    "output",
    300,
    30,
  ]);
  assert.deepEqual([q.kind, q.name, q.type, q.where, q.records, q.dropped], [
    "processor",
    "up[1]",
    "every",
    "output",
    0,
    0,
  ]);
  assert.equal(b.parts.length, 4);
  const lines = render("http://x", { snap: b, at: 2000 }, { snap: a, at: 0 });
  assert.match(lines[0], /^telebus top — http:\/\/x +running +bus 1000 rec\/s/);
  assert.match(lines.find((l) => l.startsWith("input"))!, /^input +robot +generator +1000 +3000 /);
  assert.match(
    lines.find((l) => l.startsWith("output"))!,
    /^output +up +mqtt +500 +1500 +0B +250\/1000 +25% +31 +0 +4$/,
  );
  assert.match(lines.find((l) => l.startsWith("processor"))!, /^processor +up\[0\] \(output\) +throttle +100 +300 /);
});
