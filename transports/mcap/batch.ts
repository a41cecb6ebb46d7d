/**
 * A batch of records on its way to the `mcap` output's worker: one
 * transferable buffer holding per record its stream (an index into the
 * batch's stream names), time, how its message is to be made, and bytes;
 * the maps of records built in memory travel beside it as they are
 * (structured clone: V8's serializer, about what msgpackr's encoding costs;
 * the worker gets the very values, so its JSON is the one thread's). The worker
 * makes each message's JSON text exactly as the output does in one thread
 * (`McapOutput`'s `jsonOf`): from the MessagePack bytes a record came as when
 * the walk can, else `toCompactJson` of the map.
 *
 * @module
 */
import type { BusRecord, Dict } from "../../core/record.ts";
import { decodeMsgpack, recordMsgpack } from "../../codecs/msgpack.ts";
import { toCompactJson } from "../../codecs/json_compact.ts";
import { recordJsonSchema } from "../../codecs/json_schema.ts";
import { appendRecordJson, ByteBuffer, type KeyTable } from "../../codecs/mpack_json.ts";
import type { ChannelSchema } from "./files.ts";

const encoder = new TextEncoder();
const NO_BYTES = new Uint8Array(0);

/** How a record's message is made from its bytes. */
const enum Kind {
  /** A map built in memory, the next of the batch's `data`: the JSON is its `toCompactJson`. */
  Data = 0,
  /** MessagePack bytes the record came as: the JSON is written from the bytes when the walk can, as in one thread. */
  Came = 1,
  /** The JSON text and the JSON Schema text, made on the main thread (for a map structured clone cannot copy). */
  Json = 2,
  /** The message's bytes as they are (`encoding = "msgpack"`). */
  Raw = 3,
}

/** A packed batch: `buffer[0, length)` holds `count` records. */
export interface PackedBatch {
  /** Stream names the records refer to by index. */
  streams: string[];
  /** The records (transferred to the worker). */
  buffer: ArrayBuffer;
  /** Bytes used in `buffer`. */
  length: number;
  /** Records packed. */
  count: number;
  /** The maps of the records of kind `Data`, in order. */
  data: Dict[];
}

/** Packs batches on the main thread; remembers the size of the last one to size the next. */
export class BatchPacker {
  readonly #json: boolean;
  #capacity = 1 << 16;

  /** @param json the output's encoding is `json` (else `msgpack`) */
  constructor(json: boolean) {
    this.#json = json;
  }

