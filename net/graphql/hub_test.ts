import assert from "node:assert/strict";
import type { HttpRoutes, RouteHandler } from "../../core/http.ts";
import { DEFAULT_LIMITS } from "./limits.ts";
import { joinGraphql } from "./hub.ts";
import { mergeSdl } from "./merge.ts";

/** Routes kept in a map: requests are handed to them directly. */
function routes(): HttpRoutes & { call(path: string, query: string): Promise<Response> } {
  const table = new Map<string, RouteHandler>();
  return {
    route(path, handler) {
      if (table.has(path)) throw new Error(`HTTP route ${path} registered twice`);
      table.set(path, handler);
    },
    call(path, query) {
      const req = new Request(`http://127.0.0.1${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query }),
      });
      return Promise.resolve(table.get(path)!(req, undefined as unknown as Deno.ServeHandlerInfo));
    },
  };
}

const member = (sdl: string, query: Record<string, unknown>, maxDepth = DEFAULT_LIMITS.maxDepth) => ({
  sdl,
  roots: { query },
  limits: { ...DEFAULT_LIMITS, maxDepth },
  graphiql: true,
});

Deno.test("mergeSdl: root fields are put together; a field or type defined twice is named", () => {
  const s = mergeSdl([
    { name: "a", sdl: "scalar JSON type Query { x: JSON }" },
    { name: "b", sdl: '"other text" scalar JSON type Query { y: Int } type Mutation { z: Int }' },
  ]);
  assert.deepEqual(Object.keys(s.getQueryType()!.getFields()), ["x", "y"]);
  assert.deepEqual(Object.keys(s.getMutationType()!.getFields()), ["z"]);
  assert.throws(
    () => mergeSdl([{ name: "a", sdl: "type Query { x: Int }" }, { name: "b", sdl: "type Query { x: String }" }]),
    /Query\.x is defined by both a and b/,
  );
  assert.throws(
    () =>
      mergeSdl([{ name: "a", sdl: "type T { x: Int } type Query { t: T }" }, { name: "b", sdl: "type T { y: Int }" }]),
    /type T is defined by both a and b/,
  );
});

Deno.test("joinGraphql: one endpoint per path answers every member, the alias too; leaving rebuilds; none left is 503", async () => {
  const http = routes();
  const a = joinGraphql(
    http,
    "/graphql",
    "telebus",
    "output a",
    member("type Query { a: Int n: N } type N { m: Int }", { a: () => 1 }),
  );
  const b = joinGraphql(http, "/graphql", "streamer", "store b", member("type Query { b: Int }", { b: () => 2 }, 1), [
    "/old",
  ]);
  assert.throws(
    () => joinGraphql(http, "/graphql", "streamer", "store c", member("type Query { c: Int }", {})),
    /GraphQL path \/graphql is served by store b already/,
  );
  assert.deepEqual(await (await http.call("/graphql", "{ a b }")).json(), { data: { a: 1, b: 2 } });
  assert.deepEqual(await (await http.call("/old", "{ a b }")).json(), { data: { a: 1, b: 2 } });
  // The strictest limits apply: b allows depth 1 only, so a's nested field is refused too.
  const deep = await http.call("/graphql", "{ n { m } }");
  assert.equal(deep.status, 400);
  assert.match((await deep.json()).errors[0].message, /depth 2 exceeds the limit of 1/);
  b.leave();
  const onlyA = await (await http.call("/graphql", "{ b }")).json();
  assert.match(onlyA.errors[0].message, /Cannot query field "b"/);
  a.leave();
  assert.equal((await http.call("/graphql", "{ a }")).status, 503);
});
