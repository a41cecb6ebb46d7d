/**
 * The record: the unit that travels on the bus.
 *
 * @module
 */
/** A MessagePack-compatible value as it travels on the bus. */
export type Value =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | Date
  | Value[]
  | ArrayBufferView
  | Dict;

/** A dictionary: the payload of every record. */
export interface Dict {
  /** Any key; values are MessagePack-compatible. */
  [key: string]: Value | undefined;
}

/**
 * Acknowledgement of a group of records: `done` runs once every output that
 * selected them has made them durable or dropped them by its policy.
 */
export interface AckToken {
  /** Outstanding record deliveries; the bus counts this down. */
  pending: number;
  /** Called once, when `pending` reaches zero. */
  done: () => void;
  /**
   * Where each output that can be rewound stood just after writing the group's last record, by output name
   * (set by the output, e.g. `mpack_file`'s file and length). Once `done` ran, an input reads them from any of
   * its records' `ack` and saves them with its checkpoint.
   */
  marks?: OutputMarks;
}

/** Outputs' positions by output name, as JSON values only the output itself reads (see {@linkcode AckToken.marks}). */
export type OutputMarks = Record<string, unknown>;

/** Encodings of a record cached by format name, so that each format is encoded once. */
export interface EncodedCache {
  /** The record's dictionary as one MessagePack object (mpacklog's layout). */
  msgpack?: Uint8Array;
  /** Other formats by name (e.g. `json`). */
  [format: string]: Uint8Array | string | undefined;
}

/** One record on the bus. Keep it small and plain: it is created for every message. */
export interface BusRecord {
  /** Stream name such as `robot/imu`. */
  stream: string;
  /** When it happened, in nanoseconds since the Unix epoch (no precision is lost). */
  time: bigint;
  /** The dictionary. */
  data: Dict;
  /** Name of the input that produced the record. */
  source: string;
  /** Optional metadata (e.g. an mflow header or a Redis entry id) for outputs that need it. */
  meta?: Dict;
  /** Size in bytes used for queue accounting (the encoded size when known). */
  size: number;
  /** Encodings cached on the record; only valid while `data` is unchanged. */
  encoded?: EncodedCache;
  /** Acknowledgement group; set by the bus when the input asked for one. */
  ack?: AckToken;
}

/**
 * A record that arrived as encoded bytes a reader has checked (`encoded.msgpack`) and whose dictionary is decoded
 * only when something reads `data`. A tail → file pipeline passes the bytes on and never decodes them. The core
 * knows no codec: a subclass decodes (codecs/encoded_record.ts `EncodedRecord` for MessagePack).
 */
export abstract class LazyRecord implements BusRecord {
  /** Cached encodings; `msgpack` holds the bytes the record came as. */
  encoded: EncodedCache;
  /** See {@linkcode BusRecord.meta}. */
  meta?: Dict;
  /** See {@linkcode BusRecord.ack}. */
  ack?: AckToken;
  #data?: Dict;

  /**
   * Wraps encoded bytes as a record.
   *
   * @param stream stream name
   * @param time nanoseconds since the epoch
   * @param bytes the dictionary as one MessagePack map (kept, not copied)
   * @param source the input's name
   */
  constructor(public stream: string, public time: bigint, bytes: Uint8Array, public source: string) {
    this.encoded = { msgpack: bytes };
    this.size = bytes.length;
  }

  /** Queue accounting size: the encoded length. */
  size: number;

  /** Decodes the bytes the record came as into its dictionary. */
  protected abstract decode(bytes: Uint8Array): Dict;

  /** The dictionary, decoded on first access. */
  get data(): Dict {
    return this.#data ??= this.decode(this.encoded.msgpack!);
  }

  /** Replaces the dictionary; the cached encodings no longer match and are dropped. */
  set data(value: Dict) {
    this.#data = value;
    this.encoded = {};
  }
}

/** Nanoseconds since the epoch for a time in seconds (as mpacklog's `time` key holds it). */
export function secondsToNs(seconds: number): bigint {
  const whole = Math.floor(seconds);
  return BigInt(whole) * 1_000_000_000n +
    BigInt(Math.round((seconds - whole) * 1e9));
}

/** The current time in nanoseconds since the epoch (microsecond resolution). */
export function nowNs(): bigint {
  const ms = performance.timeOrigin + performance.now();
  return BigInt(Math.round(ms * 1000)) * 1000n;
}

/** Seconds since the epoch as a float, for display and for mpacklog-style `time` keys. */
export function nsToSeconds(ns: bigint): number {
  return Number(ns / 1000n) / 1e6;
}

/**
 * A cheap estimate of a value's encoded size in bytes, used for queue accounting
 * when no encoded form is known. It walks the value once; exactness is not needed.
 */
export function estimateSize(value: Value | undefined): number {
  if (value === null || value === undefined) return 1;
  switch (typeof value) {
    case "number":
    case "bigint":
      return 9;
    case "boolean":
      return 1;
    case "string":
      return value.length + 3;
    case "object": {
      if (Array.isArray(value)) {
        let n = 3;
        for (let i = 0; i < value.length; i++) n += estimateSize(value[i]);
        return n;
      }
      if (ArrayBuffer.isView(value)) return value.byteLength + 5;
      if (value instanceof Date) return 12;
      // Every decoded record is measured: Object.keys and inlined scalars are ~40 % faster than for-in + recursion.
      const d = value as Dict;
      const keys = Object.keys(d);
      let n = 3;
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i], v = d[k];
        n += k.length + 1;
        if (typeof v === "number") n += 9;
        else if (typeof v === "string") n += v.length + 3;
        else n += estimateSize(v);
      }
      return n;
    }
    default:
      return 1;
  }
}

/** Creates a record; `size` is estimated from `data` unless given. */
export function makeRecord(
  stream: string,
  time: bigint,
  data: Dict,
  source: string,
  size?: number,
): BusRecord {
  return { stream, time, data, source, size: size ?? estimateSize(data) };
}
