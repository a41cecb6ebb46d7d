/**
 * The `zmq` input: PULL or SUB sockets, bound or connected, one per address
 * (mflow's `Merge`: every address is read, fairly interleaved), decoding
 * mflow messages or MessagePack/CBOR/JSON/raw payloads into records.
 *
 * Bad messages (a header that is not JSON, a wrong frame count, a frame that
 * does not match dtype × shape, an unknown htype, an oversize message) are
 * counted by kind in `/metrics`, logged with the endpoint they came from (at
 * most once a second per kind, so that a flood cannot flood the log) and
 * dropped; the input keeps running.
 *
 * @module
 */
import type { Input, InputContext } from "../../core/transport.ts";
import type { Logger } from "../../core/log.ts";
import { type BusRecord, type Dict, type EncodedCache, nowNs } from "../../core/record.ts";
import { encodeMsgpack } from "../../codecs/msgpack.ts";
import { decodeMsgpack } from "../../codecs/msgpack.ts";
import { decodeCbor } from "../../codecs/cbor.ts";
import { MflowDecoder, MflowError, preview } from "../../codecs/mflow.ts";
import { checkRecordLimits, limitReasonOf, MAX_DEPTH, MAX_RECORD_BYTES } from "../../core/limits.ts";
import { RecordRejects } from "../../core/reject.ts";
import { exposeThroughput, openEach, ThroughputStatistics } from "../../net/zmq_stats.ts";
import { openZmqReceiver, type ZmqBinding, type ZmqReceiver } from "../../net/zmq_socket.ts";
import type { ZmqInputConfig } from "./schema.ts";

/** Most messages put on the bus in one batch; a batch ends earlier when the socket has nothing more ready. */
const MAX_BATCH = 256;

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** A message that is not decodable in a non-mflow format. */
class PayloadError extends Error {
  constructor(readonly kind: string, message: string, cause?: unknown) {
    super(message, { cause });
  }
}

function isDict(v: unknown): v is Dict {
  return v !== null && typeof v === "object" && !Array.isArray(v) && !ArrayBuffer.isView(v) && !(v instanceof Date);
}

/**
 * True when `data` holds a typed array other than bytes anywhere (see {@linkcode withBytesForm}). A key named
 * `header` is skipped at the top: mflow headers come from JSON and cannot hold one.
 */
function hasTypedArrays(v: unknown, depth = 0): boolean {
  if (depth > 8 || v === null || typeof v !== "object") return false;
  if (ArrayBuffer.isView(v)) return !(v instanceof Uint8Array);
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (hasTypedArrays(v[i], depth + 1)) return true;
    return false;
  }
  for (const k in v as Dict) {
    if (depth === 0 && k === "header") continue;
    if (hasTypedArrays((v as Dict)[k], depth + 1)) return true;
  }
  return false;
}

/** A copy of `v` in which every typed array is replaced by a byte view of its memory. */
function bytesForm(v: unknown): unknown {
  if (v === null || typeof v !== "object") return v;
  if (ArrayBuffer.isView(v)) return v instanceof Uint8Array ? v : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  if (Array.isArray(v)) return v.map(bytesForm);
  if (v instanceof Date) return v;
  const out: Dict = {};
  for (const k in v as Dict) out[k] = bytesForm((v as Dict)[k]) as Dict;
  return out;
}

/**
 * Gives a record whose data holds typed arrays a lazily computed MessagePack
 * form in which each array is a `bin` of its raw bytes (numpy's `tobytes()`).
 * msgpackr, as codecs/msgpack.ts configures it, writes a Float32Array or
 * Int32Array as a `bin` of the right length but fills it with the elements
 * truncated to bytes; this keeps arrays exact in `.mpack` files. It is
 * computed only when an output asks for it.
 */
function withBytesForm(r: BusRecord): BusRecord {
  if (!hasTypedArrays(r.data)) return r;
  r.encoded = new BytesFormCache(r.data) as unknown as EncodedCache;
  return r;
}

