/**
 * The `zmq` output: PUSH or PUB sockets, bound or connected, sending each
 * record as one multipart message in the configured format. In `mflow`
 * format a record that came from an mflow input is re-sent as the frames that
 * arrived; other records are encoded by their htype (`{header: {htype, …},
 * …}`), and a record with neither is sent as `array-1.0` built from its
 * first typed array (its other scalar keys go into the header).
 *
 * Back-pressure: with `when_full = "block"` (the default) a PUSH socket that
 * has no peer or a full high-water mark makes `write` wait, so the bus queue
 * fills and the inputs are slowed down. With another policy `send_timeout`
 * defaults to 0 and a message the socket cannot take is dropped (`no_peer`).
 *
 * @module
 */
import type { Output, OutputContext } from "../../core/transport.ts";
import type { BusRecord, Dict, Value } from "../../core/record.ts";
import { recordMsgpack } from "../../codecs/msgpack.ts";
import { assertWithinDepth } from "../../core/limits.ts";
import { RecordRejects } from "../../core/reject.ts";
import { encodeCbor } from "../../codecs/cbor.ts";
import { toJson } from "../../codecs/json.ts";
import { encodeArrayMessage, encodeMflow } from "../../codecs/mflow.ts";
import { exposeThroughput, openEach, ThroughputStatistics } from "../../net/zmq_stats.ts";
import { openZmqSender, type ZmqBinding, type ZmqSender } from "../../net/zmq_socket.ts";
import type { ZmqOutputConfig } from "./schema.ts";

const utf8 = new TextEncoder();

/** The frames of a record in mflow format (see the module documentation). */
export function mflowFrames(r: BusRecord, seq: number): Uint8Array[] {
  const frames = r.meta?.frames;
  if (Array.isArray(frames) && frames.every((f) => f instanceof Uint8Array)) return frames as Uint8Array[];
  const d = r.data;
  // What telebus's zmq input would refuse is not sent (frames passed on unchanged came through that input).
  assertWithinDepth(d);
  const h = d.header;
  if (h !== null && typeof h === "object" && !ArrayBuffer.isView(h) && typeof (h as Dict).htype === "string") {
    return encodeMflow(d);
  }
  const extra: Dict = {};
  let array: ArrayBufferView | undefined;
  for (const [k, v] of Object.entries(d)) {
    if (v !== null && typeof v === "object" && ArrayBuffer.isView(v) && !(v instanceof DataView)) {
      array ??= v;
    } else if (v === null || typeof v !== "object") extra[k] = v as Value;
  }
  if (!array) throw new Error("record has no mflow header and no typed array to send as array-1.0");
  return encodeArrayMessage([array], seq, { source: r.stream, ...extra });
}

/** The zmq output. */
export class ZmqOutput implements Output {
  /** Bound or connected endpoints, once open. */
  endpoints: string[] = [];
  /** mflow-like statistics of what was sent. */
  readonly statistics = new ThroughputStatistics();
  /** The library the sockets use, once open (see net/zmq_socket.ts). */
  binding: ZmqBinding | undefined;
  #sockets: ZmqSender[] = [];
  #next = 0;
  #seq = 0;
  #stopGauges?: () => void;
  #sendTimeout?: number;
  readonly #rejects: RecordRejects;

  /**
   * Creates the output; call {@linkcode ZmqOutput.open} before writing.
   *
   * @param config the parsed `[[outputs.zmq]]` table
   * @param ctx the output's context
   */
  constructor(readonly config: ZmqOutputConfig, readonly ctx: OutputContext) {
    this.#rejects = new RecordRejects(ctx.stats, ctx.log);
  }

  /** Opens every socket. */
  async open(): Promise<string[]> {
    const c = this.config;
    this.#sendTimeout = c.send_timeout ?? (c.when_full === "block" ? undefined : 0);
    this.#sockets = await openEach(
      c.address,
      (a) => openZmqSender(a, { mode: c.mode, connType: c.conn_type, queueSize: c.queue_size, linger: c.linger }),
    );
    this.binding = this.#sockets[0]?.binding;
    this.endpoints.push(...this.#sockets.map((s, i) => s.lastEndpoint ?? c.address[i]));
    this.#stopGauges = exposeThroughput(this.ctx.stats, this.statistics, c.statistics_interval);
    this.ctx.log.info("zmq output open", {
      mode: c.mode,
      conn_type: c.conn_type,
      endpoints: this.endpoints.join(" "),
      binding: this.binding,
    });
    return this.endpoints;
  }

  /** The frames of one record in the configured format. */
  frames(r: BusRecord): Uint8Array[] {
    const c = this.config;
    let payload: Uint8Array[];
    switch (c.format) {
      case "mflow":
        return mflowFrames(r, this.#seq++);
      case "msgpack":
        payload = [recordMsgpack(r)];
        break;
      case "cbor":
        assertWithinDepth(r.data);
        payload = [encodeCbor(r.data)];
        break;
      case "json":
        assertWithinDepth(r.data);
        payload = [utf8.encode(toJson(r.data))];
        break;
      default: {
        const f = r.data.frames ?? r.data.data;
        const list = Array.isArray(f) ? f : [f];
        if (!list.every((x) => x instanceof Uint8Array)) throw new Error("raw format needs a 'frames' list of bytes");
        payload = list as Uint8Array[];
      }
    }
    return c.topic_stream ? [utf8.encode(r.stream), ...payload] : payload;
  }

  /** Sends every record; waits while a PUSH peer is missing or full (unless a send timeout is set). */
  async write(records: BusRecord[]): Promise<void> {
    const stats = this.ctx.stats;
    for (const r of records) {
      let frames: Uint8Array[];
      try {
        frames = this.frames(r);
      } catch (e) {
        this.#rejects.rejectError(r, e); // costs only this record
        continue;
      }
      const sock = this.#sockets[this.#next];
      this.#next = (this.#next + 1) % this.#sockets.length;
      const sent = sock.send(frames, this.#sendTimeout);
      if (sent === false || (sent !== true && !await sent)) {
        stats.drop(sock.closed ? "closed" : "no_peer");
        continue;
      }
      let bytes = 0;
      for (const f of frames) bytes += f.length;
      this.statistics.add(bytes);
      stats.bytes += bytes;
    }
  }

  /** Closes the sockets; unsent messages are kept for `linger` ms. */
  close(): Promise<void> {
    this.#stopGauges?.();
    for (const s of this.#sockets) if (!s.closed) s.close();
    return Promise.resolve();
  }
}

/** Creates and opens the output. */
export async function createZmqOutput(config: ZmqOutputConfig, ctx: OutputContext): Promise<ZmqOutput> {
  const out = new ZmqOutput(config, ctx);
  await out.open();
  return out;
}
