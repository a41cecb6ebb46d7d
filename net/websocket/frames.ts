/**
 * Frames of the WebSocket output, encoded once per record and format and
 * cached on the record (`encoded`), so that a record sent to a hundred clients
 * is encoded once.
 *
 * - dataRT: the record's dictionary as Python's `json.dumps` prints it (what
 *   dataRT pushes: an InfluxDB point dictionary echoed unchanged).
 * - telebus JSON: `{"stream": …, "time": seconds, "time_ns": "…", "data": {…}}`.
 * - telebus MessagePack: a map `{stream, time: ns as uint64, data}`.
 * A frame of several records is a JSON array or a MessagePack array of these.
 *
 * @module
 */
import type { BusRecord } from "../../core/record.ts";
import { nsToSeconds } from "../../core/record.ts";
import { toJson } from "../../codecs/json.ts";
import { encodeMsgpack } from "../../codecs/msgpack.ts";

/** Frame encodings. */
export type FrameFormat = "datart" | "json" | "msgpack";

/** The dataRT text of one record (cached). */
export function datartText(r: BusRecord): string {
  const enc = r.encoded ??= {};
  let t = enc.datart as string | undefined;
  if (t === undefined) enc.datart = t = toJson(r.data, { style: "python" });
  return t;
}

/** The telebus JSON text of one record (cached). */
export function jsonText(r: BusRecord): string {
  const enc = r.encoded ??= {};
  let t = enc.ws_json as string | undefined;
  if (t === undefined) {
    enc.ws_json = t = `{"stream":${JSON.stringify(r.stream)},"time":${nsToSeconds(r.time)},"time_ns":"${r.time}",` +
      `"source":${JSON.stringify(r.source)},"data":${toJson(r.data)}}`;
  }
  return t;
}

/** The telebus MessagePack bytes of one record (cached). */
export function msgpackBytes(r: BusRecord): Uint8Array {
  const enc = r.encoded ??= {};
  let b = enc.ws_msgpack as Uint8Array | undefined;
  if (b === undefined) {
    enc.ws_msgpack = b = encodeMsgpack({ stream: r.stream, time: r.time, source: r.source, data: r.data });
  }
  return b;
}

/** The per-record encoder of each format: encodes and caches one record's part of a frame. */
export const RECORD_ENCODERS: Readonly<Record<FrameFormat, (r: BusRecord) => unknown>> = {
  datart: datartText,
  json: jsonText,
  msgpack: msgpackBytes,
};

/** One frame holding `records` (one record: itself; several: an array). */
export function frameOf(records: readonly BusRecord[], format: FrameFormat): string | Uint8Array {
  if (format === "datart") return datartText(records[0]);
  if (format === "json") {
    if (records.length === 1) return jsonText(records[0]);
    return "[" + records.map(jsonText).join(",") + "]";
  }
  if (records.length === 1) return msgpackBytes(records[0]);
  // An array header in front of the cached items: no re-encoding.
  const parts = records.map(msgpackBytes);
  const n = records.length;
  const head = n < 16
    ? [0x90 | n]
    : n < 65536
    ? [0xdc, n >> 8, n & 0xff]
    : [0xdd, n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
  const out = new Uint8Array(head.length + parts.reduce((s, p) => s + p.length, 0));
  out.set(head);
  let o = head.length;
  for (const p of parts) out.set(p, o), o += p.length;
  return out;
}

/** Bytes a frame occupies in a socket's buffer. */
export function frameSize(frame: string | Uint8Array): number {
  return typeof frame === "string" ? frame.length : frame.byteLength;
}
