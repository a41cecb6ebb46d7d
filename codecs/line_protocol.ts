/**
 * InfluxDB line protocol: points to lines and back, and the mapping of bus
 * records to points.
 *
 * A line is `measurement[,tag=value…] field=value[,field=value…] time`, tags and
 * fields sorted by key (as influxdb-python writes them), time in integer
 * nanoseconds. Escaping follows InfluxDB's parser (1.x and 2.x alike):
 *
 * - measurement: `,` and space get a backslash;
 * - tag keys, tag values, field keys: `,`, `=` and space get a backslash;
 * - string field values: quoted, `"` and `\` get a backslash (newlines stay);
 * - a backslash elsewhere is written as it is (InfluxDB keeps it literally),
 *   so a name that ends with a backslash, or holds a newline, cannot be
 *   written: such a point is refused with a {@linkcode LineProtocolError}.
 *
 * Field types: `bigint` is an integer (`2i`; beyond int64, an unsigned `2u`),
 * `boolean` is `true`/`false`, `string` is quoted, and a JavaScript `number`
 * is a float, unless `numbers: "auto"` asks for whole numbers to be integers
 * (what influxdb-python does with Python ints). NaN and ±Infinity cannot be
 * written and are skipped.
 *
 * @module
 */
import type { BusRecord, Dict, Value } from "../core/record.ts";
import { isDict } from "./flatten.ts";

/** A point as influxdb-python takes it: `{measurement, tags, fields, time}`. */
export interface Point {
  /** The measurement name. */
  measurement: string;
  /** Tag values by key (converted to strings); empty values are left out. */
  tags?: Record<string, string | number | bigint | boolean | null | undefined>;
  /** Field values by key. */
  fields: Record<string, Value | undefined>;
  /** Nanoseconds as bigint, an RFC 3339 string, a `Date`, or a number in the configured precision. */
  time?: bigint | number | string | Date | null;
}

/** Precision of integer times given in a point's `time` (influxdb-python's `time_precision`). */
export type TimePrecision = "ns" | "us" | "ms" | "s" | "m" | "h";

/** How JavaScript numbers are typed. */
export type NumberMode = "float" | "auto";

/** Options of {@linkcode encodePoint} and {@linkcode recordToPoint}. */
export interface LineOptions {
  /** `float` (default): every number is a float. `auto`: whole numbers (safe integers) are integers (`2i`). */
  numbers?: NumberMode;
  /** Unit of a number given as a point's `time` (default `ns`). */
  precision?: TimePrecision;
}

/** A point that cannot be written (no fields, a name InfluxDB cannot read back, a bad time). */
export class LineProtocolError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "LineProtocolError";
  }
}

/** Counts of what encoding left out, for the caller's counters. */
export interface EncodeCounts {
  /** Fields skipped: lists, bytes, maps, null, NaN/±Infinity. */
  skippedFields: number;
}

const MEASUREMENT_SPECIAL = /[, \n]|\\$/;
const KEY_SPECIAL = /[,= \n]|\\$/;

/**
 * Refuses names InfluxDB cannot read back: a newline, a trailing backslash, or a backslash right before a
 * character that gets escaped (`a\\ b` would be written `a\\\\ b`, which InfluxDB splits after `a\\\\`).
 */
function checkName(s: string, what: string, backslashBefore: RegExp): void {
  if (s.includes("\n")) throw new LineProtocolError(`${what} ${JSON.stringify(s)} holds a newline`);
  if (s.endsWith("\\")) throw new LineProtocolError(`${what} ${JSON.stringify(s)} ends with a backslash`);
  if (backslashBefore.test(s)) {
    throw new LineProtocolError(`${what} ${JSON.stringify(s)} has a backslash before a character that is escaped`);
  }
}

/** Escapes a measurement name (`,` and space). */
export function escapeMeasurement(s: string): string {
  if (!MEASUREMENT_SPECIAL.test(s)) return s;
  checkName(s, "measurement", /\\[, ]/);
  return s.replace(/[, ]/g, "\\$&");
}

/** Escapes a tag key, tag value or field key (`,`, `=` and space). */
export function escapeKey(s: string): string {
  if (!KEY_SPECIAL.test(s)) return s;
  checkName(s, "key or tag value", /\\[,= ]/);
  return s.replace(/[,= ]/g, "\\$&");
}

