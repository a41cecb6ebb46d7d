/**
 * MQTT payloads and records: decoding a message in each format into
 * dictionaries, encoding a record, and the stream and topic templates.
 *
 * @module
 */
import type { BusRecord, Dict, Value } from "../../core/record.ts";
import { decodeMsgpack, recordMsgpack } from "../../codecs/msgpack.ts";
import { decodeCbor, encodeCbor } from "../../codecs/cbor.ts";
import { toJson } from "../../codecs/json.ts";
import { isDict } from "../../codecs/flatten.ts";
import { encodeRecord, parseRfc3339 } from "../../codecs/line_protocol.ts";
import { parseLine } from "../../codecs/line_protocol_parse.ts";
import { assertWithinDepth } from "../../core/limits.ts";
import type { MqttFormat } from "./schema.ts";

const utf8 = new TextDecoder("utf-8", { fatal: true });
const utf8Encoder = new TextEncoder();

/** One dictionary of a message, with the time an influx line carried. */
export interface Decoded {
  /** The record's data. */
  data: Dict;
  /** The influx line's measurement. */
  measurement?: string;
  /** The influx line's time (ns). */
  time?: bigint;
}

/** A line-protocol field value as a telemetry value. */
function fieldValue(f: { type: string; value: string }): Value {
  switch (f.type) {
    case "float":
      return Number(f.value);
    case "integer":
    case "unsigned": {
      const n = Number(f.value);
      return Number.isSafeInteger(n) ? n : BigInt(f.value);
    }
    case "boolean":
      return f.value === "true";
    default:
      return f.value;
  }
}

/** The dictionaries of one payload; throws (with a reason) when it is not `format`. */
export function decodePayload(payload: Uint8Array, format: MqttFormat): Decoded[] {
  if (format === "raw") return [{ data: { payload: payload.slice() } }];
  if (format === "influx") {
    const out: Decoded[] = [];
    for (const line of utf8.decode(payload).split("\n")) {
      const l = line.trim();
      if (l === "" || l.startsWith("#")) continue;
      const p = parseLine(l);
      const data: Dict = { ...p.tags };
      for (const k in p.fields) data[k] = fieldValue(p.fields[k]);
      out.push({ data, measurement: p.measurement, time: p.time });
    }
    if (out.length === 0) throw new Error("no line-protocol line");
    return out;
  }
  const v = format === "msgpack"
    ? decodeMsgpack(payload)
    : format === "cbor"
    ? decodeCbor(payload) as Value
    : JSON.parse(utf8.decode(payload)) as Value;
  // A sensor that publishes a bare number still gives a record.
  return [{ data: isDict(v) ? v : { value: v } }];
}

/** The time a record's `time_key` holds (ns), or undefined when it is missing or not a time. */
export function keyTime(data: Dict, key: string): bigint | undefined {
  const v = data[key];
  if (typeof v === "number" && Number.isFinite(v)) {
    const whole = Math.floor(v);
    return BigInt(whole) * 1_000_000_000n + BigInt(Math.round((v - whole) * 1e9));
  }
  if (typeof v === "bigint") return v;
  if (typeof v === "string") {
    try {
      return parseRfc3339(v);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** `template` with `{name}` placeholders filled by `lookup` (undefined: left as written). */
function fill(template: string, lookup: (name: string) => string | undefined): string {
  return template.replace(/\{([^{}]+)\}/g, (all, name: string) => lookup(name) ?? all);
}

/** A stream name from a topic: `{topic}` (after `stripPrefix`), `{1}`…`{9}` (levels), `{measurement}`. */
export function streamName(template: string, topic: string, stripPrefix: string, measurement?: string): string {
  const t = stripPrefix !== "" && topic.startsWith(stripPrefix) ? topic.slice(stripPrefix.length) : topic;
  if (template === "{topic}") return t;
  let levels: string[] | undefined;
  return fill(template, (name) => {
    if (name === "topic") return t;
    if (name === "measurement") return measurement ?? "";
    if (/^[1-9]$/.test(name)) return (levels ??= t.split("/"))[Number(name) - 1] ?? "";
    return undefined;
  });
}

/** Topic of a record from the output's template; record keys give text (`{KEY}`), missing ones nothing. */
export class TopicTemplate {
  readonly #usesKeys: boolean;
  readonly #cache = new Map<string, string>();

  /**
   * Prepares a template.
   *
   * @param template with `{stream}`, `{source}` and `{KEY}` placeholders
   */
  constructor(readonly template: string) {
    this.#usesKeys = [...template.matchAll(/\{([^{}]+)\}/g)].some((m) => m[1] !== "stream" && m[1] !== "source");
  }

  /** The topic of `r`. */
  topic(r: BusRecord): string {
    if (this.#usesKeys) return this.#build(r);
    // Few streams and sources repeat: each topic is built once (bounded).
    const id = r.stream + "\0" + r.source;
    let t = this.#cache.get(id);
    if (t === undefined) {
      t = this.#build(r);
      if (this.#cache.size >= 10_000) this.#cache.clear();
      this.#cache.set(id, t);
    }
    return t;
  }

  #build(r: BusRecord): string {
    return fill(this.template, (name) => {
      if (name === "stream") return r.stream;
      if (name === "source") return r.source;
      const v = r.data[name];
      return v === undefined || v === null || typeof v === "object" ? "" : String(v);
    });
  }
}

/**
 * JSON of a flat dictionary of finite numbers, text and booleans (most telemetry) by `JSON.stringify`, which
 * writes exactly what `toJson` writes for those, faster; undefined for anything else.
 */
export function flatJson(d: Dict): string | undefined {
  for (const k in d) {
    const v = d[k];
    const t = typeof v;
    if (t !== "string" && t !== "boolean" && !(t === "number" && Number.isFinite(v) && !Object.is(v, -0))) {
      return undefined;
    }
  }
  return JSON.stringify(d);
}

/** The payload of a record in `format`; throws when the record cannot be written so. */
export function encodePayload(r: BusRecord, format: MqttFormat): Uint8Array {
  switch (format) {
    case "msgpack":
      return recordMsgpack(r);
    case "cbor":
      assertWithinDepth(r.data);
      return encodeCbor(r.data);
    case "json": {
      const flat = flatJson(r.data);
      if (flat !== undefined) return utf8Encoder.encode(flat);
      assertWithinDepth(r.data);
      return utf8Encoder.encode(toJson(r.data));
    }
    case "influx":
      return utf8Encoder.encode(encodeRecord(r));
    default: {
      const p = r.data.payload;
      if (p instanceof Uint8Array) return p;
      if (typeof p === "string") return utf8Encoder.encode(p);
      throw new Error("raw format needs a 'payload' key of bytes or text");
    }
  }
}
