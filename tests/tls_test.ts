/**
 * HTTPS and WSS (issue 11.6): with `tls_cert`/`tls_key` the daemon's HTTP server speaks TLS with a certificate
 * the test makes with openssl; clients that trust its CA get the API, WebSocket feeds over `wss://`, and the
 * session cookie marked Secure; plain HTTP gets nothing; a bad pair of keys is a clear configuration error.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parseConfig } from "../config/load.ts";
import { ConfigError } from "../config/errors.ts";
import { transports } from "../transports/mod.ts";
import { decodeMsgpack } from "../codecs/msgpack.ts";
import { concat, makeTestCerts, printedFlags, startWithFlags, testDaemon, until, withTimeout } from "../testing/mod.ts";

/** Reads from `conn` until `done(bytes)` holds; the bytes read. */
async function readUntil(conn: Deno.Conn, done: (b: Uint8Array) => boolean): Promise<Uint8Array> {
  let all = new Uint8Array(0);
  const buf = new Uint8Array(65536);
  while (!done(all)) {
    const n = await conn.read(buf);
    if (n === null) break;
    const next = new Uint8Array(all.length + n);
    next.set(all);
    next.set(buf.subarray(0, n), all.length);
    all = next;
  }
  return all;
}

Deno.test("TLS: the HTTP server serves HTTPS and WSS with tls_cert/tls_key; the cookie is Secure", async () => {
  const dir = await Deno.makeTempDir({ prefix: "telebus-tls-" });
  const certs = await makeTestCerts(dir);
  const t = await testDaemon({
    daemon: { tls_cert: certs.certFile, tls_key: certs.keyFile, token: "s3cret" },
    outputs: { websocket: [{ path: "/ws", format: "msgpack" }] },
  });
  const client = Deno.createHttpClient({ caCerts: [certs.caPem] });
  try {
    const port = t.daemon.http.addr!.port;
    assert.equal(t.daemon.http.url, `https://127.0.0.1:${port}/`);
    const health = await fetch(`https://127.0.0.1:${port}/health`, { client });
    assert.deepEqual(await health.json(), { status: "running" });
    const page = await fetch(`https://127.0.0.1:${port}/metrics?token=s3cret`, { client });
    await page.body?.cancel();
    assert.equal(page.status, 200);
    assert.match(page.headers.get("set-cookie") ?? "", /; HttpOnly; SameSite=Strict; Secure$/);
    // Plain HTTP on the TLS port gets no answer.
    await assert.rejects(fetch(`http://127.0.0.1:${port}/health`));

    // WSS: the upgrade over TLS, from the server's own https origin (an http origin is another origin).
    const upgrade = async (origin: string) => {
      const conn = await Deno.connectTls({ hostname: "127.0.0.1", port, caCerts: [certs.caPem] });
      const request = [
        `GET /ws?token=s3cret HTTP/1.1`,
        `Host: 127.0.0.1:${port}`,
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version: 13",
        `Origin: ${origin}`,
        "",
        "",
      ].join("\r\n");
      await conn.write(new TextEncoder().encode(request));
      const head = await readUntil(conn, (b) => new TextDecoder().decode(b).includes("\r\n\r\n"));
      const text = new TextDecoder().decode(head);
      return {
        conn,
        status: Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1]),
        rest: head.subarray(text.indexOf("\r\n\r\n") + 4),
      };
    };
    const foreign = await upgrade(`http://127.0.0.1:${port}`);
    foreign.conn.close();
    assert.equal(foreign.status, 403);
    const ws = await upgrade(`https://127.0.0.1:${port}`);
    assert.equal(ws.status, 101);
    // Wait for the output to see the client, then a record arrives as one binary frame.
    const output = t.daemon.stats.find((st) => st.kind === "output" && st.type === "websocket")!;
    await until("the output to see the client", () => output.gauges.get("clients")!() >= 1);
    await t.emit("robot/tls", { x: 1 });
    const frameLength = (b: Uint8Array) => b.length >= 2 && b.length >= 2 + (b[1] & 0x7f);
    let got = ws.rest;
    if (!frameLength(got)) {
      got = concat(got, await withTimeout("a frame over WSS", readUntil(ws.conn, (b) => frameLength(concat(got, b)))));
    }
    ws.conn.close();
    assert.equal(got[0], 0x82, "a final binary frame");
    const len = got[1] & 0x7f;
    assert.ok(len < 126 && got.length >= 2 + len, "one short frame");
    const frame = decodeMsgpack(got.subarray(2, 2 + len)) as unknown[] | Record<string, unknown>;
    assert.match(JSON.stringify(frame, (_k, v) => typeof v === "bigint" ? String(v) : v), /robot\/tls/);
  } finally {
    client.close();
    await t.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("TLS: tls_cert without tls_key, or an unreadable file, is a clear error", async () => {
  await assert.rejects(
    parseConfig(`[daemon]\ntls_cert = "/x.pem"\n`, { registry: transports, file: "t.toml" }),
    (e: Error) =>
      e instanceof ConfigError && /t\.toml:2:\d+: daemon\.tls_cert: .*set both tls_cert and tls_key/.test(e.message),
  );
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(
      testDaemon({ daemon: { tls_cert: join(dir, "none.pem"), tls_key: join(dir, "none.key") } }, dir),
      /\[daemon\] tls_cert ".*none\.pem": cannot read/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("TLS: the daemon serves HTTPS with exactly the flags `telebus permissions` prints", async () => {
  const dir = await Deno.makeTempDir({ prefix: "telebus-tls-perm-" });
  try {
    const certs = await makeTestCerts(dir);
    await Deno.writeTextFile(
      join(dir, "t.toml"),
      `[daemon]\nhttp = "127.0.0.1:0"\ndata_dir = "state"\ntls_cert = "server.pem"\ntls_key = "server.key"\n`,
    );
    const flags = await printedFlags("t.toml", dir, {});
    assert.ok(flags.some((f) => f.startsWith("--allow-read=") && f.includes(certs.keyFile)), flags.join(" "));
    const d = await startWithFlags(flags, "t.toml", dir, {});
    const client = Deno.createHttpClient({ caCerts: [certs.caPem] });
    try {
      assert.match(d.url, /^https:\/\/127\.0\.0\.1:\d+$/);
      const r = await fetch(`${d.url}/health`, { client });
      assert.deepEqual(await r.json(), { status: "running" });
    } finally {
      client.close();
      assert.equal(await d.stop(), 0);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
