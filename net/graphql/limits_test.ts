import assert from "node:assert/strict";
import { getIntrospectionQuery, parse, validate } from "npm:graphql@^16.11.0";
import { telebusSchema } from "../../transports/graphql/api.ts";
import {
  checkQueryText,
  DEFAULT_LIMITS,
  ErrorCode,
  MAX_NESTING,
  measureOperation,
  queryLimits,
  REFUSAL_LOG_INTERVAL_MS,
  RefusalLog,
} from "./limits.ts";

const refusals = (query: string, limits = DEFAULT_LIMITS) =>
  validate(telebusSchema, parse(query), [queryLimits(limits)]).map((e) => [e.extensions.code, e.message]);

Deno.test("graphql limits: aliases, fields, cost and depth of an operation, fragments expanded", () => {
  assert.deepEqual(measureOperation(telebusSchema, parse(`{ outputs { name records } }`)), {
    depth: 2,
    aliases: 0,
    fields: 3,
    cost: 1 + 10 * 2, // a list multiplies what is below it
  });
  const withFragments = parse(`
    query { a: latest(stream: "s") { ...R } b: latest(stream: "t") { ...R } __typename }
    fragment R on Record { x: stream data }`);
  assert.deepEqual(measureOperation(telebusSchema, withFragments), { depth: 2, aliases: 4, fields: 7, cost: 7 });
  // GraphiQL's introspection query passes the default limits (introspection costs nothing and has no depth).
  assert.deepEqual(refusals(getIntrospectionQuery()), []);
});

Deno.test("graphql limits: each limit is refused with its count, its limit and a code", () => {
  const aliases = `{ ${Array.from({ length: 1000 }, (_, i) => `a${i}: __typename`).join(" ")} }`;
  assert.deepEqual(refusals(aliases), [[ErrorCode.tooManyAliases, "query has 1000 aliases; the limit is 100"]]);
  const fields = `{ ${"__typename ".repeat(1500)} }`;
  assert.deepEqual(refusals(fields), [[ErrorCode.tooManyFields, "query has 1500 fields; the limit is 1000"]]);
  assert.deepEqual(refusals(`{ telebusStreams { stream } inputs { name } }`, { ...DEFAULT_LIMITS, maxCost: 20 }), [
    [ErrorCode.tooCostly, "query has an estimated cost of 22; the limit is 20"],
  ]);
  assert.deepEqual(refusals(`{ latest(stream: "s") { stream } }`, { ...DEFAULT_LIMITS, maxDepth: 1 }), [
    [ErrorCode.tooDeep, "query depth 2 exceeds the limit of 1"],
  ]);
  // Fields of fragments nobody spreads still cost graphql-js's own validation: the document's total counts too.
  const unused = `{ __typename } fragment F on Query { ${"__typename ".repeat(1200)} }`;
  assert.deepEqual(refusals(unused), [[ErrorCode.tooManyFields, "query has 1201 fields; the limit is 1000"]]);
});

Deno.test("graphql limits: a fragment bomb is measured in one linear pass", () => {
  // F0 spreads F1 twice, F1 spreads F2 twice… : 2^40 fields once expanded.
  const levels = 40;
  let doc = `{ latest(stream: "s") { ...F0 } }`;
  for (let i = 0; i < levels; i++) doc += ` fragment F${i} on Record { ...F${i + 1} ...F${i + 1} }`;
  doc += ` fragment F${levels} on Record { a: stream }`;
  const started = performance.now();
  const errors = refusals(doc);
  assert.ok(performance.now() - started < 1000, "not walked 2^40 times");
  assert.deepEqual(errors.map(([code]) => code), [
    ErrorCode.tooManyAliases,
    ErrorCode.tooManyFields,
    ErrorCode.tooCostly,
  ]);
  assert.equal(errors[0][1], `query has ${2 ** levels} aliases; the limit is 100`);
});

Deno.test("graphql limits: the text is refused before parsing when too long or nested too deep", () => {
  const long = `{ ${"__typename ".repeat(10_000)} }`;
  const big = checkQueryText(long, DEFAULT_LIMITS);
  assert.equal(big?.message, `query has ${long.length} bytes; the limit is 65536`);
  assert.equal(big?.extensions.code, ErrorCode.queryTooLarge);
  // graphql-js's recursive parser overflows its stack at a few thousand levels, answering {"errors":[{}]}.
  const deep = "{" + "a{".repeat(5000) + "b" + "}".repeat(5001);
  const nested = checkQueryText(deep, DEFAULT_LIMITS);
  assert.equal(nested?.message, `query nests more than ${MAX_NESTING} brackets deep (line 1, column 257)`);
  assert.equal(checkQueryText(getIntrospectionQuery(), DEFAULT_LIMITS), undefined);
  assert.equal(checkQueryText(`{ "unterminated`, DEFAULT_LIMITS), undefined, "syntax errors are the parser's");
  // Multi-byte text is measured in UTF-8 bytes.
  const wide = `{ latest(stream: "${"é".repeat(40_000)}") { stream } }`;
  assert.match(checkQueryText(wide, DEFAULT_LIMITS)?.message ?? "", /^query has 800\d\d bytes/);
});

Deno.test("graphql limits: refusals are logged once per client and reason a minute, with the number left out", () => {
  const lines: [string, Record<string, unknown> | undefined][] = [];
  const log = { warn: (msg: string, fields?: Record<string, unknown>) => void lines.push([msg, fields]) };
  let now = 0;
  const refusals = new RefusalLog(log, "/graphql", () => now);
  for (let i = 0; i < 1000; i++) refusals.report("10.0.0.1", "TOO_MANY_ALIASES", "query has 12000 aliases");
  refusals.report("10.0.0.1", "TOO_DEEP", "query depth 12");
  refusals.report("10.0.0.2", "TOO_MANY_ALIASES", "query has 12000 aliases");
  assert.equal(lines.length, 3);
  assert.deepEqual(lines[0], ["GraphQL request refused", {
    path: "/graphql",
    peer: "10.0.0.1",
    code: "TOO_MANY_ALIASES",
    error: "query has 12000 aliases",
  }]);
  now += REFUSAL_LOG_INTERVAL_MS;
  refusals.report("10.0.0.1", "TOO_MANY_ALIASES", "query has 12000 aliases");
  assert.equal(lines.length, 4);
  assert.equal(lines[3][1]?.same_since_last_line, 999);
});
