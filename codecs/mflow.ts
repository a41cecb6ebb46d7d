/**
 * mflow (PSI) messages: ZeroMQ multipart messages whose first frame is a JSON
 * header with an `htype`. Decoders for every built-in type of mflow 1.0.0
 * (`array-1.0`, `raw-1.0`, `dheader-1.0`, `dimage-1.0`, `dseries_end-1.0`)
 * and for the old `bsr_m-1.0`, encoders for the ones a sender needs, numpy
 * dtype strings in both byte orders, and a registry so that a program can
 * add its own htype ({@linkcode registerMflowType}).
 *
 * A decoded message is a dictionary shaped like the original's
 * `Message.data` (`{header, data: [...]}` for arrays, `{header, part_2, …}`
 * for the Dectris types), so users of mflow find the same keys. Arrays are
 * flat typed arrays in the machine's byte order; their shape stays in the
 * header.
 *
 * @module
 */
import type { Dict, Value } from "../core/record.ts";
import { toJson } from "./json.ts";
import { MflowError, type MflowErrorKind } from "./mflow_error.ts";
import { arrayBytes, decodeArray, type Dtype, dtypeOf, parseDtype, type TypedArray } from "./numpy.ts";

export { arrayBytes, decodeArray, type Dtype, dtypeOf, parseDtype, type TypedArray };
export { MflowError, type MflowErrorKind };

/* ------------------------------------------------------------------ dtypes */

/* ------------------------------------------------------------------ JSON frames */

const utf8 = new TextDecoder("utf-8", { fatal: true });
const utf8Encoder = new TextEncoder();

/** Frames up to this long that are plain ASCII skip TextDecoder, whose call costs more than the parse. */
const ASCII_FAST = 512;

/** UTF-8 text of a frame; throws on invalid UTF-8. */
function frameText(frame: Uint8Array): string {
  if (frame.length <= ASCII_FAST) {
    let ascii = true;
    for (let i = 0; i < frame.length; i++) {
      if (frame[i] > 0x7f) {
        ascii = false;
        break;
      }
    }
    if (ascii) return String.fromCharCode.apply(null, frame as unknown as number[]);
  }
  return utf8.decode(frame);
}

/** Parses a JSON frame that must be an object; `what` names it in the error. */
export function parseJsonFrame(frame: Uint8Array, what: string, kind: MflowErrorKind = "bad_part"): Dict {
  let v: unknown;
  try {
    v = JSON.parse(frameText(frame));
  } catch (e) {
    throw new MflowError(kind, `${what} is not JSON (${(e as Error).message}; ${preview(frame)})`);
  }
  if (v === null || typeof v !== "object" || Array.isArray(v)) {
    throw new MflowError(kind, `${what} is JSON but not an object (${preview(frame)})`);
  }
  return v as Dict;
}

/** The first bytes of a frame, printable, for error messages. */
export function preview(frame: Uint8Array, max = 40): string {
  const head = frame.subarray(0, max);
  const text = Array.from(head, (b) => b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : ".").join("");
  return `${frame.length} B: ${JSON.stringify(text)}${frame.length > max ? "…" : ""}`;
}

/** A JSON frame as mflow's senders write it (Python `json.dumps` defaults: `", "`, `": "`, ASCII only). */
export function jsonFrame(value: Dict): Uint8Array {
  return utf8Encoder.encode(toJson(value, { style: "python" }));
}

/* ------------------------------------------------------------------ registry */

/** Per-connection state a decoder may keep (bsr_m's channel list, raw-1.0's last header). */
export type MflowState = Map<string, unknown>;

/** Decoder and optional encoder of one htype. */
export interface MflowType {
  /**
   * Decodes a whole message (frame 0 is the header, already parsed as `header`).
   * Throws {@linkcode MflowError} (or any error, counted as `bad_part`) on bad input.
   */
  decode(frames: Uint8Array[], header: Dict, state: MflowState): Dict;
  /** Builds the frames of a message from a decoded dictionary (for outputs); absent when the type is receive-only. */
  encode?(data: Dict): Uint8Array[];
}