/** The lazily encoded bytes form of a record's data; a class, so the accessors live on its prototype (cheaper per record). */
class BytesFormCache {
  #cached?: Uint8Array;
  constructor(readonly data: Dict) {}
  get msgpack(): Uint8Array {
    return this.#cached ??= encodeMsgpack(bytesForm(this.data) as Dict);
  }
  set msgpack(v: Uint8Array) {
    this.#cached = v;
  }
}

/**
 * The format a frame that is not mflow's JSON header is in, when it is plainly
 * another one: a whole MessagePack or CBOR map (what `telebus replay` of a
 * `.mpack` log, or a `zmq` output with that format, sends). Undefined otherwise.
 */
export function otherFormat(frame: Uint8Array | undefined): "msgpack" | "cbor" | undefined {
  const b = frame?.[0];
  if (b === undefined) return undefined;
  const decodes = (decode: (f: Uint8Array) => unknown) => {
    try {
      const v = decode(frame!);
      return v !== null && typeof v === "object" && !Array.isArray(v);
    } catch {
      return false;
    }
  };
  // Map markers: MessagePack fixmap 0x80–0x8f, map16/32 0xde/0xdf; CBOR major type 5, 0xa0–0xbb and 0xbf.
  if (((b & 0xf0) === 0x80 || b === 0xde || b === 0xdf) && decodes(decodeMsgpack)) return "msgpack";
  if (((b >= 0xa0 && b <= 0xbb) || b === 0xbf) && decodes(decodeCbor)) return "cbor";
  return undefined;
}

/** Logs at most one line per kind per second, with the count of the ones left out. */
class ErrorLog {
  #last = new Map<string, { t: number; skipped: number }>();
  constructor(readonly log: Logger) {}
  report(kind: string, message: string, fields: Record<string, unknown>): void {
    const now = performance.now();
    const s = this.#last.get(kind);
    if (s && now - s.t < 1000) {
      s.skipped++;
      return;
    }
    this.#last.set(kind, { t: now, skipped: 0 });
    this.log.warn(message, { ...fields, kind, ...(s?.skipped ? { not_logged_since: s.skipped } : {}) });
  }
}

/** The zmq input; {@linkcode ZmqInput.open} must run before {@linkcode ZmqInput.run}. */
export class ZmqInput implements Input {
  /** The endpoints, once open (a bound `tcp://127.0.0.1:*` shows its port). */
  endpoints: string[] = [];
  /** mflow's statistics over every socket of the input. */
  readonly statistics = new ThroughputStatistics();
  /** The library the sockets use, once open (see net/zmq_socket.ts). */
  binding: ZmqBinding | undefined;
  #sockets: ZmqReceiver[] = [];

  /**
   * Creates the input.
   *
   * @param config the parsed `[[inputs.zmq]]` table
   * @param log logger for the opening phase
   */
  constructor(readonly config: ZmqInputConfig, readonly log?: Logger) {}

  /** Opens every socket; throws (closing the ones opened) when one cannot bind or connect. */
  async open(): Promise<string[]> {
    const c = this.config;
    this.#sockets = await openEach(
      c.address,
      (a) => openZmqReceiver(a, { mode: c.mode, connType: c.conn_type, queueSize: c.queue_size, topics: c.topics }),
    );
    this.binding = this.#sockets[0]?.binding;
    this.endpoints.push(...this.#sockets.map((s, i) => s.lastEndpoint ?? c.address[i]));
    this.log?.info("zmq input open", {
      mode: c.mode,
      conn_type: c.conn_type,
      endpoints: this.endpoints.join(" "),
      binding: this.binding,
    });
    return this.endpoints;
  }

