/**
 * `rediss://` (issue 11.6): a real redis-server that accepts only TLS, with a certificate signed by a CA the test
 * makes with openssl. The `redis_streams` output and input and the streamer on Redis reach it with `tls_ca`;
 * without the CA the certificate is refused; `telebus permissions` grants reading the CA file.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createClient } from "npm:redis@^5.8.0";
import { makeTestCerts, RedisServer, testDaemon, until } from "../testing/mod.ts";
import { parseConfig } from "../config/load.ts";
import { transports } from "../transports/mod.ts";
import { permissionNeeds } from "../cli/permissions.ts";

Deno.test("rediss://: redis_streams in and out and the streamer on Redis over TLS, the CA given by tls_ca", async () => {
  const dir = await Deno.makeTempDir({ prefix: "telebus-rediss-" });
  const certs = await makeTestCerts(dir);
  const redis = await RedisServer.start(false, certs);
  const plain = createClient({ url: redis.url, socket: { tls: true, ca: certs.caPem } });
  await plain.connect();
  const t = await testDaemon({
    inputs: {
      redis_streams: [{
        name: "from_redis",
        url: redis.url,
        tls_ca: certs.caFile,
        streams: ["in"],
        from: "0",
        codec: "json",
      }],
    },
    outputs: {
      redis_streams: [{ name: "to_redis", url: redis.url, tls_ca: certs.caFile, streams: ["robot/*"], codec: "json" }],
      streamer: [{ redis_url: redis.url, tls_ca: certs.caFile, graphql: true, streams: ["robot/*"] }],
    },
  });
  try {
    assert.ok(redis.url.startsWith("rediss://"));
    const seen: string[] = [];
    const stop = t.daemon.subscribe((rs) => void rs.forEach((r) => seen.push(r.stream)), { inputs: ["from_redis"] });
    await t.emit("robot/tls", { x: 1 });
    await until("the record in Redis", async () => await plain.xLen("robot/tls") === 1);
    await plain.xAdd("in", "*", { d: JSON.stringify({ y: 2 }) });
    await until("the entry read back over TLS", () => seen.includes("in"));
    // The streamer's GraphQL answers from the same TLS Redis.
    const r = await fetch(`http://${t.url}/streamer/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "{ streamIds }" }),
    });
    const ids = (await r.json()).data.streamIds as string[];
    assert.ok(ids.includes("default:robot/tls"), JSON.stringify(ids));
    await stop();
  } finally {
    await t.close();
    await plain.quit();
  }
  try {
    // Without the CA the server's certificate is not trusted: the output fails at start with the reason.
    await assert.rejects(
      testDaemon({ outputs: { redis_streams: [{ url: redis.url }] } }),
      /rediss:\/\/127\.0\.0\.1:\d+: TLS: .*certificate/i,
    );
    // tls_ca is for rediss:// only; permissions grant reading it.
    const toml = (url: string) =>
      `[daemon]\nhttp = "off"\n[[outputs.redis_streams]]\nurl = "${url}"\ntls_ca = "${certs.caFile}"\n`;
    await assert.rejects(
      parseConfig(toml("redis://127.0.0.1:1"), { registry: transports, file: "t.toml" }),
      /outputs\.redis_streams\[0\]\.tls_ca: .*tls_ca is for a rediss:\/\/ url/,
    );
    const config = await parseConfig(toml(redis.url), { registry: transports, file: join(dir, "t.toml") });
    const needs = await permissionNeeds(config, { text: toml(redis.url) });
    assert.ok(needs.read.has(certs.caFile), [...needs.read].join(" "));
  } finally {
    await redis.close();
    await Deno.remove(dir, { recursive: true });
  }
});
