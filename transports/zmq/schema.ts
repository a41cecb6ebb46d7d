/**
 * Configuration of the `zmq` transport: `[[inputs.zmq]]` and `[[outputs.zmq]]` tables.
 *
 * @module
 */
import * as v from "npm:valibot@^1.1.0";
import {
  byteSize,
  described,
  duration,
  flag,
  inputCommon,
  numeric,
  outputCommon,
  table,
  type TableOutput,
} from "../../config/schema.ts";

/** Payload formats of a zmq message. */
export const ZMQ_FORMATS = ["mflow", "msgpack", "cbor", "json", "raw"] as const;
/** One of {@linkcode ZMQ_FORMATS}. */
export type ZmqFormat = typeof ZMQ_FORMATS[number];

/** One address or a list of them. */
const addresses = v.pipe(
  v.union([v.pipe(v.string(), v.minLength(1)), v.pipe(v.array(v.pipe(v.string(), v.minLength(1))), v.minLength(1))]),
  v.transform((a) => Array.isArray(a) ? a : [a]),
);
const format = v.optional(v.picklist(ZMQ_FORMATS), "mflow");
const topicStream = v.optional(flag(), false);
const statisticsInterval = described(
  v.optional(v.pipe(duration(), v.minValue(10)), "1s"),
  "Period of the message/data rate gauges.",
);

/** Schema of one `[[inputs.zmq]]` table. */
export const zmqInputSchema = table(v.strictObject({
  ...inputCommon,
  address: described(
    addresses,
    "Endpoints (`tcp://host:port`, `ipc://path`); one socket each, all read fairly; `tcp://127.0.0.1:*` binds a " +
      "free port.",
  ),
  mode: described(v.optional(v.picklist(["pull", "sub"]), "pull"), "Socket type."),
  conn_type: described(
    v.optional(v.picklist(["connect", "bind"]), "connect"),
    "`connect` to the addresses (mflow's default) or `bind` them, as mflow's `connect(conn_type=…)`.",
  ),
  queue_size: described(
    v.optional(v.pipe(numeric(), v.integer(), v.minValue(0)), 100),
    "Receive high-water mark, set as mflow's `queue_size` does (0 = unbounded).",
  ),
  receive_timeout: described(
    v.optional(v.pipe(duration(), v.minValue(0)), "0s"),
    "When nothing arrived for this long: a warning (once per quiet spell) and the `receive_timeouts` counter; " +
      "`0` = never.",
  ),
  topics: described(v.optional(v.array(v.string()), [""]), "SUB topic prefixes (default: everything)."),
  format: described(format, "How a message is decoded (README: _Formats_)."),
  stream: described(
    v.optional(v.pipe(v.string(), v.minLength(1))),
    "Stream name of the records (default: the input's name).",
  ),
  topic_stream: described(
    topicStream,
    "msgpack/cbor/json/raw: a two-frame message is `[topic, payload]` and the topic is the stream name (PUB topics).",
  ),
  max_message_size: described(
    v.optional(v.pipe(byteSize(), v.integer(), v.minValue(0)), 0),
    "Largest message (all frames together) accepted; a larger one is dropped and counted as `bad_oversize`. " +
      "`0` = no limit.",
  ),
  statistics_key: described(
    v.optional(v.pipe(v.string(), v.minLength(1))),
    "Put mflow's per-message statistics (`messages_received`, `total_bytes_received`, `bytes_received`) in each " +
      "record under this key.",
  ),
  statistics_interval: statisticsInterval,
}));

/** The parsed `[[inputs.zmq]]` table (durations in ms, sizes in bytes). See README.md. */
export type ZmqInputConfig = TableOutput<typeof zmqInputSchema>;

/** Schema of one `[[outputs.zmq]]` table. */
export const zmqOutputSchema = table(v.strictObject({
  ...outputCommon,
  address: described(addresses, "Endpoints; one socket each (with several, messages go round-robin over them)."),
  mode: described(v.optional(v.picklist(["push", "pub"]), "push"), "Socket type."),
  conn_type: described(
    v.optional(v.picklist(["connect", "bind"]), "bind"),
    "`bind` the addresses (mflow's senders do) or `connect` to them.",
  ),
  queue_size: described(v.optional(v.pipe(numeric(), v.integer(), v.minValue(0)), 100), "Send high-water mark."),
  format: described(format, "How a record is encoded (README: _Formats_)."),
  topic_stream: described(topicStream, "msgpack/cbor/json/raw: send the stream name as a first frame (a PUB topic)."),
  linger: described(
    v.optional(v.union([v.literal(-1), duration()]), "1s"),
    "How long unsent messages may still go out after the output closes; `-1` = until sent.",
  ),
  send_timeout: described(
    v.optional(v.pipe(duration(), v.minValue(0))),
    'Longest wait for a peer per message. Default: forever with `when_full = "block"`, else 0 (the message is ' +
      "dropped as `no_peer` when the socket cannot take it).",
  ),
  statistics_interval: statisticsInterval,
}));

/** The parsed `[[outputs.zmq]]` table (durations in ms). See README.md. */
export type ZmqOutputConfig = TableOutput<typeof zmqOutputSchema>;