/** Quotes a string field value (`"` and `\` escaped). */
export function quoteString(s: string): string {
  return '"' + (/["\\]/.test(s) ? s.replace(/["\\]/g, "\\$&") : s) + '"';
}

const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);
const UINT64_MAX = (1n << 64n) - 1n;

/** A field value as line protocol, or undefined when it cannot be a field (counted by the caller). */
export function formatField(v: Value | undefined, numbers: NumberMode = "float"): string | undefined {
  switch (typeof v) {
    case "number":
      if (!Number.isFinite(v)) return undefined;
      if (numbers === "auto" && Number.isSafeInteger(v)) return v + "i";
      return String(v);
    case "bigint":
      if (v >= INT64_MIN && v <= INT64_MAX) return v + "i";
      if (v > 0n && v <= UINT64_MAX) return v + "u";
      return undefined;
    case "boolean":
      return v ? "true" : "false";
    case "string":
      return quoteString(v);
    default:
      return undefined;
  }
}

const PRECISION_NS: Record<TimePrecision, bigint> = {
  ns: 1n,
  us: 1000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9})\d*)?(Z|z|[+-]\d{2}:?\d{2})?$/;

/** Nanoseconds since the epoch of an RFC 3339 time (all nine fraction digits kept; no zone means UTC). */
export function parseRfc3339(s: string): bigint {
  const m = RFC3339.exec(s.trim());
  if (!m) throw new LineProtocolError(`time ${JSON.stringify(s)} is not RFC 3339`);
  const [, y, mo, d, h, mi, sec, frac, zone] = m;
  let ms = Date.UTC(+y, +mo - 1, +d, +h, +mi, +sec);
  if (Number.isNaN(ms)) throw new LineProtocolError(`time ${JSON.stringify(s)} is not a valid date`);
  if (zone && zone !== "Z" && zone !== "z") {
    const sign = zone[0] === "-" ? -1 : 1;
    const digits = zone.slice(1).replace(":", "");
    ms -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60_000;
  }
  return BigInt(ms) * 1_000_000n + BigInt((frac ?? "").padEnd(9, "0"));
}

/**
 * A point's `time` as nanoseconds since the epoch; `fallback` when it has none. Throws
 * {@linkcode LineProtocolError} for a time that is not understood or outside InfluxDB's int64 range (a line
 * with such a time would make InfluxDB refuse the whole batch).
 */
export function pointTimeNs(t: Point["time"], fallback: bigint, precision: TimePrecision = "ns"): bigint {
  if (t === undefined || t === null) return fallback;
  const ns = timeNs(t, precision);
  if (ns < INT64_MIN || ns > INT64_MAX) {
    throw new LineProtocolError(`time ${typeof t === "string" ? JSON.stringify(t) : String(t)} is out of range`);
  }
  return ns;
}

function timeNs(t: NonNullable<Point["time"]>, precision: TimePrecision): bigint {
  if (typeof t === "bigint") return t * PRECISION_NS[precision];
  if (typeof t === "number") {
    if (!Number.isFinite(t)) throw new LineProtocolError(`time ${t} is not a number`);
    const unit = PRECISION_NS[precision];
    if (Number.isSafeInteger(t)) return BigInt(t) * unit;
    // A fractional count of a coarse unit (seconds as a float): keep what a float holds.
    const ns = Math.round(t * Number(unit));
    if (!Number.isFinite(ns)) throw new LineProtocolError(`time ${t} ${precision} is out of range`);
    return BigInt(ns);
  }
  if (typeof t === "string") return parseRfc3339(t);
  if (t instanceof Date) {
    const ms = t.getTime();
    if (Number.isNaN(ms)) throw new LineProtocolError("time is an invalid Date");
    return BigInt(ms) * 1_000_000n;
  }
  throw new LineProtocolError(`time of type ${typeof t} is not understood`);
}

function tagText(v: unknown): string | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "bigint" || typeof v === "boolean") return String(v);
  return undefined;
}

const byKey = (a: [string, string], b: [string, string]) => a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;

/**
 * One point as one line (no newline). Tags and fields are sorted by key;
 * empty tag values and unwritable fields are left out (fields counted in
 * `counts.skippedFields`). Throws {@linkcode LineProtocolError} when the point
 * has no measurement, no field left, a name that cannot be written, or a bad
 * time.
 *
 * @param point the point
 * @param fallbackTime nanoseconds used when the point has no `time`
 * @param options number typing and time precision
 * @param counts where skipped fields are counted
 */