const types = new Map<string, MflowType>();

/**
 * Registers the decoder (and optionally encoder) of an htype, replacing any
 * earlier one, for every zmq input and output of the process.
 *
 * @example
 * ```ts
 * import { parseJsonFrame, registerMflowType } from "./mflow.ts";
 * registerMflowType("mytype-1.0", {
 *   decode: (frames, header) => ({ header, text: new TextDecoder().decode(frames[1]) }),
 * });
 * ```
 */
export function registerMflowType(htype: string, type: MflowType): void {
  types.set(htype, type);
}

/** The htypes that have a decoder. */
export function mflowTypes(): string[] {
  return [...types.keys()];
}

function frameCount(htype: string, frames: Uint8Array[], allowed: number[]): void {
  if (!allowed.includes(frames.length)) {
    throw new MflowError(
      "frame_count",
      `${htype} message has ${frames.length} frame${frames.length === 1 ? "" : "s"}, expected ${allowed.join(" or ")}`,
    );
  }
}

function str(v: Value | undefined, what: string): string {
  if (typeof v !== "string") throw new MflowError("bad_header", `${what} is missing or not a string`);
  return v;
}

/** Decoded dictionary → header, as every encoder needs it. */
function headerOf(data: Dict, htype: string): Dict {
  const h = data.header;
  if (h === null || typeof h !== "object" || Array.isArray(h) || ArrayBuffer.isView(h)) {
    throw new Error(`${htype}: the record has no header map`);
  }
  return h as Dict;
}

function bytesOf(v: Value | undefined, what: string): Uint8Array {
  if (v instanceof Uint8Array) return v;
  if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  throw new Error(`${what} is not bytes`);
}

function dictOf(v: Value | undefined, what: string): Dict {
  if (v === null || typeof v !== "object" || Array.isArray(v) || ArrayBuffer.isView(v) || v instanceof Date) {
    throw new Error(`${what} is not a map`);
  }
  return v as Dict;
}

/** `array-1.0`: `{header, data: [typed array | null, …]}`. */
const arrayType: MflowType = {
  decode(frames, header) {
    const type = str(header.type, "array-1.0 header 'type'");
    if (header.shape === undefined) throw new MflowError("bad_header", "array-1.0 header has no 'shape'");
    if (frames.length < 2) frameCount("array-1.0", frames, [2]);
    const data: Value[] = [];
    for (let i = 1; i < frames.length; i++) {
      try {
        data.push(frames[i].length === 0 ? null : decodeArray(frames[i], type, header.shape));
      } catch (e) {
        if (e instanceof MflowError) throw new MflowError(e.kind, `array-1.0 frame ${i}: ${e.message}`);
        throw e;
      }
    }
    return { header, data };
  },
  encode(data) {
    const header = headerOf(data, "array-1.0");
    const type = typeof header.type === "string" ? header.type : undefined;
    const arrays = Array.isArray(data.data) ? data.data : [data.data];
    return [
      jsonFrame(header),
      ...arrays.map((a) => a === null || a === undefined ? new Uint8Array(0) : arrayBytes(a as ArrayBufferView, type)),
    ];
  },
};

/**
 * `raw-1.0`: `{header, data: [bytes, …]}`. mflow's sender forgets SNDMORE on
 * data frames, so `[hdr, A, B]` arrives as `[hdr, A]` and then `[B]`; a
 * one-frame message that is not a JSON header right after a raw-1.0 message
 * is therefore taken as its continuation (see {@linkcode MflowDecoder}).
 */
const rawType: MflowType = {
  decode(frames, header, state) {
    state.set("raw-1.0", header);
    return { header, data: frames.slice(1) };
  },
  encode(data) {
    const header = headerOf(data, "raw-1.0");
    const parts = Array.isArray(data.data) ? data.data : [data.data];
    return [jsonFrame(header), ...parts.map((p, i) => bytesOf(p, `raw-1.0 data[${i}]`))];
  },
};

