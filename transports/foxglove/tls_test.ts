/** The Foxglove listener over TLS (`wss://`): its own certificate, or the daemon's. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { freePort, makeTestCerts, printedFlags, startWithFlags, testDaemon, withTimeout } from "../../testing/mod.ts";
import { foxgloveSchema } from "./schema.ts";

const PROBE = new URL("./wss_probe.ts", import.meta.url).pathname;

/** The Foxglove client in a process that trusts `caFile`: what it got from `url`'s `topic`. */
async function probe(caFile: string, url: string, topic: string) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--cert", caFile, "--allow-net=127.0.0.1", "--allow-read", "--allow-env", PROBE, url, topic],
    stdin: "null",
    // A bound, not a synchronisation: a probe that hangs fails the test instead of the suite.
    signal: AbortSignal.timeout(60_000),
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr);
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

/** Whether a plain `ws://` client gets a connection: over TLS it must not (the handshake is not HTTP). */
async function plainOpens(port: number): Promise<boolean> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, ["foxglove.websocket.v1"]);
  const opened = await withTimeout(
    "the plain client's open or close",
    new Promise<boolean>((resolve) => {
      ws.onopen = () => resolve(true);
      ws.onclose = () => resolve(false);
    }),
  );
  if (opened) ws.close();
  return opened;
}

Deno.test("foxglove: wss:// with its own tls_cert/tls_key, under exactly the permissions telebus prints", async () => {
  const dir = await Deno.makeTempDir({ prefix: "telebus-fox-tls-" });
  const certs = await makeTestCerts(dir);
  const port = freePort();
  await Deno.writeTextFile(
    join(dir, "t.toml"),
    `
[daemon]
http = "127.0.0.1:0"
data_dir = "state"
dashboard = false
[[inputs.generator]]
rate = 50
streams = ["robot/pose"]
keys = 3
[[outputs.foxglove]]
listen = "127.0.0.1:${port}"
tls_cert = "server.pem"
tls_key = "server.key"
`,
  );
  const flags = await printedFlags("t.toml", dir, {});
  const read = flags.find((f) => f.startsWith("--allow-read=")) ?? "";
  for (const f of ["server.pem", "server.key"]) assert.ok(read.includes(join(dir, f)), `${f} in ${read}`);
  const d = await startWithFlags(flags, "t.toml", dir, {});
  try {
    assert.match(d.log(), new RegExp(`Foxglove WebSocket server listen=127\\.0\\.0\\.1:${port} tls=true`));
    const got = await probe(certs.caFile, `wss://127.0.0.1:${port}/`, "robot/pose");
    assert.equal(got.name, "telebus");
    assert.equal(got.topic, "robot/pose");
    assert.equal(typeof got.data, "object");
    assert.ok(Object.keys(got.data).length >= 3, JSON.stringify(got.data));
    assert.equal(await plainOpens(port), false, "a plain ws:// client must not get a connection");
    assert.equal(await d.stop(), 0, d.log());
    assert.doesNotMatch(d.log(), /NotCapable|Requires .* access|PermissionDenied/);
  } finally {
    await d.stop().catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("foxglove: without tls_cert the listener serves the daemon's certificate; without any, plain ws://", async () => {
  const dir = await Deno.makeTempDir({ prefix: "telebus-fox-tls-" });
  const certs = await makeTestCerts(dir);
  const [tlsPort, plainPort] = [freePort(), freePort()];
  const t = await testDaemon({
    daemon: { tls_cert: certs.certFile, tls_key: certs.keyFile },
    outputs: { foxglove: [{ name: "fox", listen: `127.0.0.1:${tlsPort}` }] },
  });
  const plain = await testDaemon({ outputs: { foxglove: [{ name: "fox", listen: `127.0.0.1:${plainPort}` }] } });
  try {
    await t.emit("robot/state", { mode: 2 });
    const got = await probe(certs.caFile, `wss://127.0.0.1:${tlsPort}/`, "robot/state");
    assert.deepEqual(got.data, { mode: 2 });
    assert.equal(await plainOpens(tlsPort), false, "the daemon's TLS applies to the Foxglove listener");
    assert.equal(await plainOpens(plainPort), true, "no certificate anywhere: plain ws://");
  } finally {
    await t.close();
    await plain.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("foxglove schema: tls_cert and tls_key go together", () => {
  const r = foxgloveSchema.safeParse({ tls_cert: "server.pem" });
  assert.equal(r.success, false);
  assert.match(JSON.stringify(r.error?.issues), /set both tls_cert and tls_key/);
  assert.equal(foxgloveSchema.safeParse({ tls_cert: "a.pem", tls_key: "a.key" }).success, true);
});
