/**
 * Byte-stream framing for MoaT-Cmd messages: back-to-back CBOR or MoaT's
 * MessagePack (TCP, pipes, USB) and the `SerialPacker` frame of serial links (`0x85`, length, payload,
 * CRC-16). Both are sans-I/O: push bytes in, take messages out.
 *
 * @module
 */
import { decodeCborSequence, encodeCbor } from "../../codecs/cbor.ts";
import { decodeMoatMsgpackAt, encodeMoatMsgpack, MsgpackIncomplete } from "../../codecs/moat_msgpack.ts";
import { concatBytes } from "../../core/bytes.ts";

/** What a decoder found besides messages: bytes it skipped and why. */
export interface FrameIssue {
  /** `garbage` (not CBOR / not a frame), `crc` (bad checksum), `truncated` (input ended inside a message). */
  kind: "garbage" | "crc" | "truncated" | "too_long";
  /** Bytes dropped. */
  bytes: number;
  /** Human-readable detail. */
  detail: string;
}

/** Wire codecs: CBOR (moat-lib-cmd, moat-lib-rpc) or MoaT's MessagePack variant (older MoaT, with its ext types). */
export type MoatCodec = "cbor" | "msgpack";

/** A decoder of a byte stream into messages. */
export interface StreamDecoder {
  /** Adds bytes; returns the completed messages. */
  push(chunk: Uint8Array): unknown[];
  /** Reports an incomplete tail at the end of input. */
  end(): void;
}

/** Most bytes buffered for one incomplete message before the stream counts as broken. */
const DEFAULT_MAX_MESSAGE = 4 * 1024 * 1024;

/** What a codec found at the front of a buffer: the bytes its whole messages took, and why it stopped if not for lack of bytes. */
interface Scan {
  /** Bytes of the messages decoded. */
  consumed: number;
  /** Set when the next byte starts no message (it and what follows up to a possible message start are skipped). */
  garbage?: string;
}

/**
 * Decodes a byte stream of back-to-back messages of one codec. Garbage is skipped up to the next byte that can
 * start a MoaT message (an array head), so one bad frame costs only itself and the connection is kept.
 */
abstract class MessageStreamDecoder implements StreamDecoder {
  #buf = new Uint8Array(0);
  readonly #max: number;

  constructor(
    private readonly onIssue: (issue: FrameIssue) => void,
    maxMessage: number,
    private readonly codecName: string,
  ) {
    this.#max = maxMessage;
  }

  /** Decodes whole messages at the front of `buf` into `out`. */
  protected abstract scan(buf: Uint8Array, out: unknown[]): Scan;
  /** True for a byte that can start a message (an array head). */
  protected abstract isStart(b: number): boolean;

  /** Bytes held for an incomplete message. */
  get buffered(): number {
    return this.#buf.length;
  }

  /** Adds bytes; returns the messages they completed, in order. */
  push(chunk: Uint8Array): unknown[] {
    let buf = this.#buf.length ? concatBytes([this.#buf, chunk]) : chunk;
    const out: unknown[] = [];
    while (buf.length) {
      const r = this.scan(buf, out);
      buf = buf.subarray(r.consumed);
      if (r.garbage === undefined) break;
      // Skip the bad byte and everything up to the next possible array head.
      let skip = 1;
      while (skip < buf.length && !this.isStart(buf[skip])) skip++;
      this.onIssue({ kind: "garbage", bytes: skip, detail: r.garbage });
      buf = buf.subarray(skip);
    }
    if (buf.length > this.#max) {
      this.onIssue({ kind: "too_long", bytes: buf.length, detail: `incomplete message over ${this.#max} bytes` });
      buf = new Uint8Array(0);
    }
    // Copy the remainder: the caller may reuse its read buffer.
    this.#buf = buf.length ? buf.slice() : new Uint8Array(0);
    return out;
  }

  /** Ends the stream: reports a message cut off by the end of input. */
  end(): void {
    if (this.#buf.length) {
      this.onIssue({
        kind: "truncated",
        bytes: this.#buf.length,
        detail: `input ended inside a${this.codecName ? " " + this.codecName : ""} message`,
      });
      this.#buf = new Uint8Array(0);
    }
  }
}