const DHEADER_ALL = ["part_2", "part_3", "part_4_raw", "part_5", "part_6_raw", "part_7", "part_8_raw"];

/** `dheader-1.0`: `{header, part_2, part_3, part_4_raw, …, appendix?}` by `header_detail`. */
const dheaderType: MflowType = {
  decode(frames, header) {
    const detail = header.header_detail;
    if (detail !== "all" && detail !== "basic" && detail !== "none") {
      throw new MflowError(
        "bad_header",
        `dheader-1.0 header_detail is ${JSON.stringify(detail)}, expected "all", "basic" or "none"`,
      );
    }
    const parts = detail === "all" ? DHEADER_ALL : detail === "basic" ? DHEADER_ALL.slice(0, 1) : [];
    frameCount("dheader-1.0", frames, [1 + parts.length, 2 + parts.length]);
    const out: Dict = { header };
    parts.forEach((name, i) => {
      const f = frames[i + 1];
      out[name] = name.endsWith("_raw") ? f : parseJsonFrame(f, `dheader-1.0 ${name}`);
    });
    // mflow reads one more JSON frame as the appendix when the sender set SNDMORE (its own sender, for
    // "none", sends part_2 there).
    if (frames.length === parts.length + 2) {
      out.appendix = parseJsonFrame(frames[parts.length + 1], "dheader-1.0 appendix");
    }
    return out;
  },
  encode(data) {
    const header = headerOf(data, "dheader-1.0");
    const detail = header.header_detail;
    const parts = detail === "all" ? DHEADER_ALL : detail === "basic" ? DHEADER_ALL.slice(0, 1) : [];
    const out = [jsonFrame(header)];
    for (const name of parts) {
      out.push(
        name.endsWith("_raw")
          ? bytesOf(data[name], `dheader-1.0 ${name}`)
          : jsonFrame(dictOf(data[name], `dheader-1.0 ${name}`)),
      );
    }
    if (data.appendix !== undefined) out.push(jsonFrame(dictOf(data.appendix, "dheader-1.0 appendix")));
    return out;
  },
};

/**
 * `dimage-1.0`: `{header, part_2, part_3_raw, part_4, appendix?}`. When
 * part_2 describes an uncompressed image (`encoding` `"<"`/`">"` or none, with
 * `type` and `shape`), the pixels are also given decoded as `data`.
 */
const dimageType: MflowType = {
  decode(frames, header) {
    frameCount("dimage-1.0", frames, [4, 5]);
    const part2 = parseJsonFrame(frames[1], "dimage-1.0 part_2");
    const out: Dict = { header, part_2: part2, part_3_raw: frames[2] };
    out.part_4 = parseJsonFrame(frames[3], "dimage-1.0 part_4");
    if (frames.length === 5) out.appendix = parseJsonFrame(frames[4], "dimage-1.0 appendix");
    const enc = part2.encoding;
    if (
      (enc === undefined || enc === "<" || enc === ">") && typeof part2.type === "string" &&
      part2.shape !== undefined
    ) {
      const order = enc === ">" ? ">" : "<";
      const t = /^[<>=|]/.test(part2.type) ? part2.type : order + dtypeSpec(part2.type);
      out.data = decodeArray(frames[2], t, part2.shape);
    }
    return out;
  },
  encode(data) {
    const header = headerOf(data, "dimage-1.0");
    const out = [
      jsonFrame(header),
      jsonFrame(dictOf(data.part_2, "dimage-1.0 part_2")),
      bytesOf(data.part_3_raw, "dimage-1.0 part_3_raw"),
      jsonFrame(dictOf(data.part_4, "dimage-1.0 part_4")),
    ];
    if (data.appendix !== undefined) out.push(jsonFrame(dictOf(data.appendix, "dimage-1.0 appendix")));
    return out;
  },
};

/** `uint16` → `u2`, so that a byte order can be put in front. */
function dtypeSpec(type: string): string {
  const d = parseDtype(type);
  return `${d.kind}${d.kind === "U" ? d.size / 4 : d.size}`;
}