  /** Receives until `ctx.signal` aborts, then closes the sockets. */
  async run(ctx: InputContext): Promise<void> {
    if (this.#sockets.length === 0) await this.open();
    const stopGauges = exposeThroughput(ctx.stats, this.statistics, this.config.statistics_interval);
    const close = () => {
      for (const s of this.#sockets) if (!s.closed) s.close();
    };
    ctx.signal.addEventListener("abort", close, { once: true });
    try {
      await Promise.all(this.#sockets.map((s, i) => this.#loop(s, this.endpoints[i], ctx)));
    } finally {
      stopGauges();
      close();
      ctx.signal.removeEventListener("abort", close);
    }
  }

  async #loop(sock: ZmqReceiver, endpoint: string, ctx: InputContext): Promise<void> {
    const c = this.config;
    const errors = new ErrorLog(ctx.log);
    const decoder = new MflowDecoder();
    const stream = c.stream ?? ctx.name;
    const stats = this.statistics;
    const rejects = new RecordRejects(ctx.stats, ctx.log);
    const bad = (kind: string, message: string, bytes: number, frames: Uint8Array[]) => {
      ctx.stats.errors++;
      ctx.stats.count(`bad_${kind}`);
      errors.report(kind, `bad message from ${endpoint}: ${message}`, {
        endpoint,
        frames: frames.length,
        bytes,
        first_frame: frames[0] ? preview(frames[0]) : "",
      });
    };
    // A sender of another format (say `telebus replay LOG.mpack` into format = "mflow") makes every message bad:
    // one line that says so, then only the count (bad_format_mismatch), instead of "header is not JSON" forever.
    let mismatchTold = false;
    const formatMismatch = (other: string, bytes: number, frames: Uint8Array[]) => {
      ctx.stats.errors++;
      ctx.stats.count("bad_format_mismatch");
      if (mismatchTold) return;
      mismatchTold = true;
      ctx.log.warn(
        `messages from ${endpoint} are ${other}, not mflow (a JSON header first): set format = "${other}" on this ` +
          `input, or send mflow. Counted as bad_format_mismatch and dropped; not logged again`,
        { endpoint, frames: frames.length, bytes, first_frame: frames[0] ? preview(frames[0]) : "" },
      );
    };
    // One clock reading per batch: the messages of a batch were all waiting in the socket when it was read.
    let time = 0n;
    const handle = (frames: Uint8Array[], out: BusRecord[]) => {
      let bytes = 0;
      for (let i = 0; i < frames.length; i++) bytes += frames[i].length;
      if (c.max_message_size > 0 && bytes > c.max_message_size) {
        return bad("oversize", `${bytes} bytes is more than max_message_size ${c.max_message_size}`, bytes, frames);
      }
      try {
        let r: BusRecord;
        if (c.format === "mflow") {
          const m = decoder.decode(frames);
          if (m.continuation) ctx.stats.count("raw_continuations");
          stats.add(bytes);
          const data = m.data;
          if (c.statistics_key) data[c.statistics_key] = stats.toDict();
          r = withBytesForm({ stream, time, data, source: ctx.name, size: bytes, meta: { frames, endpoint } });
        } else {
          r = this.#decodePayload(frames, stream, time, ctx.name, bytes);
          stats.add(bytes);
          if (c.statistics_key) r.data[c.statistics_key] = stats.toDict();
        }
        // Checked here rather than only on the bus's way in, so that the log names the peer.
        const tooMuch = checkRecordLimits(r.data, bytes);
        if (tooMuch) {
          const why = tooMuch === "too_deep"
            ? `nested deeper than ${MAX_DEPTH} levels`
            : `${bytes} B is more than the ${MAX_RECORD_BYTES} B record limit`;
          return rejects.reject(r, tooMuch, why, { endpoint, bytes, first_frame: preview(frames[0]) });
        }
        ctx.stats.records++;
        ctx.stats.bytes += bytes;
        out.push(r);
      } catch (e) {
        const other = c.format === "mflow" && e instanceof MflowError && e.kind === "bad_header"
          ? otherFormat(frames[0])
          : undefined;
        if (other) formatMismatch(other, bytes, frames);
        else if (e instanceof MflowError || e instanceof PayloadError) {
          // msgpackr and cbor-x recurse: a message nested thousands deep overflows the stack while decoding.
          if (limitReasonOf(e.cause) === "too_deep") {
            return rejects.reject({ stream }, "too_deep", e.message, {
              endpoint,
              bytes,
              first_frame: preview(frames[0]),
            });
          }
          bad(e.kind, e.message, bytes, frames);
        } else bad("payload", (e as Error).message, bytes, frames);
      }
    };
    // receive_timeout is watched here, not with RCVTIMEO: zeromq.js crashes under Deno when RCVTIMEO expires.
    let lastMessage = performance.now();
    let idle = 0;
    let blocked = false;
    const watchdog = c.receive_timeout > 0
      ? setInterval(() => {
        // While the bus holds the input back it is not reading: that is not the source going quiet.
        if (blocked || performance.now() - lastMessage < c.receive_timeout) return;
        lastMessage = performance.now();
        ctx.stats.count("receive_timeouts");
        if (idle++ === 0) ctx.log.warn("nothing received within receive_timeout", { endpoint, ms: c.receive_timeout });
      }, c.receive_timeout)
      : undefined;
    try {
      await this.#receiveLoop(sock, ctx, handle, () => {
        lastMessage = performance.now();
        time = nowNs();
        idle = 0;
      }, (b) => {
        blocked = b;
        lastMessage = performance.now();
      });
    } finally {
      clearInterval(watchdog);
    }
  }

