/**
 * Configuration of the `mqtt` transport: `[[inputs.mqtt]]` and `[[outputs.mqtt]]` tables.
 *
 * @module
 */
import { z } from "npm:zod@^4.1.12";
import { duration, flag, inputCommon, outputCommon } from "../../config/schema.ts";

/** Payload formats of an MQTT message. */
export const MQTT_FORMATS = ["json", "msgpack", "cbor", "raw", "influx"] as const;
/** One of {@linkcode MQTT_FORMATS}. */
export type MqttFormat = typeof MQTT_FORMATS[number];

const qos = z.union([z.literal(0), z.literal(1), z.literal(2)]);

/** The connection keys both sides share. */
const connection = {
  url: z.string().regex(/^(mqtts?|wss?):\/\/[^/]/, "an mqtt://, mqtts://, ws:// or wss:// URL").default(
    "mqtt://127.0.0.1:1883",
  ).describe(
    "The broker: `mqtt://host:port` (1883), `mqtts://` (TLS, 8883), `ws://` or `wss://host:port/path` (WebSocket).",
  ),
  client_id: z.string().min(1).optional().describe(
    "Client identifier (default: `telebus` and 12 random letters and digits, new at each start). A persistent session (`clean = false`) needs a " +
      "fixed one.",
  ),
  username: z.string().default("").describe("User name (empty: none)."),
  password: z.string().default("").describe("Password (use `${VAR}` to keep it out of the file)."),
  keepalive: duration().pipe(z.number().min(0)).default(30_000).describe(
    "Keep-alive interval (whole seconds are sent to the broker; `0` = off).",
  ),
  connect_timeout: duration().pipe(z.number().min(100)).default(10_000).describe(
    "How long one connection attempt may take.",
  ),
  reconnect_period: duration().pipe(z.number().min(10)).default(1000).describe(
    "First wait before reconnecting; doubled after each failed attempt up to `reconnect_max`.",
  ),
  reconnect_max: duration().pipe(z.number().min(10)).default(30_000).describe("Longest wait between attempts."),
  clean: flag().default(true).describe(
    "Clean start. `false` keeps a persistent session on the broker (with a fixed `client_id`): subscriptions and " +
      "QoS 1/2 messages that arrive while telebus is away are kept for it.",
  ),
  protocol_version: z.union([z.literal(4), z.literal(5)]).default(4).describe(
    "`4` (MQTT 3.1.1, every broker) or `5` (MQTT 5: message expiry and content type on the output).",
  ),
  ca: z.string().default("").describe(
    "PEM file of the CAs that sign the broker's certificate, trusted instead of the system's (`mqtts://`, `wss://`).",
  ),
  cert: z.string().default("").describe("PEM file of a client certificate (with `key`)."),
  key: z.string().default("").describe("PEM file of the client certificate's private key."),
};

type Connection = { url: string; clean: boolean; client_id?: string; cert: string; key: string };
const refinements = <T extends Connection>(s: z.ZodType<T>) =>
  s.refine((c) => c.clean || c.client_id !== undefined, {
    message: "a persistent session (clean = false) needs a fixed client_id",
    path: ["client_id"],
  }).refine((c) => (c.cert === "") === (c.key === ""), {
    message: "cert and key go together",
    path: ["cert"],
  });

/** One `[[inputs.mqtt]]` table. */
export const mqttInputSchema = refinements(z.strictObject({
  ...inputCommon,
  ...connection,
  topics: z.array(z.string().min(1)).min(1).describe(
    "Topic filters to subscribe to; `+` matches one level, `#` (last) every level below.",
  ),
  qos: qos.default(1).describe(
    "Subscription QoS `0`, `1` or `2`. QoS 1 and 2 messages are acknowledged to the broker only once every output " +
      "accepted their record (at-least-once into the outputs).",
  ),
  format: z.enum(MQTT_FORMATS).default("json").describe(
    "Payload format: `json`, `msgpack`, `cbor` (a map is the record; another value becomes `{value}`), `raw` " +
      "(`{payload: bytes}`) or `influx` (line protocol: one record per line, fields and tags as keys).",
  ),
  stream: z.string().min(1).default("{topic}").describe(
    "Stream name template: `{topic}` (after `strip_prefix`), `{1}`…`{9}` (its levels), `{measurement}` (influx).",
  ),
  strip_prefix: z.string().default("").describe("Cut this prefix off topics before they make stream names."),
  time_key: z.string().default("").describe(
    "Key holding the record's time: a number of seconds since the epoch, an RFC 3339 text or integer nanoseconds " +
      "(bigint); empty or missing: the arrival time (influx lines with a time use it).",
  ),
}));

/** The parsed input table (durations in ms). See README.md. */
export type MqttInputConfig = z.output<typeof mqttInputSchema>;

/** One `[[outputs.mqtt]]` table. */
export const mqttOutputSchema = refinements(
  z.strictObject({
    ...outputCommon,
    ...connection,
    topic: z.string().min(1).default("telebus/{stream}").describe(
      "Topic template: `{stream}`, `{source}` and `{KEY}` (a top-level key of the record; empty when missing).",
    ),
    qos: qos.default(1).describe(
      "Publish QoS. At `1` and `2` a batch counts as written once the broker confirmed every message of it.",
    ),
    retain: flag().default(false).describe("Publish with the retain flag (the broker keeps the last per topic)."),
    format: z.enum(MQTT_FORMATS).default("json").describe(
      "Payload format: `json`, `msgpack`, `cbor`, `raw` (the record's `payload` key: bytes or text) or `influx` " +
        "(one line of line protocol).",
    ),
    message_expiry: duration().pipe(z.number().min(0)).default(0).describe(
      "MQTT 5 message expiry (whole seconds are sent; `0` = none).",
    ),
    content_type: z.string().default("").describe("MQTT 5 content type of every message (empty: none)."),
  }).refine((c) => c.protocol_version === 5 || (c.message_expiry === 0 && c.content_type === ""), {
    message: "message_expiry and content_type need protocol_version = 5",
    path: ["protocol_version"],
  }),
);

/** The parsed output table (durations in ms). See README.md. */
export type MqttOutputConfig = z.output<typeof mqttOutputSchema>;

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