/** `dseries_end-1.0`: `{header}`. */
const dseriesEndType: MflowType = {
  decode(frames, header) {
    frameCount("dseries_end-1.0", frames, [1]);
    return { header };
  },
  encode(data) {
    return [jsonFrame(headerOf(data, "dseries_end-1.0"))];
  },
};

/** bsread channel types as the old bsr_m-1.0 handler mapped them to numpy. */
const BSR_TYPES: Record<string, string> = {
  double: "f8",
  float: "f4",
  integer: "i4",
  long: "i4",
  ulong: "u4",
  short: "i2",
  ushort: "u2",
  int8: "i1",
  uint8: "u1",
  int16: "i2",
  uint16: "u2",
  int32: "i4",
  uint32: "u4",
  int64: "i8",
  uint64: "u8",
  float32: "f4",
  float64: "f8",
};

interface BsrChannel {
  name: string;
  type: string;
  big: boolean;
}

/**
 * `bsr_m-1.0` (removed from mflow in 2016, still sent by bsread sources):
 * `{header, data_header, values: {channel: value}, timestamps: {channel: [sec, ns]}}`.
 * The data header is parsed again only when the main header's `hash` changes, as the original did.
 * A value frame of one element gives a number, longer ones a typed array, an empty one null; strings are text.
 */
const bsrType: MflowType = {
  decode(frames, header, state) {
    if (frames.length < 2) frameCount("bsr_m-1.0", frames, [2]);
    const hash = header.hash;
    let cached = state.get("bsr_m-1.0") as { hash: unknown; dataHeader: Dict; channels: BsrChannel[] } | undefined;
    if (!cached || cached.hash !== hash || hash === undefined) {
      const dataHeader = parseJsonFrame(frames[1], "bsr_m-1.0 data header");
      const list = dataHeader.channels;
      if (!Array.isArray(list)) throw new MflowError("bad_part", "bsr_m-1.0 data header has no 'channels' list");
      const channels = list.map((c, i): BsrChannel => {
        const ch = c as Dict;
        if (typeof ch?.name !== "string") throw new MflowError("bad_part", `bsr_m-1.0 channel ${i} has no name`);
        return {
          name: ch.name,
          type: typeof ch.type === "string" ? ch.type : "double",
          big: ch.encoding === "big",
        };
      });
      cached = { hash, dataHeader, channels };
      state.set("bsr_m-1.0", cached);
    }
    const { channels, dataHeader } = cached;
    frameCount("bsr_m-1.0", frames, [2 + 2 * channels.length]);
    const values: Dict = {};
    const timestamps: Dict = {};
    channels.forEach((ch, i) => {
      const vf = frames[2 + 2 * i];
      const tf = frames[3 + 2 * i];
      const order = ch.big ? ">" : "<";
      if (vf.length === 0) values[ch.name] = null;
      else if (ch.type === "string") values[ch.name] = new TextDecoder().decode(vf);
      else {
        const a = decodeArray(vf, order + (BSR_TYPES[ch.type] ?? "f8"), [-1]) as unknown as ArrayLike<number | bigint>;
        values[ch.name] = a.length === 1 ? a[0] : a as unknown as Value;
      }
      if (tf.length === 0) timestamps[ch.name] = null;
      else {
        if (tf.length !== 16) {
          throw new MflowError("frame_size", `bsr_m-1.0 timestamp of ${ch.name} has ${tf.length} bytes, expected 16`);
        }
        const t = decodeArray(tf, order + "u8", [2]) as BigUint64Array;
        timestamps[ch.name] = [Number(t[0]), Number(t[1])];
      }
    });
    return { header, data_header: dataHeader, values, timestamps };
  },
};

registerMflowType("array-1.0", arrayType);
registerMflowType("raw-1.0", rawType);
registerMflowType("dheader-1.0", dheaderType);
registerMflowType("dimage-1.0", dimageType);
registerMflowType("dseries_end-1.0", dseriesEndType);
registerMflowType("bsr_m-1.0", bsrType);