/**
 * Decodes a byte stream of back-to-back CBOR messages. Garbage is skipped up to
 * the next byte that can start a MoaT message (a CBOR array head, 0x80–0x9f),
 * so one bad frame costs only itself and the connection is kept.
 */
export class CborStreamDecoder extends MessageStreamDecoder {
  /**
   * Creates the decoder.
   *
   * @param onIssue called for every run of skipped bytes
   * @param maxMessage largest message buffered while incomplete (default 4 MiB)
   */
  constructor(onIssue: (issue: FrameIssue) => void = () => {}, maxMessage = DEFAULT_MAX_MESSAGE) {
    super(onIssue, maxMessage, "CBOR");
  }

  /** Decodes the CBOR messages at the front of `buf`. */
  protected scan(buf: Uint8Array, out: unknown[]): Scan {
    return decodeCborSequence(buf, (v) => out.push(v));
  }

  /** A CBOR array head (0x80–0x9f). */
  protected isStart(b: number): boolean {
    return (b & 0xe0) === 0x80;
  }
}

/**
 * Decodes a byte stream of back-to-back MoaT-MessagePack messages, skipping garbage to the next array head
 * (fixarray 0x90–0x9f, array16 0xdc, array32 0xdd).
 */
export class MsgpackStreamDecoder extends MessageStreamDecoder {
  /**
   * Creates the decoder.
   *
   * @param onIssue called for every run of skipped bytes
   * @param maxMessage largest message buffered while incomplete (default 4 MiB)
   */
  constructor(onIssue: (issue: FrameIssue) => void = () => {}, maxMessage = DEFAULT_MAX_MESSAGE) {
    super(onIssue, maxMessage, "");
  }

  /** Decodes the MessagePack messages at the front of `buf`. */
  protected scan(buf: Uint8Array, out: unknown[]): Scan {
    let p = 0;
    while (p < buf.length) {
      let r: { value: unknown; end: number };
      try {
        r = decodeMoatMsgpackAt(buf, p);
      } catch (e) {
        if (e instanceof MsgpackIncomplete) break;
        return { consumed: p, garbage: (e as Error).message };
      }
      out.push(r.value);
      p = r.end;
    }
    return { consumed: p };
  }

  /** A MessagePack array head. */
  protected isStart(b: number): boolean {
    return (b & 0xf0) === 0x90 || b === 0xdc || b === 0xdd;
  }
}

/** A stream decoder for `codec`. */
export function streamDecoder(codec: MoatCodec, onIssue: (i: FrameIssue) => void): StreamDecoder {
  return codec === "cbor" ? new CborStreamDecoder(onIssue) : new MsgpackStreamDecoder(onIssue);
}

/** Encodes one message with `codec`. */
export function encodeMessage(codec: MoatCodec, msg: readonly unknown[]): Uint8Array {
  return codec === "cbor" ? encodeCbor(msg) : encodeMoatMsgpack(msg);
}

// ---- SerialPacker ---------------------------------------------------------------------------------------

/** The frame start byte of SerialPacker. */
export const SERIAL_START = 0x85;

/** CRC-16 nibble table: polynomial 0xBAAD, reflected (as MoaT's stored table). */
const CRC_TABLE: number[] = (() => {
  const t: number[] = [];
  for (let i = 0; i < 16; i++) {
    let c = i;
    for (let k = 0; k < 4; k++) c = c & 1 ? (c >>> 1) ^ 0xbaad : c >>> 1;
    t.push(c);
  }
  return t;
})();

/** SerialPacker's CRC-16 (poly 0xBAAD, init 0, high nibble first) over `data`. */
export function crc16(data: Uint8Array): number {
  let c = 0;
  for (const b of data) {
    c = (c >>> 4) ^ CRC_TABLE[((b >>> 4) ^ c) & 15];
    c = (c >>> 4) ^ CRC_TABLE[(b ^ c) & 15];
  }
  return c;
}

