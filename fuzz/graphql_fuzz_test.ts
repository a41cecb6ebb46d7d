/**
 * Fuzz target: GraphQL requests over HTTP (net/graphql/server.ts) on
 * the streamer's schema and store. POST bodies that are random text, random
 * JSON, or valid requests with the query text damaged, the variables and the
 * operation name replaced; GET query strings alike. The endpoint never
 * throws, answers 200 or 400 (405 for other methods and for a mutation over GET) with a JSON body that
 * holds `data` or `errors`, and no request takes longer than the hang limit.
 */
import assert from "node:assert/strict";
import fc from "npm:fast-check@^4.10.2";
import { GraphqlEndpoint } from "../net/graphql/server.ts";
import { DEFAULT_LIMITS } from "../net/graphql/limits.ts";
import { streamerRoots, streamerSchema } from "../transports/streamer/graphql.ts";
import { MemoryStreamStore } from "../transports/streamer/store.ts";
import { fuzz, hostileText } from "./runner.ts";

const QUERIES = [
  `{ devices { id meta streamIds } }`,
  `query Q($id: String!) { stream(id: $id) { id length firstEntryId lastEntryId lastEntryJson lastEntryTime(format: "ms") } }`,
  `{ streams(match: "default:*") { id length lastEntryData lastEntryString firstEntryTime(format: "%Y-%m-%d %H:%M:%S") } }`,
  `{ streamIds(match: "*", searchMeta: true) device(id: "default") { streams { id meta } stream(streamId: "a") { length } } }`,
  `mutation M($m: JSON!) { updateStreamMeta(streamId: "a", meta: $m, update: true) }`,
  `mutation { connectDevice(deviceId: "d", meta: {x: 1}) disconnectDevice(deviceId: "d") }`,
  `mutation { deleteStream(streamId: "b") }`,
  `subscription { streams(streamIds: ["a"]) { ... on DataPayload { data } } }`,
  `query A { streamIds } query B { devices { id } }`,
  `{ stream(id: "a") { ...F } } fragment F on Stream { id error groups radixTreeKeys }`,
  `{ __schema { types { name fields { name } } } }`,
  `{ a: stream(id: "a") { b: device { id } } }`,
];

const variables = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.jsonValue({ maxDepth: 2 }),
  fc.record({ id: fc.oneof(fc.string(), fc.integer()), m: fc.jsonValue({ maxDepth: 2 }) }, { requiredKeys: [] }),
);
const operationName = fc.oneof(
  fc.constant(undefined),
  fc.constantFrom("Q", "M", "A", "B", "Z"),
  fc.jsonValue({ maxDepth: 1 }),
);
const queryText = hostileText(fc.constantFrom(...QUERIES), 600);

/** A request body: a GraphQL request object (fields possibly of the wrong type), any JSON, or any text. */
const postBody = fc.oneof(
  fc.record({ query: queryText, variables, operationName }, { requiredKeys: [] }).map((b) => JSON.stringify(b)),
  fc.record({ query: fc.jsonValue({ maxDepth: 1 }), variables, operationName }, { requiredKeys: [] }).map((b) =>
    JSON.stringify(b)
  ),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 64 }),
);

Deno.test("fuzz graphql: any request is answered 200, 400 or 405 with data or errors", async () => {
  const store = new MemoryStreamStore({ maxStreams: 16, maxlen: 8 });
  const stop = new AbortController();
  for (const k of ["default:a", "default:b", "d:c"]) {
    store.addSync(k, new TextEncoder().encode('{"x": 1}'));
    store.addSync(k, Uint8Array.from([0xff, 0x00]));
  }
  const endpoint = new GraphqlEndpoint({
    path: "/graphql",
    schema: streamerSchema(true),
    roots: streamerRoots(store, { devicePrefixing: true, signal: stop.signal }),
    limits: { ...DEFAULT_LIMITS, maxDepth: 6 },
    graphiql: true,
  });
  const statuses = new Map<number, number>();
  try {
    await fuzz(
      "graphql.request",
      fc.oneof(
        fc.tuple(fc.constant("POST"), postBody, fc.constant(undefined)),
        fc.tuple(fc.constant("GET"), queryText, fc.option(fc.string({ maxLength: 40 }), { nil: undefined })),
        fc.tuple(fc.constantFrom("PUT", "HEAD"), fc.constant(""), fc.constant(undefined)),
      ),
      async ([method, text, vars]) => {
        let req: Request;
        if (method === "POST") {
          req = new Request("http://127.0.0.1/graphql", {
            method,
            body: text,
            headers: { "content-type": "application/json" },
          });
        } else {
          const q = new URLSearchParams({ query: text });
          if (vars !== undefined) q.set("variables", vars);
          req = new Request(`http://127.0.0.1/graphql?${q}`, { method });
        }
        const res = await endpoint.handle(req);
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (method === "PUT" || method === "HEAD") {
          assert.equal(res.status, 405);
          await res.body?.cancel();
          return;
        }
        // 405: a mutation over GET (queries only there).
        const allowed = method === "GET" ? [200, 400, 405] : [200, 400];
        assert.ok(allowed.includes(res.status), `status ${res.status}`);
        const body = await res.json();
        assert.ok("data" in body || Array.isArray(body.errors), `neither data nor errors: ${JSON.stringify(body)}`);
      },
    );
  } finally {
    stop.abort();
    endpoint.close();
    await store.close();
  }
  // Both ends are reached: requests that execute, requests refused.
  assert.ok((statuses.get(200) ?? 0) > 0 && (statuses.get(400) ?? 0) > 0, JSON.stringify([...statuses]));
});
