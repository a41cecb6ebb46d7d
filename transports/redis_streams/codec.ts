/**
 * Stream entries ↔ record dictionaries, per the configured codec.
 *
 * @module
 */
import type { Dict, Value } from "../../core/record.ts";
import { decodeMsgpack, encodeRecordMsgpack } from "../../codecs/msgpack.ts";
import { toJson } from "../../codecs/json.ts";
import { assertWithinDepth } from "../../core/limits.ts";
import { checkRecordSpan, lastCheckFailure } from "../../codecs/mpack_stream.ts";

/** A codec name (see schema.ts). */
export type EntryCodec = "msgpack" | "json" | "bytes" | "fields";

const decoder = new TextDecoder();
const NUMBER = /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

/**
 * Entry fields for a record's dictionary. Bytes where the codec is binary. Throws a `RecordLimitError` for a
 * dictionary beyond the codecs' limits (core/limits.ts), which the input would refuse to read back.
 */
export function encodeEntry(data: Dict, codec: EntryCodec): Record<string, string | Uint8Array> {
  switch (codec) {
    case "msgpack":
      return { d: encodeRecordMsgpack(data) };
    case "json":
      assertWithinDepth(data);
      return { d: toJson(data) };
    case "bytes": {
      const d = data.d;
      if (d instanceof Uint8Array) return { d };
      if (typeof d === "string") return { d };
      // Not in the streamer's layout: store the dictionary encoded, so nothing is lost.
      return { d: encodeRecordMsgpack(data) };
    }
    case "fields": {
      assertWithinDepth(data);
      const out: Record<string, string | Uint8Array> = {};
      for (const k in data) {
        const v = data[k];
        if (v === undefined) continue;
        out[k] = v instanceof Uint8Array ? v : typeof v === "string" ? v : toJson(v);
      }
      return out;
    }
  }
}

/**
 * Checks, without decoding, that bytes hold exactly one MessagePack map with
 * string keys (what the `msgpack` codec expects in field `d`); throws with the
 * reason otherwise. The input then passes the bytes on undecoded: the
 * dictionary is decoded only if an output reads it.
 */
export function checkMsgpackMap(d: Uint8Array | undefined): Uint8Array {
  if (!d) throw new Error("no field d");
  if (d.length === 1 && d[0] === 0x80) return d; // {}
  const end = checkRecordSpan(d, 0, d.length, d.length);
  if (end === d.length) return d;
  throw new Error(
    end < 0
      ? `field d is not a MessagePack map: ${lastCheckFailure() || "cut short"}`
      : "field d holds more than one value",
  );
}

/** A record's dictionary from an entry's fields (values as bytes). Throws with a reason on a bad entry. */
export function decodeEntry(fields: Record<string, Uint8Array>, codec: EntryCodec): Dict {
  switch (codec) {
    case "msgpack": {
      const d = fields.d;
      if (!d) throw new Error("no field d");
      const v = decodeMsgpack(d);
      if (v === null || typeof v !== "object" || Array.isArray(v) || ArrayBuffer.isView(v)) {
        throw new Error("field d is not a MessagePack map");
      }
      return v as Dict;
    }
    case "json": {
      const d = fields.d;
      if (!d) throw new Error("no field d");
      const v = JSON.parse(decoder.decode(d));
      if (v === null || typeof v !== "object" || Array.isArray(v)) throw new Error("field d is not a JSON object");
      return v as Dict;
    }
    case "bytes": {
      if (!fields.d) throw new Error("no field d");
      return { d: fields.d };
    }
    case "fields": {
      const out: Dict = {};
      for (const k in fields) {
        const s = decoder.decode(fields[k]);
        out[k] = NUMBER.test(s) ? Number(s) : s === "true" ? true : s === "false" ? false : s as Value;
      }
      return out;
    }
  }
}