  async #receiveLoop(
    sock: ZmqReceiver,
    ctx: InputContext,
    handle: (frames: Uint8Array[], out: BusRecord[]) => void,
    received: () => void,
    blocked: (blocked: boolean) => void,
  ): Promise<void> {
    let batch: BusRecord[] = [];
    let first = true;
    const onMessage = (frames: Uint8Array[]) => {
      if (first) {
        first = false;
        received();
      }
      handle(frames, batch);
    };
    while (!ctx.signal.aborted) {
      // What is already queued is taken without waiting (MAX_BATCH at most), so that the bus sees batches at high rates.
      if (!await sock.receiveBatch(MAX_BATCH, onMessage)) break;
      first = true;
      if (batch.length > 0) {
        const p = ctx.emit(batch);
        batch = [];
        if (p) {
          blocked(true);
          await p;
          blocked(false);
        }
      }
    }
  }

  #decodePayload(frames: Uint8Array[], stream: string, time: bigint, source: string, size: number): BusRecord {
    const c = this.config;
    let payload: Uint8Array;
    if (frames.length === 2 && c.topic_stream) {
      stream = new TextDecoder().decode(frames[0]);
      payload = frames[1];
    } else if (frames.length === 1 || c.format === "raw") payload = frames[0];
    else {
      throw new PayloadError(
        "frame_count",
        `${frames.length} frames, expected 1${c.topic_stream ? " or 2 (topic, payload)" : ""}`,
      );
    }
    if (c.format === "raw") {
      const data: Dict = { frames: c.topic_stream && frames.length === 2 ? [payload] : frames };
      return { stream, time, data, source, size };
    }
    let v: unknown;
    try {
      v = c.format === "msgpack"
        ? decodeMsgpack(payload)
        : c.format === "cbor"
        ? decodeCbor(payload)
        : JSON.parse(utf8.decode(payload));
    } catch (e) {
      throw new PayloadError("payload", `not ${c.format}: ${(e as Error).message}`, e);
    }
    if (!isDict(v)) throw new PayloadError("payload", `${c.format} value is not a map`);
    const r: BusRecord = { stream, time, data: v, source, size };
    // The bytes that came are already the record's MessagePack form: outputs need not encode again.
    if (c.format === "msgpack" && !hasTypedArrays(v)) r.encoded = { msgpack: payload };
    return r;
  }
}

/** Creates and opens the input (so that a bad address fails the daemon's start). */
export async function createZmqInput(config: ZmqInputConfig, ctx?: { log: Logger }): Promise<ZmqInput> {
  const input = new ZmqInput(config, ctx?.log);
  await input.open();
  return input;
}
