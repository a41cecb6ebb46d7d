import assert from "node:assert/strict";
import {
  encodePoint,
  encodeRecord,
  escapeKey,
  escapeMeasurement,
  formatField,
  LineProtocolError,
  parseRfc3339,
  pointTimeNs,
  quoteString,
  recordToPoint,
} from "./line_protocol.ts";
import { parseLine } from "./line_protocol_parse.ts";
import { makeRecord } from "../core/record.ts";

const T = 1_704_067_200_000_000_000n; // 2024-01-01T00:00:00Z

Deno.test("line protocol: dataRT's example point gives influxdb-python's line (booleans as true/false)", () => {
  const line = encodePoint(
    {
      measurement: "test",
      tags: { tester: "basic ex", a: "1" },
      fields: { value: 2, f: 1.5, s: 'é "q"', b: true },
      time: "2024-01-01T00:00:00Z",
    },
    0n,
    { numbers: "auto" },
  );
  assert.equal(line, 'test,a=1,tester=basic\\ ex b=true,f=1.5,s="é \\"q\\"",value=2i 1704067200000000000');
});

Deno.test("line protocol: escaping of measurement, tag keys and values, field keys, strings", () => {
  assert.equal(escapeMeasurement("cpu load,x=1"), "cpu\\ load\\,x=1");
  assert.equal(escapeKey("a b,c=d"), "a\\ b\\,c\\=d");
  assert.equal(escapeKey("plain"), "plain");
  assert.equal(escapeKey("back\\slash"), "back\\slash", "a backslash inside a name is kept literally");
  assert.equal(quoteString('say "hi" \\ ok\nnext'), '"say \\"hi\\" \\\\ ok\nnext"');
  assert.throws(() => escapeKey("ends\\"), LineProtocolError);
  assert.throws(() => escapeMeasurement("two\nlines"), LineProtocolError);
  assert.throws(() => escapeKey("two\nlines"), LineProtocolError);
  const line = encodePoint({ measurement: "m x,y", tags: { "k 1": "a,b=c d" }, fields: { "f=1": "v" } }, 5n);
  assert.equal(line, 'm\\ x\\,y,k\\ 1=a\\,b\\=c\\ d f\\=1="v" 5');
});

Deno.test("line protocol: field types (float, int i, uint u, bool, string) and skipped values", () => {
  assert.equal(formatField(1.5), "1.5");
  assert.equal(formatField(2), "2", "numbers are floats by default");
  assert.equal(formatField(2, "auto"), "2i");
  assert.equal(formatField(2.5, "auto"), "2.5");
  assert.equal(formatField(1e21), "1e+21");
  assert.equal(formatField(-0.000001), "-0.000001");
  assert.equal(formatField(2n ** 60n), "1152921504606846976i");
  assert.equal(formatField(-(2n ** 63n)), "-9223372036854775808i");
  assert.equal(formatField(2n ** 63n), "9223372036854775808u");
  assert.equal(formatField(2n ** 64n - 1n), "18446744073709551615u");
  assert.equal(formatField(2n ** 64n), undefined);
  assert.equal(formatField(true), "true");
  assert.equal(formatField(false), "false");
  assert.equal(formatField(""), '""');
  for (const v of [NaN, Infinity, null, undefined, [1], new Uint8Array(2), { a: 1 }]) {
    assert.equal(formatField(v as never), undefined);
  }
  const counts = { skippedFields: 0 };
  const line = encodePoint(
    { measurement: "m", fields: { a: 1, l: [1, 2], n: null, x: NaN, b: new Uint8Array(1) } },
    1n,
    {},
    counts,
  );
  assert.equal(line, "m a=1 1");
  assert.equal(counts.skippedFields, 4);
});

Deno.test("line protocol: a point with no writable field, or no measurement, is refused", () => {
  assert.throws(() => encodePoint({ measurement: "m", fields: { l: [1] } }, 1n), LineProtocolError);
  assert.throws(() => encodePoint({ measurement: "", fields: { a: 1 } }, 1n), LineProtocolError);
});