/** Wraps one payload in a SerialPacker frame. */
export function encodeSerialFrame(payload: Uint8Array, maxPacket = 127): Uint8Array {
  const n = payload.length;
  if (n === 0) throw new RangeError("SerialPacker: empty payload");
  if (n > maxPacket) throw new RangeError(`SerialPacker: ${n} bytes exceed max_packet ${maxPacket}`);
  const long = maxPacket > 255 && n > 127;
  const head = long ? [SERIAL_START, (n & 0x7f) | 0x80, n >>> 7] : [SERIAL_START, n];
  const out = new Uint8Array(head.length + n + 2);
  out.set(head);
  out.set(payload, head.length);
  const crc = crc16(payload);
  out[head.length + n] = crc >>> 8;
  out[head.length + n + 1] = crc & 0xff;
  return out;
}

/**
 * Parses SerialPacker frames from a byte stream. Bytes outside frames are
 * console output (returned separately); a frame with a bad CRC is dropped and
 * reported. Call {@linkcode SerialDecoder.idle} after 100 ms without input,
 * as the original resets its parser then.
 */
export class SerialDecoder {
  #state: "idle" | "len1" | "len2" | "data" | "crc1" | "crc2" = "idle";
  #len = 0;
  #data = new Uint8Array(0);
  #pos = 0;
  #crc = 0;
  #skip = 0;

  /**
   * Creates the parser.
   *
   * @param maxPacket largest payload (default 127, as SerialPacker)
   * @param onIssue called for bad frames
   */
  constructor(private readonly maxPacket = 127, private readonly onIssue: (issue: FrameIssue) => void = () => {}) {}

  /** Feeds bytes; returns complete payloads and console bytes. */
  push(chunk: Uint8Array): { frames: Uint8Array[]; console: Uint8Array } {
    const frames: Uint8Array[] = [];
    const con: number[] = [];
    for (const b of chunk) {
      switch (this.#state) {
        case "idle":
          if (this.#skip > 0) {
            // A UTF-8 continuation byte of console text, even when it is 0x85.
            this.#skip--;
            con.push(b);
          } else if (b === SERIAL_START) this.#state = "len1";
          else {
            con.push(b);
            this.#skip = b >= 0xf0 && b < 0xf8 ? 3 : b >= 0xe0 && b < 0xf0 ? 2 : b >= 0xc0 && b < 0xe0 ? 1 : 0;
          }
          break;
        case "len1":
          if (this.maxPacket > 255 && b & 0x80) {
            this.#len = b & 0x7f;
            this.#state = "len2";
          } else this.#begin(b);
          break;
        case "len2":
          this.#begin(this.#len | (b << 7));
          break;
        case "data":
          this.#data[this.#pos++] = b;
          if (this.#pos === this.#len) this.#state = "crc1";
          break;
        case "crc1":
          this.#crc = b << 8;
          this.#state = "crc2";
          break;
        case "crc2": {
          this.#state = "idle";
          const crc = this.#crc | b;
          const want = crc16(this.#data);
          if (crc === want) frames.push(this.#data);
          else {
            this.onIssue({
              kind: "crc",
              bytes: this.#len,
              detail: `bad CRC ${hex4(crc)} (computed ${hex4(want)}), frame of ${this.#len} bytes dropped`,
            });
          }
          break;
        }
      }
    }
    return { frames, console: new Uint8Array(con) };
  }

  #begin(len: number): void {
    if (len === 0 || len > this.maxPacket) {
      this.onIssue({ kind: "garbage", bytes: 2, detail: `bad frame length ${len}` });
      this.#state = "idle";
      return;
    }
    this.#len = len;
    this.#data = new Uint8Array(len);
    this.#pos = 0;
    this.#state = "data";
  }

  /** Resets the parser after the idle time (100 ms in SerialPacker); a partial frame is reported. */
  idle(): void {
    if (this.#state !== "idle") {
      this.onIssue({ kind: "truncated", bytes: this.#pos, detail: "serial frame cut off by an idle gap" });
    }
    this.#state = "idle";
    this.#skip = 0;
  }
}

function hex4(n: number): string {
  return n.toString(16).padStart(4, "0");
}