export function encodePoint(
  point: Point,
  fallbackTime: bigint,
  options: LineOptions = {},
  counts?: EncodeCounts,
): string {
  const m = point.measurement;
  if (typeof m !== "string" || m === "") throw new LineProtocolError("the point has no measurement");
  let line = escapeMeasurement(m);
  const tags = point.tags;
  if (tags) {
    const list: [string, string][] = [];
    for (const k in tags) {
      const v = tagText(tags[k]);
      if (v === undefined || v === "" || k === "") continue;
      list.push([k, v]);
    }
    if (list.length > 1) list.sort(byKey);
    for (const [k, v] of list) line += "," + escapeKey(k) + "=" + escapeKey(v);
  }
  const numbers = options.numbers ?? "float";
  const fields: [string, string][] = [];
  for (const k in point.fields) {
    const v = formatField(point.fields[k], numbers);
    if (v === undefined || k === "") {
      if (counts) counts.skippedFields++;
      continue;
    }
    fields.push([k, v]);
  }
  if (fields.length === 0) throw new LineProtocolError(`the point of ${JSON.stringify(m)} has no writable field`);
  if (fields.length > 1) fields.sort(byKey);
  let sep = " ";
  for (const [k, v] of fields) {
    line += sep + escapeKey(k) + "=" + v;
    sep = ",";
  }
  return flatten(line + " " + pointTimeNs(point.time, fallbackTime, options.precision ?? "ns"));
}

/** How records that are not point dictionaries become points. */
export interface RecordMapping extends LineOptions {
  /** The measurement (default: the record's stream). */
  measurement?: string;
  /** Keys of the dictionary whose values become tags instead of fields. */
  tagKeys?: readonly string[];
  /** Tags added to every point (a point's own tags win). */
  tags?: Readonly<Record<string, string>>;
  /** Separator of flattened nested keys (default `/`). */
  separator?: string;
}

/** True when a dictionary looks like an InfluxDB point (`measurement` string and `fields` map). */
export function isPointDict(d: Dict): boolean {
  return typeof d.measurement === "string" && isDict(d.fields);
}

/**
 * The point of a record. A dictionary that looks like a point
 * (`{measurement, fields, tags?, time?}`) is used as it is (static tags added);
 * any other dictionary becomes: measurement = `mapping.measurement` or the
 * record's stream; tags = the values of `tagKeys` plus the static tags; fields
 * = every other key, nested maps flattened with `separator`; time = the
 * record's time. Values that cannot be fields (lists, bytes, null) are
 * skipped and counted.
 */
export function recordToPoint(record: BusRecord, mapping: RecordMapping = {}, counts?: EncodeCounts): Point {
  const d = record.data;
  const statics = mapping.tags;
  if (isPointDict(d)) {
    const own = isDict(d.tags) ? d.tags as Point["tags"] : undefined;
    return {
      measurement: d.measurement as string,
      tags: statics ? { ...statics, ...own } : own,
      fields: d.fields as Dict,
      time: d.time as Point["time"],
    };
  }
  const tagKeys = mapping.tagKeys;
  const tags: Record<string, string> = statics ? { ...statics } : {};
  const fields: Record<string, Value | undefined> = {};
  const sep = mapping.separator ?? "/";
  const walk = (obj: Dict, prefix: string) => {
    for (const k in obj) {
      const v = obj[k];
      const key = prefix + k;
      if (prefix === "" && tagKeys && tagKeys.includes(k)) {
        const t = tagText(v);
        if (t !== undefined && t !== "") tags[k] = t;
        else if (counts) counts.skippedFields++;
        continue;
      }
      if (isDict(v)) walk(v, key + sep);
      else fields[key] = v;
    }
  };
  walk(d, "");
  return { measurement: mapping.measurement ?? record.stream, tags, fields };
}

/** Escaped keys by key: telemetry repeats the same few keys, so each is escaped once (bounded). */
const escapedKeys = new Map<string, string>();

function cachedKey(k: string): string {
  let e = escapedKeys.get(k);
  if (e === undefined) {
    e = escapeKey(k);
    if (escapedKeys.size >= 10_000) escapedKeys.clear();
    escapedKeys.set(k, e);
  }
  return e;
}

