/** `telebus tap` as a subprocess against a running daemon: a generator of two streams and a websocket output. */
import assert from "node:assert/strict";
import { freePort, testDaemon } from "../testing/mod.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

/** Runs `telebus ARGS…`; a bound (not a synchronisation): a tap that hangs fails the test instead of the suite. */
async function telebus(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    stdin: "null",
    // The user's own settings must not leak in.
    env: { TELEBUS_TOKEN: "", TELEBUS_HTTP: "" },
    signal: AbortSignal.timeout(90_000),
  }).output();
  return { code: out.code, stdout: new TextDecoder().decode(out.stdout), stderr: new TextDecoder().decode(out.stderr) };
}

/** A generator alternating `robot/arm` and `lab/temp`, and the outputs asked for. */
function config(outputs: Record<string, unknown>, daemon: Record<string, unknown> = {}) {
  return {
    daemon,
    inputs: { generator: [{ name: "robot", rate: 200, keys: 4, streams: ["robot/arm", "lab/temp"] }] },
    outputs,
  };
}

Deno.test("tap GLOB --count 5 --format json: five records of the selected streams, as dump prints them", async () => {
  const d = await testDaemon(config({ websocket: [{ name: "live" }] }));
  try {
    const r = await telebus("tap", "robot/*", "--url", `ws://${d.url}`, "--count", "5", "--format", "json");
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split("\n");
    assert.equal(lines.length, 5, r.stdout);
    for (const line of lines) {
      const rec = JSON.parse(line);
      assert.deepEqual(Object.keys(rec), ["stream", "time", "data"]);
      // The generator alternates both streams: every other record was lab/temp, and none may pass.
      assert.equal(rec.stream, "robot/arm");
      assert.equal(typeof rec.time, "number");
      assert.ok(Math.abs(rec.time - Date.now() / 1000) < 600, `a current time in seconds: ${rec.time}`);
      assert.equal(typeof rec.data.seq, "number");
      // dump's (Python's) separators
      assert.ok(line.startsWith('{"stream": "robot/arm", "time": '), line);
    }
    // The generator numbers its records across both streams: robot/arm has every other one.
    const seqs = lines.map((l) => JSON.parse(l).data.seq);
    for (let i = 1; i < seqs.length; i++) assert.equal(seqs[i] - seqs[i - 1], 2, `seqs ${seqs}`);
  } finally {
    await d.close();
  }
});

Deno.test("tap --format table: the newest value of every key of each stream, printed once when not a terminal", async () => {
  const d = await testDaemon(config({ websocket: [{ name: "live" }] }));
  try {
    const r = await telebus("tap", "--url", d.url, "--count", "20", "--format", "table");
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split("\n");
    assert.match(lines[0], /^STREAM +TIME +RECORDS +KEY +VALUE$/);
    const first = (stream: string) => lines.find((l) => l.startsWith(stream + " "));
    for (const stream of ["lab/temp", "robot/arm"]) {
      // Each stream got 10 of the 20 records; its row names its first key.
      assert.match(first(stream) ?? "", new RegExp(`^${stream} +\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z +10 +\\S+ +\\S`));
    }
    // Columns align: every KEY cell starts where the header's does.
    const col = lines[0].indexOf("KEY");
    for (const l of lines.slice(1)) assert.match(l.slice(col), /^\S+ +\S/, l);
    assert.ok(lines.some((l) => /^ +seq +\d+$/.test(l) || / seq +\d+$/.test(l)), r.stdout);
  } finally {
    await d.close();
  }
});

Deno.test("tap: a wrong or missing token fails with 401 and says what to do; the right one reads", async () => {
  const d = await testDaemon(config({ websocket: [{ name: "live" }] }, { token: "s3cret" }));
  try {
    const wrong = await telebus("tap", "--url", d.url, "--token", "nope", "--count", "1");
    assert.equal(wrong.code, 1, wrong.stderr);
    assert.equal(wrong.stdout, "");
    assert.match(wrong.stderr, /ws:\/\/127\.0\.0\.1:\d+\/ws\/records: 401 unauthorized: the daemon refused the token/);
    const none = await telebus("tap", "--url", d.url, "--count", "1");
    assert.equal(none.code, 1, none.stderr);
    assert.match(none.stderr, /401 unauthorized: the daemon needs a token .*--token or set TELEBUS_TOKEN/);
    const right = await telebus("tap", "--url", d.url, "--token", "s3cret", "--count", "1");
    assert.equal(right.code, 0, right.stderr);
    assert.equal(right.stdout.trimEnd().split("\n").length, 1);
  } finally {
    await d.close();
  }
});

Deno.test("tap: no daemon listening fails at once, naming the URL", async () => {
  const port = freePort();
  const r = await telebus("tap", "--url", `127.0.0.1:${port}`, "--count", "1");
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stdout, "");
  assert.match(
    r.stderr,
    new RegExp(`^telebus tap: cannot connect to ws://127\\.0\\.0\\.1:${port}/ws/records: connection refused`),
  );
});

Deno.test("tap without a path: the dashboard's feed when there is no websocket output; neither: what to add", async () => {
  const withDashboard = await testDaemon(config({}, { dashboard: true }));
  try {
    const r = await telebus("tap", "lab/*", "--url", withDashboard.url, "--count", "3");
    assert.equal(r.code, 0, r.stderr);
    const streams = r.stdout.trimEnd().split("\n").map((l) => JSON.parse(l).stream);
    assert.deepEqual(streams, ["lab/temp", "lab/temp", "lab/temp"]);
  } finally {
    await withDashboard.close();
  }
  const without = await testDaemon(config({}));
  try {
    const r = await telebus("tap", "--url", without.url, "--count", "1");
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /has no WebSocket output: neither \/ws\/records .* nor\s+\/ws\/dashboard/);
    assert.ok(r.stderr.includes('[[outputs.websocket]]\nname = "tap"'), r.stderr);
  } finally {
    await without.close();
  }
});

Deno.test("tap at an endpoint of another protocol (dataRT's /ws/client) stops and says so", async () => {
  const d = await testDaemon(config({ websocket: [{ name: "datart", protocol: "datart" }] }));
  try {
    const r = await telebus("tap", "--url", `ws://${d.url}/ws/client`, "--count", "1");
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /\/ws\/client: frames without a stream: not the telebus protocol/);
  } finally {
    await d.close();
  }
});
