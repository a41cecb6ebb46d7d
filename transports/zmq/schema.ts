/**
 * Configuration of the `zmq` transport: `[[inputs.zmq]]` and `[[outputs.zmq]]` tables.
 *
 * @module
 */
import { z } from "npm:zod@^4.1.12";
import { byteSize, duration, flag, inputCommon, numeric, outputCommon } from "../../config/schema.ts";

/** Payload formats of a zmq message. */
export const ZMQ_FORMATS = ["mflow", "msgpack", "cbor", "json", "raw"] as const;
/** One of {@linkcode ZMQ_FORMATS}. */
export type ZmqFormat = typeof ZMQ_FORMATS[number];

/** One address or a list of them. */
const addresses = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)])
  .transform((a) => Array.isArray(a) ? a : [a]);
const format = z.enum(ZMQ_FORMATS).default("mflow");
const topicStream = flag().default(false);
const statisticsInterval = duration().pipe(z.number().min(10)).default(1000).describe(
  "Period of the message/data rate gauges.",
);

/** Schema of one `[[inputs.zmq]]` table. */
export const zmqInputSchema = z.strictObject({
  ...inputCommon,
  address: addresses.describe(
    "Endpoints (`tcp://host:port`, `ipc://path`); one socket each, all read fairly; `tcp://127.0.0.1:*` binds a " +
      "free port.",
  ),
  mode: z.enum(["pull", "sub"]).default("pull").describe("Socket type."),
  conn_type: z.enum(["connect", "bind"]).default("connect").describe(
    "`connect` to the addresses (mflow's default) or `bind` them, as mflow's `connect(conn_type=…)`.",
  ),
  queue_size: numeric().pipe(z.number().int().min(0)).default(100).describe(
    "Receive high-water mark, set as mflow's `queue_size` does (0 = unbounded).",
  ),
  receive_timeout: duration().pipe(z.number().min(0)).default(0).describe(
    "When nothing arrived for this long: a warning (once per quiet spell) and the `receive_timeouts` counter; " +
      "`0` = never.",
  ),
  topics: z.array(z.string()).default([""]).describe("SUB topic prefixes (default: everything)."),
  format: format.describe("How a message is decoded (README: _Formats_)."),
  stream: z.string().min(1).optional().describe("Stream name of the records (default: the input's name)."),
  topic_stream: topicStream.describe(
    "msgpack/cbor/json/raw: a two-frame message is `[topic, payload]` and the topic is the stream name (PUB topics).",
  ),
  max_message_size: byteSize().pipe(z.number().int().min(0)).default(0).describe(
    "Largest message (all frames together) accepted; a larger one is dropped and counted as `bad_oversize`. " +
      "`0` = no limit.",
  ),
  statistics_key: z.string().min(1).optional().describe(
    "Put mflow's per-message statistics (`messages_received`, `total_bytes_received`, `bytes_received`) in each " +
      "record under this key.",
  ),
  statistics_interval: statisticsInterval,
});

/** The parsed `[[inputs.zmq]]` table (durations in ms, sizes in bytes). See README.md. */
export type ZmqInputConfig = z.output<typeof zmqInputSchema>;

/** Schema of one `[[outputs.zmq]]` table. */
export const zmqOutputSchema = z.strictObject({
  ...outputCommon,
  address: addresses.describe("Endpoints; one socket each (with several, messages go round-robin over them)."),
  mode: z.enum(["push", "pub"]).default("push").describe("Socket type."),
  conn_type: z.enum(["connect", "bind"]).default("bind").describe(
    "`bind` the addresses (mflow's senders do) or `connect` to them.",
  ),
  queue_size: numeric().pipe(z.number().int().min(0)).default(100).describe("Send high-water mark."),
  format: format.describe("How a record is encoded (README: _Formats_)."),
  topic_stream: topicStream.describe(
    "msgpack/cbor/json/raw: send the stream name as a first frame (a PUB topic).",
  ),
  linger: z.union([z.literal(-1), duration()]).default(1000).describe(
    "How long unsent messages may still go out after the output closes; `-1` = until sent.",
  ),
  send_timeout: duration().pipe(z.number().min(0)).optional().describe(
    'Longest wait for a peer per message. Default: forever with `when_full = "block"`, else 0 (the message is ' +
      "dropped as `no_peer` when the socket cannot take it).",
  ),
  statistics_interval: statisticsInterval,
});

/** The parsed `[[outputs.zmq]]` table (durations in ms). See README.md. */
export type ZmqOutputConfig = z.output<typeof zmqOutputSchema>;
