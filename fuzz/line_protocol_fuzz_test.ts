/**
 * Fuzz target: line protocol (codecs/line_protocol.ts). Outside input reaches
 * it as records from any input (their keys, values, point dictionaries and
 * times become lines) and as lines InfluxDB names in its errors (read back
 * with `parseLine`). Any record either becomes a line that reads back, or is
 * refused with `LineProtocolError`; any text given to `parseLine` or
 * `parseRfc3339` reads or throws `LineProtocolError`; escaping round-trips:
 * names, tags, string fields and times come back as they were.
 */
import assert from "node:assert/strict";
import fc from "npm:fast-check@^4.10.2";
import {
  encodePoint,
  encodeRecord,
  LineProtocolError,
  parseRfc3339,
  type Point,
  type TimePrecision,
} from "../codecs/line_protocol.ts";
import { parseLine } from "../codecs/line_protocol_parse.ts";
import { makeRecord } from "../core/record.ts";
import type { Dict } from "../core/record.ts";
import { record, recordValue } from "./arbitraries.ts";
import { expectOnly, fuzz, hostileText } from "./runner.ts";

/** Names with the characters line protocol escapes, and the ones it cannot write (newline, trailing backslash). */
const name = fc.oneof(
  fc.string({ maxLength: 10 }),
  fc.string({ unit: fc.constantFrom("a", "b", " ", ",", "=", "\\", '"', "\n", "é"), maxLength: 8 }),
);

const time = fc.oneof(
  fc.constant(undefined),
  fc.bigInt({ min: -(1n << 70n), max: 1n << 70n }),
  fc.double(),
  fc.integer(),
  fc.date({ noInvalidDate: false }),
  fc.string({ maxLength: 30 }),
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  fc.constantFrom("2024-02-30T25:61:61Z", "2024-01-01T00:00:00.123456789123+14:00", "0000-01-01T00:00:00z"),
  recordValue,
);
const precision = fc.constantFrom<TimePrecision>("ns", "us", "ms", "s", "m", "h");

const point = fc.record({
  measurement: name,
  tags: fc.dictionary(name, fc.oneof(name, fc.integer(), fc.boolean(), fc.constant(null)), { maxKeys: 3 }),
  fields: fc.dictionary(name, recordValue, { minKeys: 1, maxKeys: 4 }),
  time,
});

/** A record: plain telemetry, or a point dictionary with whatever a sender put in it. */
const anyRecord = fc.oneof(record, point.map((p) => p as unknown as Dict));
const mapping = fc.record({
  measurement: fc.option(name, { nil: undefined }),
  tagKeys: fc.option(fc.array(name, { maxLength: 2 }), { nil: undefined }),
  numbers: fc.constantFrom("float" as const, "auto" as const),
  precision,
  separator: fc.constantFrom("/", ".", "_"),
  tags: fc.option(fc.dictionary(name, name, { maxKeys: 2 }), { nil: undefined }),
}, { requiredKeys: [] });

Deno.test("fuzz line protocol: any record becomes a readable line or a LineProtocolError", async () => {
  await fuzz(
    "line_protocol.encode",
    fc.tuple(anyRecord, name, fc.bigInt({ min: 0n, max: 1n << 62n }), mapping),
    ([data, stream, t, map]) => {
      const r = expectOnly(() => encodeRecord(makeRecord(stream, t, data, "fuzz"), map), [LineProtocolError]);
      if ("value" in r) parseLine(r.value);
    },
  );
});

Deno.test("fuzz line protocol: names, tags, strings and times round-trip through encodePoint and parseLine", async () => {
  await fuzz("line_protocol.roundtrip", fc.tuple(point, precision), ([p, prec]) => {
    const r = expectOnly(() => encodePoint(p as Point, 7n, { precision: prec }), [LineProtocolError]);
    if ("error" in r) return;
    const back = parseLine(r.value);
    assert.equal(back.measurement, p.measurement);
    for (const [k, v] of Object.entries(p.tags)) {
      if (v !== null && v !== "" && k !== "") assert.equal(back.tags[k], String(v));
    }
    for (const [k, v] of Object.entries(p.fields)) {
      if (typeof v === "string" && k !== "") assert.deepEqual(back.fields[k], { type: "string", value: v });
      if (typeof v === "boolean" && k !== "") assert.deepEqual(back.fields[k], { type: "boolean", value: String(v) });
    }
    if (p.time === undefined || p.time === null) assert.equal(back.time, 7n);
    else if (typeof p.time === "string") assert.equal(back.time, parseRfc3339(p.time));
  });
});

const validLine = point.map((p) => {
  try {
    return encodePoint(p as Point, 1n);
  } catch {
    return "m f=1 1";
  }
});

Deno.test("fuzz line protocol: parseLine and parseRfc3339 take any text", async () => {
  const validTime = fc.date({ noInvalidDate: true }).map((d) => d.toISOString());
  await fuzz("line_protocol.parse", fc.tuple(hostileText(validLine), hostileText(validTime, 40)), ([line, t]) => {
    expectOnly(() => parseLine(line), [LineProtocolError]);
    expectOnly(() => parseRfc3339(t), [LineProtocolError]);
  });
});
