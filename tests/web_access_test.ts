/**
 * Web pages cannot drive the daemon (issue 11.5), with real HTTP requests and raw WebSocket upgrades: a foreign
 * `Origin` is refused (403) on every request and upgrade unless `cors_origins` lists it; requests without `Origin`
 * (curl, the originals' clients) and from the daemon's own pages work; GraphQL takes only `application/json` POSTs
 * (and GET for queries), so a `text/plain` POST — which any page may send without a preflight — cannot `flush`.
 */
import assert from "node:assert/strict";
import { getStatus, testDaemon, upgradeStatus } from "../testing/mod.ts";

/** A daemon with the streamer's GraphQL (embedded store) and a telebus WebSocket output, and one stored stream. */
async function setup(daemon: Record<string, unknown> = {}) {
  const t = await testDaemon({
    daemon,
    outputs: { streamer: [{ graphql: true }], websocket: [{ path: "/ws" }] },
  });
  const base = `http://${t.url}`;
  const form = new FormData();
  form.append("entries", new Blob([new TextEncoder().encode("kept")]), "e");
  const posted = await fetch(`${base}/data/kept`, { method: "POST", body: form });
  await posted.body?.cancel();
  assert.equal(posted.status, 200, "a tool without Origin may POST data");
  const gql = async (query: string, headers: Record<string, string> = {}) => {
    const r = await fetch(`${base}/streamer/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify({ query }),
    });
    return { status: r.status, body: await r.json().catch(() => undefined) };
  };
  return { t, base, gql };
}

Deno.test("web access: by default a foreign Origin is refused everywhere; no Origin and the own origin work", async () => {
  const { t, base, gql } = await setup();
  try {
    const own = base;
    // The attack of the issue: a text/plain POST (no preflight in any browser) of the flush mutation.
    const plain = await fetch(`${base}/streamer/graphql`, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: JSON.stringify({ query: "mutation { flush }" }),
    });
    assert.equal(plain.status, 415);
    assert.match((await plain.json()).errors[0].message, /application\/json/);
    const form = await fetch(`${base}/streamer/graphql`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "query=mutation%20%7B%20flush%20%7D",
    });
    await form.body?.cancel();
    assert.equal(form.status, 415);
    // Mutations are not run over GET (a link or an <img> could otherwise trigger them); queries are.
    const viaGet = await fetch(`${base}/streamer/graphql?query=${encodeURIComponent("mutation { flush }")}`);
    assert.equal(viaGet.status, 405);
    assert.match((await viaGet.json()).errors[0].message, /mutations need a POST/);
    const query = await fetch(`${base}/streamer/graphql?query=${encodeURIComponent("{ streamIds }")}`);
    assert.deepEqual(await query.json(), { data: { streamIds: ["default:kept"] } });
    // JSON from a foreign page: refused before anything runs.
    const foreign = await gql("mutation { flush }", { origin: "http://evil.example" });
    assert.equal(foreign.status, 403);
    for (const origin of ["null", `https://${t.url}`, "http://127.0.0.1:1", "http://localhost.evil.example"]) {
      assert.equal((await gql("{ streamIds }", { origin })).status, 403, `Origin ${origin}`);
    }
    assert.deepEqual(
      (await gql("{ streamIds }")).body,
      { data: { streamIds: ["default:kept"] } },
      "nothing was flushed",
    );
    // Any other request with a foreign Origin: a multipart POST to the data API, a GET of the metrics.
    const data = new FormData();
    data.append("entries", new Blob(["x"]), "e");
    const push = await fetch(`${base}/data/kept`, {
      method: "POST",
      body: data,
      headers: { origin: "http://evil.example" },
    });
    await push.body?.cancel();
    assert.equal(push.status, 403);
    const metrics = await fetch(`${base}/metrics`, { headers: { origin: "http://evil.example" } });
    await metrics.body?.cancel();
    assert.equal(metrics.status, 403);
    // WebSocket upgrades: a foreign page is refused; no Origin (tools) and the own pages get 101.
    assert.equal(await upgradeStatus(t.url, "/ws", { origin: "http://evil.example" }), 403);
    assert.equal(await upgradeStatus(t.url, "/data/kept/pull", { origin: "http://evil.example" }), 403);
    assert.equal(await upgradeStatus(t.url, "/ws"), 101);
    assert.equal(await upgradeStatus(t.url, "/ws", { origin: own }), 101);
    // The own origin (the dashboard, GraphiQL) may run mutations.
    const mine = await gql("{ streamIds }", { origin: own });
    assert.deepEqual(mine.body, { data: { streamIds: ["default:kept"] } });
    const text = await (await fetch(`${base}/metrics`)).text();
    assert.match(text, /telebus_http_refused_origin_not_allowed_total 9/);
    // A tool without Origin still runs the mutation.
    assert.deepEqual((await gql("mutation { flush }")).body, { data: { flush: 1 } });
    assert.deepEqual((await gql("{ streamIds }")).body, { data: { streamIds: [] } });
  } finally {
    await t.close();
  }
});

