/**
 * Configuration of the `zmq` transport: `[[inputs.zmq]]` and `[[outputs.zmq]]` tables.
 *
 * @module
 */
import { z } from "npm:zod@^4.1.12";
import {
  byteSize,
  duration,
  flag,
  inputCommon,
  numeric,
  type OutputCommon,
  outputCommon,
} from "../../config/schema.ts";

/** Payload formats of a zmq message. */
export const ZMQ_FORMATS = ["mflow", "msgpack", "cbor", "json", "raw"] as const;
/** One of {@linkcode ZMQ_FORMATS}. */
export type ZmqFormat = typeof ZMQ_FORMATS[number];

/** One address or a list of them. */
const addresses = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)])
  .transform((a) => Array.isArray(a) ? a : [a]);

/** The parsed `[[inputs.zmq]]` table (durations in ms, sizes in bytes). See README.md. */
export interface ZmqInputConfig {
  /** Unique among inputs; also the records' `source`. */
  name?: string;
  /** Endpoints (`tcp://host:port`, `ipc://…`); one socket each, all read fairly. */
  address: string[];
  /** `pull` or `sub`. */
  mode: "pull" | "sub";
  /** `connect` to the addresses (mflow's default) or `bind` them. */
  conn_type: "connect" | "bind";
  /** Sets both high-water marks, as mflow's `queue_size` does. */
  queue_size: number;
  /** Log and count (`receive_timeouts`) when nothing arrived for this long; 0 = never. */
  receive_timeout: number;
  /** SUB topic prefixes (default: everything). */
  topics: string[];
  /** How messages are decoded. */
  format: ZmqFormat;
  /** Stream name of the records (default: the input's name). */
  stream?: string;
  /** For msgpack/cbor/json/raw: a two-frame message's first frame names the stream (PUB topics). */
  topic_stream: boolean;
  /** Largest message (all frames together) accepted; a bigger one is counted and dropped. 0 = no limit. */
  max_message_size: number;
  /** Put mflow's per-socket statistics into each record's dictionary under this key. */
  statistics_key?: string;
  /** Period of the message/data rate gauges. */
  statistics_interval: number;
}

/** Schema of one `[[inputs.zmq]]` table. */
export const zmqInputSchema: z.ZodType<ZmqInputConfig, unknown> = z.strictObject({
  ...inputCommon,
  address: addresses,
  mode: z.enum(["pull", "sub"]).default("pull"),
  conn_type: z.enum(["connect", "bind"]).default("connect"),
  queue_size: numeric().pipe(z.number().int().min(0)).default(100),
  receive_timeout: duration().pipe(z.number().min(0)).default(0),
  topics: z.array(z.string()).default([""]),
  format: z.enum(ZMQ_FORMATS).default("mflow"),
  stream: z.string().min(1).optional(),
  topic_stream: flag().default(false),
  max_message_size: byteSize().pipe(z.number().int().min(0)).default(0),
  statistics_key: z.string().min(1).optional(),
  statistics_interval: duration().pipe(z.number().min(10)).default(1000),
});

/** The parsed `[[outputs.zmq]]` table. See README.md. */
export interface ZmqOutputConfig extends OutputCommon {
  /** Endpoints; one socket each (records go round-robin over them). */
  address: string[];
  /** `push` or `pub`. */
  mode: "push" | "pub";
  /** `bind` the addresses (mflow's senders do) or `connect` to them. */
  conn_type: "connect" | "bind";
  /** Send high-water mark. */
  queue_size: number;
  /** How records are encoded. */
  format: ZmqFormat;
  /** For msgpack/cbor/json/raw: send the stream name as a first frame (a PUB topic). */
  topic_stream: boolean;
  /** How long unsent messages are kept when the output closes (ms); -1 = until sent. */
  linger: number;
  /**
   * Longest wait for a peer per message (ms). Default: forever with `when_full = "block"`, else 0 — the
   * message is dropped (`no_peer`) when the socket cannot take it.
   */
  send_timeout?: number;
  /** Period of the message/data rate gauges. */
  statistics_interval: number;
}

/** Schema of one `[[outputs.zmq]]` table. */
export const zmqOutputSchema: z.ZodType<ZmqOutputConfig, unknown> = z.strictObject({
  ...outputCommon,
  address: addresses,
  mode: z.enum(["push", "pub"]).default("push"),
  conn_type: z.enum(["connect", "bind"]).default("bind"),
  queue_size: numeric().pipe(z.number().int().min(0)).default(100),
  format: z.enum(ZMQ_FORMATS).default("mflow"),
  topic_stream: flag().default(false),
  linger: z.union([z.literal(-1), duration()]).default(1000),
  send_timeout: duration().pipe(z.number().min(0)).optional(),
  statistics_interval: duration().pipe(z.number().min(10)).default(1000),
});
