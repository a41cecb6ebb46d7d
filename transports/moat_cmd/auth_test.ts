/**
 * The MoaT server asks for the daemon's token (issue 11.6): the first command must be `auth(token)`; anything
 * else, or a wrong token, is answered with an error and the connection closes; a peer that stays silent is
 * closed after `auth_timeout`. The library's `authenticate` and the client input's `token` send it.
 */
import assert from "node:assert/strict";
import { startDaemon } from "../../start.ts";
import { RemoteError } from "../../protocol/moat_cmd/errors.ts";
import { decodeCbor, encodeCbor } from "../../codecs/cbor.ts";
import { makeRecord } from "../../core/record.ts";
import { authenticate } from "./auth.ts";
import { connectClient, memoryLogger } from "./test_util.ts";
import { freePort, letTimePass, until } from "../../testing/mod.ts";

async function daemon(port: number, moreInputs: Record<string, unknown>[] = []) {
  const { log, lines } = memoryLogger();
  const d = await startDaemon({
    config: {
      daemon: { http: "off", data_dir: await Deno.makeTempDir(), token: "s3cret" },
      inputs: { moat_cmd: [{ name: "moat", listen: `127.0.0.1:${port}` }, ...moreInputs] },
      outputs: { moat_cmd: [{ name: "moatsrv", listen: `127.0.0.1:${port}`, auth_timeout: "300ms" }] },
    },
  }, { log });
  // The server's connection counters live on the part that started it (outputs start first).
  return {
    d,
    lines,
    input: () => d.stats.find((p) => p.name === "moat")!,
    server: () => d.stats.find((p) => p.name === "moatsrv")!,
  };
}

Deno.test("moat auth: without auth(token) first, a command is refused and the connection closes", async () => {
  const port = freePort();
  const { d, lines, input, server } = await daemon(port);
  try {
    const c = await connectClient(port);
    const e = await c.ep.cmd("pub", ["robot/a", { x: 1 }]).catch((e) => e);
    assert.ok(e instanceof RemoteError && e.remoteName === "PermissionError", String(e));
    assert.match(String(e.args[0]), /the first command must be auth\(token\)/);
    await until("the server closed the connection", () => c.ep.closed);
    await c.close();
    // A wrong token: refused and closed too.
    const w = await connectClient(port);
    const e2 = await authenticate(w.ep, "guess").catch((e) => e);
    assert.ok(e2 instanceof RemoteError && e2.remoteName === "PermissionError" && e2.args[0] === "wrong token");
    await until("the server closed the connection", () => w.ep.closed);
    await w.close();
    // A silent peer is closed after auth_timeout.
    const s = await connectClient(port);
    await until("the silent peer was closed", () => s.ep.closed, 3000);
    await s.close();
    assert.equal(input().records, 0, "nothing reached the bus");
    assert.equal(server().counters.get("auth_failed"), 2);
    assert.equal(server().counters.get("auth_timeout"), 1);
    assert.ok(
      lines.some((l) => /moat 127\.0\.0\.1:\d+: not authenticated: wrong token; closing/.test(l)),
      "peer named",
    );
  } finally {
    await d.stop();
  }
});

Deno.test("moat auth: auth(token) on the wire, then every command works (even sent before the reply)", async () => {
  const port = freePort();
  const { d, input, server } = await daemon(port);
  try {
    // The documented bytes: [0, "auth", "s3cret"] → [-4, true].
    const raw = await Deno.connect({ hostname: "127.0.0.1", port });
    await raw.write(encodeCbor([0, "auth", "s3cret"]));
    const buf = new Uint8Array(64);
    const n = await raw.read(buf);
    assert.deepEqual(decodeCbor(buf.subarray(0, n!)), [-4, true]);
    raw.close();

    const c = await connectClient(port);
    const authed = authenticate(c.ep, "s3cret");
    const pub = c.ep.cmd("pub", ["robot/a", { x: 1 }]); // pipelined: sent before the auth reply arrived
    await authed;
    assert.deepEqual(await pub, [1]);
    assert.deepEqual(await c.ep.cmd("streams"), [{ "robot/a": 1 }]);
    await c.close();
    assert.equal(input().records, 1);
    assert.equal(server().counters.get("auth_failed"), undefined);
  } finally {
    await d.stop();
  }
});

Deno.test("moat auth: a client input with token streams from a token-protected telebus server", async () => {
  const port = freePort();
  const client = { connect: `127.0.0.1:${port}`, command: "sub", args: ["robot/*"], reconnect: "50ms" };
  const { d } = await daemon(port, [
    { name: "with_token", ...client, token: "s3cret", stream: "copy/with" },
    { name: "without", ...client, stream: "copy/without" },
  ]);
  try {
    const seen = new Set<string>();
    const stop = d.subscribe((rs) => void rs.forEach((r) => seen.add(r.stream)), { streams: ["copy/*"] });
    const emitter = new Promise<void>((resolve) =>
      d.addInput("robot", {
        async run(ctx) {
          resolve();
          while (!ctx.signal.aborted && !seen.has("copy/with")) {
            await ctx.emit([makeRecord("robot/a", 1n, { x: 1 }, ctx.name)]);
            await letTimePass(20); // a producer at 50 records/s until the copy arrives
          }
        },
      })
    );
    await emitter;
    await until("records through the authenticated client", () => seen.has("copy/with"));
    const without = d.stats.find((p) => p.name === "without")!;
    await until("the client without a token is refused", () => without.errors > 0);
    assert.ok(!seen.has("copy/without"));
    await stop();
  } finally {
    await d.stop();
  }
});

Deno.test("moat auth: token is only for a client input", () => {
  // Validated by the schema: the server side asks for [daemon] token instead.
  return import("./schema.ts").then(({ moatInputSchema }) => {
    const r = moatInputSchema.safeParse({ listen: "127.0.0.1:1", token: "x" });
    assert.ok(!r.success && /\[daemon\] token/.test(r.error.issues[0].message));
  });
});