Deno.test("line protocol: times keep nanoseconds (RFC 3339, precisions, Date, bigint)", () => {
  assert.equal(parseRfc3339("2024-01-01T00:00:00Z"), T);
  assert.equal(parseRfc3339("2024-01-01T00:00:00.123456789Z"), T + 123_456_789n);
  assert.equal(parseRfc3339("2024-01-01T00:00:00.5Z"), T + 500_000_000n);
  assert.equal(parseRfc3339("2024-01-01T02:00:00+02:00"), T);
  assert.equal(parseRfc3339("2023-12-31T23:30:00.000000001-00:30"), T + 1n);
  assert.throws(() => parseRfc3339("yesterday"), LineProtocolError);
  assert.equal(pointTimeNs(undefined, 7n), 7n);
  assert.equal(pointTimeNs(1704067200, 0n, "s"), T);
  assert.equal(pointTimeNs(1704067200123, 0n, "ms"), T + 123_000_000n);
  assert.equal(pointTimeNs(1704067200123456n, 0n, "us"), T + 123_456_000n);
  assert.equal(pointTimeNs(1704067200000000001n, 0n), T + 1n);
  assert.equal(pointTimeNs(new Date(Date.UTC(2024, 0, 1)), 0n), T);
  assert.equal(pointTimeNs(1.5, 0n, "s"), 1_500_000_000n);
  const r = makeRecord("s", T + 999n, { v: 1 }, "in");
  assert.ok(encodeRecord(r).endsWith(" 1704067200000000999"), "the record's ns time is kept");
});

Deno.test("line protocol: records that are not points: stream as measurement, tag keys, static tags, flattening", () => {
  const r = makeRecord("robot/imu", T, {
    robot: "r1",
    acc: { x: 1.5, y: -2 },
    ok: true,
    list: [1, 2],
    note: "a b",
  }, "gen");
  const counts = { skippedFields: 0 };
  const p = recordToPoint(r, { tagKeys: ["robot"], tags: { site: "lab" } }, counts);
  assert.deepEqual(p, {
    measurement: "robot/imu",
    tags: { site: "lab", robot: "r1" },
    fields: { "acc/x": 1.5, "acc/y": -2, ok: true, list: [1, 2], note: "a b" },
  });
  assert.equal(
    encodeRecord(r, { tagKeys: ["robot"], tags: { site: "lab" } }, counts),
    'robot/imu,robot=r1,site=lab acc/x=1.5,acc/y=-2,ok=true,note="a b" 1704067200000000000',
    "tags sorted, fields in the dictionary's order",
  );
  assert.equal(counts.skippedFields, 1);
  assert.equal(
    encodeRecord(r, { measurement: "imu", separator: "_", numbers: "auto" }),
    'imu robot="r1",acc_x=1.5,acc_y=-2i,ok=true,note="a b" 1704067200000000000',
  );
});

Deno.test("line protocol: encodeRecord's fast path agrees with recordToPoint + encodePoint", () => {
  const r = makeRecord("a b,c", T, { t: "x y", n: { "k=1": 2, deep: { z: 'q"' } }, f: 1.5, l: [1], "": 3 }, "in");
  const mapping = { tagKeys: ["t"], tags: { s: "v" }, numbers: "auto" as const };
  const c1 = { skippedFields: 0 }, c2 = { skippedFields: 0 };
  const fast = parseLine(encodeRecord(r, mapping, c1));
  const slow = parseLine(encodePoint(recordToPoint(r, mapping, c2), r.time, mapping, c2));
  assert.deepEqual(fast, slow);
  assert.equal(c1.skippedFields, c2.skippedFields);
  assert.equal(c1.skippedFields, 2);
});

