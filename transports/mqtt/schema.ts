/**
 * Configuration of the `mqtt` transport: `[[inputs.mqtt]]` and `[[outputs.mqtt]]` tables.
 *
 * @module
 */
import * as v from "npm:valibot@^1.1.0";
import { described, duration, flag, inputCommon, outputCommon, table, type TableOutput } from "../../config/schema.ts";

/** Payload formats of an MQTT message. */
export const MQTT_FORMATS = ["json", "msgpack", "cbor", "raw", "influx"] as const;
/** One of {@linkcode MQTT_FORMATS}. */
export type MqttFormat = typeof MQTT_FORMATS[number];

const qos = v.union([v.literal(0), v.literal(1), v.literal(2)]);

/** The connection keys both sides share. */
const connection = {
  url: described(
    v.optional(
      v.pipe(v.string(), v.regex(/^(mqtts?|wss?):\/\/[^/]/, "an mqtt://, mqtts://, ws:// or wss:// URL")),
      "mqtt://127.0.0.1:1883",
    ),
    "The broker: `mqtt://host:port` (1883), `mqtts://` (TLS, 8883), `ws://` or `wss://host:port/path` (WebSocket).",
  ),
  client_id: described(
    v.optional(v.pipe(v.string(), v.minLength(1))),
    "Client identifier (default: `telebus` and 12 random letters and digits, new at each start). A persistent session (`clean = false`) needs a " +
      "fixed one.",
  ),
  username: described(v.optional(v.string(), ""), "User name (empty: none)."),
  password: described(v.optional(v.string(), ""), "Password (use `${VAR}` to keep it out of the file)."),
  keepalive: described(
    v.optional(v.pipe(duration(), v.minValue(0)), "30s"),
    "Keep-alive interval (whole seconds are sent to the broker; `0` = off).",
  ),
  connect_timeout: described(
    v.optional(v.pipe(duration(), v.minValue(100)), "10s"),
    "How long one connection attempt may take.",
  ),
  reconnect_period: described(
    v.optional(v.pipe(duration(), v.minValue(10)), "1s"),
    "First wait before reconnecting; doubled after each failed attempt up to `reconnect_max`.",
  ),
  reconnect_max: described(v.optional(v.pipe(duration(), v.minValue(10)), "30s"), "Longest wait between attempts."),
  clean: described(
    v.optional(flag(), true),
    "Clean start. `false` keeps a persistent session on the broker (with a fixed `client_id`): subscriptions and " +
      "QoS 1/2 messages that arrive while telebus is away are kept for it.",
  ),
  protocol_version: described(
    v.optional(v.union([v.literal(4), v.literal(5)]), 4),
    "`4` (MQTT 3.1.1, every broker) or `5` (MQTT 5: message expiry and content type on the output).",
  ),
  ca: described(
    v.optional(v.string(), ""),
    "PEM file of the CAs that sign the broker's certificate, trusted instead of the system's (`mqtts://`, `wss://`).",
  ),
  cert: described(v.optional(v.string(), ""), "PEM file of a client certificate (with `key`)."),
  key: described(v.optional(v.string(), ""), "PEM file of the client certificate's private key."),
};

const persistentMessage = "a persistent session (clean = false) needs a fixed client_id";
const certKeyMessage = "cert and key go together";

/** One `[[inputs.mqtt]]` table. */
export const mqttInputSchema = table(v.pipe(
  v.strictObject({
    ...inputCommon,
    ...connection,
    topics: described(
      v.pipe(v.array(v.pipe(v.string(), v.minLength(1))), v.minLength(1)),
      "Topic filters to subscribe to; `+` matches one level, `#` (last) every level below.",
    ),
    qos: described(
      v.optional(qos, 1),
      "Subscription QoS `0`, `1` or `2`. QoS 1 and 2 messages are acknowledged to the broker only once every output " +
        "accepted their record (at-least-once into the outputs).",
    ),
    format: described(
      v.optional(v.picklist(MQTT_FORMATS), "json"),
      "Payload format: `json`, `msgpack`, `cbor` (a map is the record; another value becomes `{value}`), `raw` " +
        "(`{payload: bytes}`) or `influx` (line protocol: one record per line, fields and tags as keys).",
    ),
    stream: described(
      v.optional(v.pipe(v.string(), v.minLength(1)), "{topic}"),
      "Stream name template: `{topic}` (after `strip_prefix`), `{1}`…`{9}` (its levels), `{measurement}` (influx).",
    ),
    strip_prefix: described(v.optional(v.string(), ""), "Cut this prefix off topics before they make stream names."),
    time_key: described(
      v.optional(v.string(), ""),
      "Key holding the record's time: a number of seconds since the epoch, an RFC 3339 text or integer nanoseconds " +
        "(bigint); empty or missing: the arrival time (influx lines with a time use it).",
    ),
  }),
  v.forward(v.check((c) => c.clean || c.client_id !== undefined, persistentMessage), ["client_id"]),
  v.forward(v.check((c) => (c.cert === "") === (c.key === ""), certKeyMessage), ["cert"]),
));

/** The parsed input table (durations in ms). See README.md. */
export type MqttInputConfig = TableOutput<typeof mqttInputSchema>;

/** One `[[outputs.mqtt]]` table. */
export const mqttOutputSchema = table(v.pipe(
  v.pipe(
    v.strictObject({
      ...outputCommon,
      ...connection,
      topic: described(
        v.optional(v.pipe(v.string(), v.minLength(1)), "telebus/{stream}"),
        "Topic template: `{stream}`, `{source}` and `{KEY}` (a top-level key of the record; empty when missing).",
      ),
      qos: described(
        v.optional(qos, 1),
        "Publish QoS. At `1` and `2` a batch counts as written once the broker confirmed every message of it.",
      ),
      retain: described(
        v.optional(flag(), false),
        "Publish with the retain flag (the broker keeps the last per topic).",
      ),
      format: described(
        v.optional(v.picklist(MQTT_FORMATS), "json"),
        "Payload format: `json`, `msgpack`, `cbor`, `raw` (the record's `payload` key: bytes or text) or `influx` " +
          "(one line of line protocol).",
      ),
      message_expiry: described(
        v.optional(v.pipe(duration(), v.minValue(0)), "0s"),
        "MQTT 5 message expiry (whole seconds are sent; `0` = none).",
      ),
      content_type: described(v.optional(v.string(), ""), "MQTT 5 content type of every message (empty: none)."),
    }),
    v.forward(
      v.check(
        (c) => c.protocol_version === 5 || (c.message_expiry === 0 && c.content_type === ""),
        "message_expiry and content_type need protocol_version = 5",
      ),
      ["protocol_version"],
    ),
  ),
  v.forward(v.check((c) => c.clean || c.client_id !== undefined, persistentMessage), ["client_id"]),
  v.forward(v.check((c) => (c.cert === "") === (c.key === ""), certKeyMessage), ["cert"]),
));

/** The parsed output table (durations in ms). See README.md. */
export type MqttOutputConfig = TableOutput<typeof mqttOutputSchema>;

/** The connection keys of either side. */
export type MqttConnectionConfig = Pick<
  MqttInputConfig,
  | "url"
  | "client_id"
  | "username"
  | "password"
  | "keepalive"
  | "connect_timeout"
  | "reconnect_period"
  | "reconnect_max"
  | "clean"
  | "protocol_version"
  | "ca"
  | "cert"
  | "key"
>;