  /**
   * Packs `records`; a record that cannot be encoded is passed to `reject` and left out, as in one thread.
   * Returns the batch and the records packed, in order. With `textOnly` the JSON of maps built in memory is made
   * here (for a batch whose maps structured clone refused).
   */
  pack(records: BusRecord[], reject: (r: BusRecord, e: unknown) => void, textOnly = false): [PackedBatch, BusRecord[]] {
    const buf = new ByteBuffer(this.#capacity);
    const streams: string[] = [];
    const ids = new Map<string, number>();
    const packed: BusRecord[] = [];
    const data: Dict[] = [];
    let v = new DataView(buf.bytes.buffer);
    for (const r of records) {
      let kind: Kind, bytes: Uint8Array, schema: Uint8Array | undefined;
      try {
        if (!this.#json) [kind, bytes] = [Kind.Raw, recordMsgpack(r)];
        else if (r.encoded?.msgpack) [kind, bytes] = [Kind.Came, r.encoded.msgpack];
        else if (!textOnly) [kind, bytes] = [Kind.Data, NO_BYTES];
        else {
          [kind, bytes] = [Kind.Json, encoder.encode(toCompactJson(r.data))];
          schema = encoder.encode(JSON.stringify(recordJsonSchema(r.data, r.stream)));
        }
        if (kind === Kind.Data) data.push(r.data);
      } catch (e) {
        reject(r, e);
        continue;
      }
      let sid = ids.get(r.stream);
      if (sid === undefined) ids.set(r.stream, sid = streams.push(r.stream) - 1);
      buf.reserve(17 + bytes.length + (schema ? 4 + schema.length : 0));
      if (v.buffer !== buf.bytes.buffer) v = new DataView(buf.bytes.buffer);
      let o = buf.length;
      v.setUint32(o, sid, true);
      v.setBigUint64(o + 4, r.time < 0n ? 0n : r.time, true);
      v.setUint8(o + 12, kind);
      v.setUint32(o + 13, bytes.length, true);
      buf.bytes.set(bytes, o += 17);
      o += bytes.length;
      if (schema) {
        v.setUint32(o, schema.length, true);
        buf.bytes.set(schema, o + 4);
        o += 4 + schema.length;
      }
      buf.length = o;
      packed.push(r);
    }
    this.#capacity = Math.max(1 << 12, buf.length + (buf.length >> 3));
    return [
      { streams, buffer: buf.bytes.buffer as ArrayBuffer, length: buf.length, count: packed.length, data },
      packed,
    ];
  }
}

/** One record of a batch as the worker sees it. */
export interface UnpackedRecord {
  /** Its stream. */
  stream: string;
  /** Its time (ns). */
  time: bigint;
  /** The message: valid until the next record is read. */
  message: Uint8Array;
  /** Its channel's schema, should it be the stream's first record in the file. */
  schema: ChannelSchema;
}

/** Reads a packed batch in the worker, making each record's message. */
export class BatchReader {
  readonly #sink = new ByteBuffer(1 << 16);
  readonly #keys: KeyTable;

  /** @param keys interned keys of the records written from their bytes (kept across batches) */
  constructor(keys: KeyTable) {
    this.#keys = keys;
  }

  /**
   * Calls `each` for every record of `batch` in order (awaiting the promise it may return); a record whose message cannot be made is
   * passed to `reject` with its index.
   */
  async read(
    batch: PackedBatch,
    each: (r: UnpackedRecord) => Promise<void> | undefined,
    reject: (index: number, e: unknown) => void,
  ): Promise<void> {
    const bytes = new Uint8Array(batch.buffer, 0, batch.length);
    const v = new DataView(batch.buffer);
    for (let i = 0, o = 0, d = 0; i < batch.count; i++) {
      const stream = batch.streams[v.getUint32(o, true)];
      const time = v.getBigUint64(o + 4, true);
      const kind = v.getUint8(o + 12) as Kind;
      const n = v.getUint32(o + 13, true);
      const start = o + 17, end = start + n;
      o = end;
      let given: Uint8Array | undefined;
      if (kind === Kind.Json) {
        const m = v.getUint32(o, true);
        given = bytes.subarray(o + 4, o + 4 + m);
        o += 4 + m;
      }
      let message: Uint8Array, data: Dict | undefined;
      try {
        if (kind === Kind.Raw || kind === Kind.Json) message = bytes.subarray(start, end);
        else if (kind === Kind.Data) message = this.#encode(toCompactJson(data = batch.data[d++]));
        else if (this.#fromBytes(bytes, start, end)) message = this.#text();
        else {
          // As `toCompactJson(r.data)` in one thread: the record's map is what its (checked) bytes decode to.
          data = decodeMsgpack(bytes, start, end, true) as Dict;
          message = this.#encode(toCompactJson(data));
        }
      } catch (e) {
        reject(i, e);
        continue;
      }
      const schema: ChannelSchema = () => given ?? data ?? decodeMsgpack(bytes, start, end, true) as Dict;
      const p = each({ stream, time, message, schema });
      if (p) await p;
    }
  }

  #fromBytes(bytes: Uint8Array, start: number, end: number): boolean {
    this.#sink.length = 0;
    return appendRecordJson(this.#sink, bytes, start, end, this.#keys);
  }

  /** The text the walk wrote, without its closing newline (a message leaves it out). */
  #text(): Uint8Array {
    return this.#sink.bytes.subarray(0, this.#sink.length - 1);
  }

  #encode(text: string): Uint8Array {
    const sink = this.#sink;
    sink.length = 0;
    sink.reserve(3 * text.length); // UTF-8 takes at most 3 bytes per UTF-16 unit
    sink.length = encoder.encodeInto(text, sink.bytes).written;
    return sink.bytes.subarray(0, sink.length);
  }
}