/**
 * A record as one line: {@linkcode recordToPoint} then {@linkcode encodePoint}
 * with the record's time as fallback. Records that are not point
 * dictionaries take a faster path that writes their fields in the
 * dictionary's order (tags are still sorted; InfluxDB does not need sorted
 * fields).
 */
export function encodeRecord(record: BusRecord, mapping: RecordMapping = {}, counts?: EncodeCounts): string {
  const d = record.data;
  if (isPointDict(d)) return encodePoint(recordToPoint(record, mapping, counts), record.time, mapping, counts);
  const measurement = mapping.measurement ?? record.stream;
  if (measurement === "") throw new LineProtocolError("the point has no measurement");
  const tagKeys = mapping.tagKeys !== undefined && mapping.tagKeys.length > 0 ? mapping.tagKeys : undefined;
  const numbers = mapping.numbers ?? "float";
  // The hot path: a flat dictionary, walked in place (no closure, no per-record objects); nested maps recurse.
  let tagPairs: string[] | undefined;
  let fields = "";
  for (const k in d) {
    const v = d[k];
    if (tagKeys !== undefined && tagKeys.includes(k)) {
      const t = tagText(v);
      if (t !== undefined && t !== "") (tagPairs ??= []).push(k, t);
      else if (counts) counts.skippedFields++;
      continue;
    }
    if (typeof v === "object" && v !== null && isDict(v)) {
      fields = nestedFields(v, k + (mapping.separator ?? "/"), fields, numbers, mapping.separator ?? "/", counts);
      continue;
    }
    const f = formatField(v, numbers);
    if (f === undefined || k === "") {
      if (counts) counts.skippedFields++;
      continue;
    }
    fields += (fields === "" ? " " : ",") + cachedKey(k) + "=" + f;
  }
  if (fields === "") throw new LineProtocolError(`the point of ${JSON.stringify(measurement)} has no writable field`);
  let line = escapeMeasurement(measurement);
  const statics = mapping.tags;
  if (statics !== undefined && Object.keys(statics).length > 0) {
    const all: Record<string, string> = { ...statics };
    for (let i = 0; tagPairs && i < tagPairs.length; i += 2) all[tagPairs[i]] = tagPairs[i + 1];
    for (const k of Object.keys(all).sort()) {
      const v = all[k];
      if (v !== "" && k !== "") line += "," + cachedKey(k) + "=" + escapeKey(v);
    }
  } else if (tagPairs !== undefined) {
    if (tagPairs.length === 2) line += "," + cachedKey(tagPairs[0]) + "=" + escapeKey(tagPairs[1]);
    else {
      // Several tags: InfluxDB wants them sorted by key.
      const order: number[] = [];
      for (let i = 0; i < tagPairs.length; i += 2) order.push(i);
      order.sort((x, y) => (tagPairs![x] < tagPairs![y] ? -1 : tagPairs![x] > tagPairs![y] ? 1 : 0));
      for (const i of order) line += "," + cachedKey(tagPairs[i]) + "=" + escapeKey(tagPairs[i + 1]);
    }
  }
  return flatten(line + fields + " " + record.time);
}

/** Appends the fields of a nested map (keys prefixed, `a/b/c`) to `fields`. */
function nestedFields(
  obj: Dict,
  prefix: string,
  fields: string,
  numbers: NumberMode,
  sep: string,
  counts?: EncodeCounts,
): string {
  for (const k in obj) {
    const v = obj[k];
    if (typeof v === "object" && v !== null && isDict(v)) {
      fields = nestedFields(v, prefix + k + sep, fields, numbers, sep, counts);
      continue;
    }
    const f = formatField(v, numbers);
    if (f === undefined) {
      if (counts) counts.skippedFields++;
      continue;
    }
    fields += (fields === "" ? " " : ",") + cachedKey(prefix + k) + "=" + f;
  }
  return fields;
}

/** Written by {@linkcode flatten} so that the read it does is not optimised away. */
let flattenSink = 0;

/**
 * Returns `s` made flat. V8 keeps a string built with `+` as a tree of its
 * pieces, about 2.5 times the size of the text; reading a character makes it
 * copy the tree into one string. Lines wait in batches long enough to
 * survive young-generation collections, whose cost grows with what survives:
 * flat lines cut that cost by ~8 in bench/influx_throughput.ts.
 */
function flatten(s: string): string {
  flattenSink ^= s.charCodeAt(0);
  return s;
}