/* ------------------------------------------------------------------ decoder */

/** A decoded message. */
export interface MflowMessage {
  /** The htype of the header. */
  htype: string;
  /** The decoded dictionary (`{header, …}`). */
  data: Dict;
  /** True for a raw-1.0 data frame that mflow's broken sender sent as a message of its own. */
  continuation?: boolean;
}

/**
 * Decodes the messages of one connection. It keeps the per-connection state
 * some types need, so use one per socket.
 */
export class MflowDecoder {
  /** Per-connection state of the type decoders. */
  readonly state: MflowState = new Map();
  /** The last header frame and its parse: senders mostly repeat one header, and parsing it is the main cost. */
  #lastHeaderFrame?: Uint8Array;
  #lastHeader?: Dict;

  /** The parsed header frame, reusing the previous parse when the bytes are the same (the result is shared: read only). */
  #header(frame: Uint8Array): Dict {
    const last = this.#lastHeaderFrame;
    if (last && last.length === frame.length) {
      let same = true;
      for (let i = 0; i < frame.length; i++) {
        if (last[i] !== frame[i]) {
          same = false;
          break;
        }
      }
      if (same) return this.#lastHeader!;
    }
    const header = parseJsonFrame(frame, "header", "bad_header");
    // Only short headers are kept: comparing a long one costs about as much as parsing it.
    if (frame.length <= 1024) {
      this.#lastHeaderFrame = frame.slice();
      this.#lastHeader = header;
    }
    return header;
  }

  /** Decodes one multipart message; throws {@linkcode MflowError} when it is bad. */
  decode(frames: Uint8Array[]): MflowMessage {
    if (frames.length === 0 || frames[0].length === 0) throw new MflowError("bad_header", "empty header frame");
    let header: Dict;
    try {
      header = this.#header(frames[0]);
    } catch (e) {
      // mflow's raw-1.0 sender sends every data frame after the first as a message of its own.
      const raw = this.state.get("raw-1.0") as Dict | undefined;
      if (raw && frames.length === 1) {
        return { htype: "raw-1.0", data: { header: raw, data: frames }, continuation: true };
      }
      throw e;
    }
    this.state.delete("raw-1.0");
    const htype = header.htype;
    if (typeof htype !== "string") throw new MflowError("bad_header", "header has no 'htype' string");
    const type = types.get(htype);
    if (!type) throw new MflowError("unknown_htype", `unknown htype ${JSON.stringify(htype)}`);
    try {
      return { htype, data: type.decode(frames, header, this.state) };
    } catch (e) {
      if (e instanceof MflowError) throw e;
      throw new MflowError("bad_part", `${htype}: ${(e as Error).message}`);
    }
  }
}

/**
 * Builds the frames of an mflow message from a decoded dictionary
 * (`{header: {htype, …}, …}`) with the htype's encoder.
 */
export function encodeMflow(data: Dict): Uint8Array[] {
  const header = headerOf(data, "mflow");
  const htype = str(header.htype, "header 'htype'");
  const type = types.get(htype);
  if (!type?.encode) throw new Error(`no mflow encoder for htype ${JSON.stringify(htype)}`);
  return type.encode(data);
}

/**
 * Builds an `array-1.0` message from typed arrays of one element type and
 * shape: header `{"htype": "array-1.0", "type", "shape", "frame", …extra}`
 * then the raw bytes of each array.
 */
export function encodeArrayMessage(arrays: ArrayBufferView[], frame: number, extra: Dict = {}): Uint8Array[] {
  const first = arrays[0];
  const type = dtypeOf(first);
  const shape = extra.shape ?? [first.byteLength / parseDtype(type).size];
  const header: Dict = { htype: "array-1.0", type, shape, frame, ...extra };
  header.shape = shape;
  return [jsonFrame(header), ...arrays.map((a) => arrayBytes(a))];
}
