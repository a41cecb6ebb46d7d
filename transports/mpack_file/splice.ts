/**
 * How the `mpack_file` output writes a record: its dictionary's MessagePack bytes as they are, or with the
 * stream name and time spliced in front as extra keys (`stream_key`, `time_key`) without re-encoding the data.
 *
 * @module
 */
import { type BusRecord, type Dict, nsToSeconds } from "../../core/record.ts";
import { assertRecordSize } from "../../core/limits.ts";
import { concatBytes } from "../../core/bytes.ts";
import { encodeMsgpack, encodeRecordMsgpack, recordMsgpack } from "../../codecs/msgpack.ts";
import { mapHeader, readMapHeader } from "../../codecs/msgpack_scan.ts";

/** A float64 (`cb`), always: a JS number with no fraction would otherwise be packed as an integer. */
function float64(v: number): Uint8Array {
  const b = new Uint8Array(9);
  b[0] = 0xcb;
  new DataView(b.buffer).setFloat64(1, v);
  return b;
}

/** Encodes records for the file, splicing in the stream and time keys when they are configured. */
export class RecordSplicer {
  readonly #streamKey?: Uint8Array;
  readonly #timeKey?: Uint8Array;
  readonly #streamBytes = new Map<string, Uint8Array>();

  /**
   * Prepares the keys.
   *
   * @param streamKeyName key that gets the stream name (none when undefined)
   * @param timeKeyName key that gets the time in seconds as a float64 (none when undefined)
   */
  constructor(readonly streamKeyName?: string, readonly timeKeyName?: string) {
    // Keys are encoded once; slice() so they do not pin msgpackr's shared 8 KiB buffer.
    if (streamKeyName !== undefined) this.#streamKey = encodeMsgpack(streamKeyName).slice();
    if (timeKeyName !== undefined) this.#timeKey = encodeMsgpack(timeKeyName).slice();
  }

  /** The record's dictionary as one MessagePack map, with the configured keys in front. */
  encode(r: BusRecord): Uint8Array {
    if (!this.#streamKey && !this.#timeKey) return recordMsgpack(r);
    const sk = this.streamKeyName;
    const tk = this.timeKeyName;
    const data = r.data;
    const clash = (sk !== undefined && Object.hasOwn(data, sk)) || (tk !== undefined && Object.hasOwn(data, tk));
    // The added keys go in front of the data's own entries; splicing them onto the data's bytes keeps the cache
    // useful and the data byte-exact. A data key of the same name is left out so the map has no duplicate.
    let body = clash ? encodeRecordMsgpack(this.#without(data)) : recordMsgpack(r);
    let header = readMapHeader(body);
    if (!header) { // a cache holding something other than a map: encode the dictionary afresh
      body = encodeRecordMsgpack(data);
      header = readMapHeader(body) ?? [0, 0];
    }
    const parts: Uint8Array[] = [];
    let count = header[0];
    if (this.#streamKey) {
      parts.push(this.#streamKey, this.#streamValue(r.stream));
      count++;
    }
    if (this.#timeKey) {
      parts.push(this.#timeKey, float64(nsToSeconds(r.time)));
      count++;
    }
    parts.unshift(mapHeader(count));
    parts.push(body.subarray(header[1]));
    let length = 0;
    for (const p of parts) length += p.length;
    assertRecordSize(length);
    return concatBytes(parts, length);
  }

  #without(data: Dict): Dict {
    const out: Dict = {};
    for (const k in data) if (k !== this.streamKeyName && k !== this.timeKeyName) out[k] = data[k];
    return out;
  }

  #streamValue(stream: string): Uint8Array {
    let b = this.#streamBytes.get(stream);
    if (!b) {
      if (this.#streamBytes.size >= 4096) this.#streamBytes.clear(); // bound memory if streams are unbounded
      b = encodeMsgpack(stream).slice();
      this.#streamBytes.set(stream, b);
    }
    return b;
  }
}
