/** Requests a GraphQL client may send wrong: answered 400 with errors, never an exception (regressions found by fuzz/graphql_fuzz_test.ts). */
import assert from "node:assert/strict";
import { buildSchema } from "npm:graphql@^16.11.0";
import { GraphqlEndpoint } from "./server.ts";
import { DEFAULT_LIMITS } from "./limits.ts";

function endpoint(): { ep: GraphqlEndpoint; bad: () => number } {
  let bad = 0;
  const ep = new GraphqlEndpoint({
    path: "/graphql",
    schema: buildSchema("type Query { a(x: Int): Int }"),
    roots: { query: { a: ({ x }: { x?: number }) => x ?? 1 } },
    limits: { ...DEFAULT_LIMITS, maxDepth: 5 },
    graphiql: false,
    stats: { count: (name) => void (name === "bad_requests" && bad++) },
  });
  return { ep, bad: () => bad };
}

const post = (body: string) =>
  new Request("http://127.0.0.1/graphql", { method: "POST", body, headers: { "content-type": "application/json" } });

Deno.test("graphql server (fuzz regression): a JSON body that is not an object is a 400, not a TypeError", async () => {
  const { ep, bad } = endpoint();
  for (const body of ["null", "[]", "5", '"{ a }"']) {
    const res = await ep.handle(post(body));
    assert.equal(res.status, 400, body);
    assert.match((await res.json()).errors[0].message, /JSON object/);
  }
  assert.equal(bad(), 4);
});

Deno.test("graphql server (fuzz regression): variables that are not a map are a 400, not a thrown Error", async () => {
  const { ep } = endpoint();
  const get = await ep.handle(new Request("http://127.0.0.1/graphql?query=%7Ba%7D&variables=0"));
  assert.equal(get.status, 400);
  assert.match((await get.json()).errors[0].message, /variables must be a JSON object/);
  const res = await ep.handle(post(JSON.stringify({ query: "query($x: Int) { a(x: $x) }", variables: "x" })));
  assert.equal(res.status, 400);
  // A good request still works.
  const ok = await ep.handle(post(JSON.stringify({ query: "query($x: Int) { a(x: $x) }", variables: { x: 3 } })));
  assert.deepEqual(await ok.json(), { data: { a: 3 } });
});
