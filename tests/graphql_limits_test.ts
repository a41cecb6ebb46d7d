/**
 * GraphQL refusals in a real daemon process: a flood of over-limit requests
 * from one client is answered every time but logged once per reason, naming
 * the client, the path and the code, on both endpoints.
 */
import assert from "node:assert/strict";
import { DaemonProcess, until } from "../testing/mod.ts";

Deno.test("graphql limits: a flood of refused requests is logged once per client and reason, naming them", async () => {
  const dir = await Deno.makeTempDir({ prefix: "telebus-graphql-limits-" });
  const config = `${dir}/telebus.toml`;
  await Deno.writeTextFile(
    config,
    `[daemon]\nhttp = "127.0.0.1:0"\ndata_dir = "${dir}"\ndashboard = false\n\n` +
      // Two endpoints: the streamer's schema on its own path (by default it would join telebus's at /graphql).
      `[[outputs.graphql]]\n\n[[outputs.streamer]]\ngraphql = true\ngraphql_path = "/streamer/graphql"\n`,
  );
  const d = await DaemonProcess.start(config);
  try {
    const post = async (path: string, query: string) => {
      const r = await fetch(d.url + path, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query }),
      });
      return { status: r.status, body: await r.json() };
    };
    const aliases = `{ ${Array.from({ length: 200 }, (_, i) => `a${i}: __typename`).join(" ")} }`;
    for (let i = 0; i < 50; i++) {
      const r = await post("/graphql", aliases);
      assert.equal(r.status, 400);
      assert.equal(r.body.errors[0].message, "query has 200 aliases; the limit is 100");
    }
    await post("/streamer/graphql", aliases);
    const plain = await fetch(d.url + "/graphql", { method: "POST", body: "{ __typename }" });
    assert.equal(plain.status, 415);
    assert.equal((await plain.json()).errors[0].extensions.code, "BAD_REQUEST");
    // Written after the floods: once it is in the log, so is everything they logged.
    await post("/graphql", "{ a(");
    await until(() => `the refusal logged:\n${d.log}`, () => d.log.includes("GRAPHQL_PARSE_FAILED"));
    const refused = d.log.split("\n").filter((l) => l.includes("GraphQL request refused"));
    assert.equal(refused.length, 4, refused.join("\n"));
    assert.match(
      refused[0],
      /WARN .*path=\/graphql peer=127\.0\.0\.1 code=TOO_MANY_ALIASES error="query has 200 aliases; the limit is 100"/,
    );
    assert.match(refused[1], /path=\/streamer\/graphql peer=127\.0\.0\.1 code=TOO_MANY_ALIASES/);
    assert.match(refused[2], /code=BAD_REQUEST error=.*POST needs content-type application\/json/);
    assert.match(refused[3], /code=GRAPHQL_PARSE_FAILED error="Syntax Error/);
    assert.equal(await d.metric('telebus_output_refused_too_many_aliases_total{output="graphql'), 50);
  } finally {
    await d.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