Deno.test("line protocol: point dictionaries are used as they are, with static tags and their own time", () => {
  const r = makeRecord("ignored", T, {
    measurement: "cpu",
    tags: { host: "a", empty: "" },
    fields: { load: 0.5 },
    time: "2024-01-01T00:00:01.000000002Z",
  }, "in");
  assert.equal(encodeRecord(r, { tags: { host: "static", dc: "x" } }), "cpu,dc=x,host=a load=0.5 1704067201000000002");
  const noTime = makeRecord("s", T + 3n, { measurement: "cpu", fields: { load: 1 } }, "in");
  assert.equal(encodeRecord(noTime), "cpu load=1 1704067200000000003");
  const intTime = makeRecord("s", T, { measurement: "cpu", fields: { load: 1 }, time: 1704067200 }, "in");
  assert.equal(encodeRecord(intTime, { precision: "s" }), "cpu load=1 1704067200000000000");
});

Deno.test("line protocol: parseLine reads back what encodePoint writes", () => {
  const point = {
    measurement: "m x,y",
    tags: { "k 1": "a,b=c d", z: "back\\slash" },
    fields: { "f=1": 'str "q" \\ end', "i,n": 5n, f: 1.25, b: false, u: 2n ** 63n },
  };
  const line = encodePoint(point, T);
  const parsed = parseLine(line);
  assert.deepEqual(parsed, {
    measurement: "m x,y",
    tags: { "k 1": "a,b=c d", z: "back\\slash" },
    fields: {
      "f=1": { type: "string", value: 'str "q" \\ end' },
      "i,n": { type: "integer", value: "5" },
      f: { type: "float", value: "1.25" },
      b: { type: "boolean", value: "false" },
      u: { type: "unsigned", value: "9223372036854775808" },
    },
    time: T,
  });
});

// Regressions found by fuzz/line_protocol_fuzz_test.ts.

Deno.test("line protocol (fuzz regression): parseLine refuses a bad time with LineProtocolError, not SyntaxError", () => {
  assert.throws(() => parseLine("m fm f1"), LineProtocolError);
  assert.throws(() => parseLine("m f=1 12x"), LineProtocolError);
});

Deno.test("line protocol (fuzz regression): quotes outside string fields are plain characters", () => {
  const line = encodePoint({ measurement: '"', tags: { 'k"': 'v"' }, fields: { 'f"': 1, s: 'a "q", b' } }, 5n);
  assert.equal(line, '",k"=v" f"=1,s="a \\"q\\", b" 5');
  assert.deepEqual(parseLine(line), {
    measurement: '"',
    tags: { 'k"': 'v"' },
    fields: { 'f"': { type: "float", value: "1" }, s: { type: "string", value: 'a "q", b' } },
    time: 5n,
  });
});

Deno.test("line protocol (fuzz regression): a backslash before an escaped character is refused", () => {
  // `\ ` would be written `\\ `, which InfluxDB (and parseLine) split after `\\`.
  assert.throws(() => encodePoint({ measurement: "a\\ b", fields: { f: 1 } }, 0n), LineProtocolError);
  assert.throws(() => encodePoint({ measurement: "m", tags: { t: "x\\,y" }, fields: { f: 1 } }, 0n), LineProtocolError);
  assert.throws(() => encodePoint({ measurement: "m", fields: { "k\\=": 1 } }, 0n), LineProtocolError);
  // A backslash elsewhere is written as it is.
  assert.equal(encodePoint({ measurement: "a\\b c", fields: { f: 1 } }, 0n), "a\\b\\ c f=1 0");
});

Deno.test("line protocol (fuzz regression): a time too large for int64 nanoseconds is a LineProtocolError", () => {
  for (const [time, precision] of [[1.8e299, "s"], [-5e295, "h"], [2n ** 62n, "s"], ["2300-01-01T00:00:00Z", "ns"]]) {
    assert.throws(
      () =>
        encodePoint({ measurement: "m", fields: { f: 1 }, time: time as number }, 0n, { precision: precision as "s" }),
      LineProtocolError,
      String(time),
    );
  }
  assert.match(encodePoint({ measurement: "m", fields: { f: 1 }, time: 1.5 }, 0n, { precision: "s" }), / 1500000000$/);
});