Deno.test("web access: cors_origins opens the daemon to the listed origins only", async () => {
  const { t, gql } = await setup({ cors_origins: ["http://dash.local"] });
  try {
    const listed = await fetch(`http://${t.url}/streamer/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: "http://dash.local" },
      body: JSON.stringify({ query: "{ streamIds }" }),
    });
    assert.equal(listed.headers.get("access-control-allow-origin"), "http://dash.local");
    assert.deepEqual(await listed.json(), { data: { streamIds: ["default:kept"] } });
    assert.equal((await gql("{ streamIds }", { origin: "http://evil.example" })).status, 403);
    assert.equal(await upgradeStatus(t.url, "/ws", { origin: "http://dash.local" }), 101);
    assert.equal(await upgradeStatus(t.url, "/ws", { origin: "http://evil.example" }), 403);
  } finally {
    await t.close();
  }
  const any = await setup({ cors_origins: ["*"] });
  try {
    assert.deepEqual((await any.gql("{ streamIds }", { origin: "http://evil.example" })).body, {
      data: { streamIds: ["default:kept"] },
    });
    assert.equal(await upgradeStatus(any.t.url, "/ws", { origin: "http://evil.example" }), 101);
  } finally {
    await any.t.close();
  }
});

Deno.test("web access: DNS rebinding (a foreign host name pointed at 127.0.0.1) is refused to browsers", async () => {
  const { t } = await setup();
  try {
    const port = t.daemon.http.addr!.port;
    const evil = `evil.example:${port}`;
    // The page's own origin and Host agree, but the name is not this loopback server's.
    const rebound = { host: evil, origin: `http://${evil}` };
    assert.equal(await upgradeStatus(t.url, "/ws", rebound), 403);
    assert.equal(await getStatus(t.url, "/metrics", rebound), 403);
    // A same-origin GET carries no Origin, but a browser says Sec-Fetch-Site.
    assert.equal(await getStatus(t.url, "/metrics", { host: evil, "sec-fetch-site": "same-origin" }), 403);
    // Loopback names are the server's own; tools (no browser headers) are not affected.
    assert.equal(
      await getStatus(t.url, "/metrics", { host: `localhost:${port}`, origin: `http://localhost:${port}` }),
      200,
    );
    assert.equal(
      await upgradeStatus(t.url, "/ws", { host: `localhost:${port}`, origin: `http://localhost:${port}` }),
      101,
    );
    assert.equal(await getStatus(t.url, "/metrics", { host: evil }), 200);
    const text = await (await fetch(`http://${t.url}/metrics`)).text();
    assert.match(text, /telebus_http_refused_host_not_allowed_total 3/);
  } finally {
    await t.close();
  }
  // A reverse proxy that forwards its own host name: list its origin.
  const proxied = await setup({ cors_origins: ["https://robot.example"] });
  try {
    const headers = { host: "robot.example", origin: "https://robot.example" };
    assert.equal(await upgradeStatus(proxied.t.url, "/ws", headers), 101);
  } finally {
    await proxied.t.close();
  }
});
