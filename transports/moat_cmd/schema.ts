/**
 * Configuration of the `moat_cmd` transport: an input that connects to a
 * MoaT device and streams a command (`connect`), or the telebus MoaT server
 * (`listen`: `pub` into the bus), and the output that gives that server the
 * bus records for `sub`, `latest`, `streams` and `stats`.
 *
 * @module
 */
import { z } from "npm:zod@^4.1.12";
import { duration, flag, inputCommon, numeric, outputCommon } from "../../config/schema.ts";

const hostPort = z.string().regex(/^(\[[^\]]*\]|[^:]*):\d+$/, "expected host:port");
const codec = z.enum(["cbor", "msgpack"]).default("cbor").describe(
  "Wire codec: CBOR as moat-lib-cmd, or older MoaT's MessagePack variant (ext 2–6: bignum, Path, proxy, object).",
);
const queue = numeric().pipe(z.number().int().min(1).max(100_000)).default(42).describe(
  "Items a reader buffers per stream (moat-lib-cmd 0.3.3's size); also the flow credit granted.",
);
const credits = flag().default(true).describe(
  "Send flow credits. Set `false` for moat-lib-cmd 0.3.3 peers: they crash on a credit while only writing.",
);
const overflow = z.enum(["wait", "drop"]).default("wait").describe(
  "A reader's queue is full (the peer ignores credits): `wait` (stop reading the connection until the consumer " +
    "catches up; nothing is lost) or `drop` (drop the item, count it as `queue_overflow`, warn the peer with `-5`).",
);
const auth_timeout = duration().pipe(z.number().min(1)).default(10_000).describe(
  "Server mode with `[daemon] token`: a peer that has not sent `auth(token)` by then is closed (`auth_timeout`).",
);
const max_clients = numeric().pipe(z.number().int().min(1)).default(64).describe(
  "Server mode: most peers connected at once; more are refused (closed at once) and counted (`refused`).",
);

/** One `[[inputs.moat_cmd]]` table. */
export const moatInputSchema = z.strictObject({
  ...inputCommon,
  connect: z.string().regex(/^(wss?:\/\/.+|\/.+|(\[[^\]]*\]|[^:/]*):\d+)$/, "expected host:port, ws://… or /dev/…")
    .optional().describe(
      "Client mode: the device: `host:port` (TCP), `ws://…` (WebSocket) or a path (`/dev/ttyUSB0`, a FIFO) opened " +
        "as a byte stream. Exactly one of `connect` and `listen`.",
    ),
  framing: z.enum(["stream", "serial"]).default("stream").describe(
    "Client mode on byte streams: `stream` (CBOR back to back) or `serial` (SerialPacker frames: `0x85`, length, " +
      "payload, CRC-16).",
  ),
  max_packet: numeric().pipe(z.number().int().min(1).max(16383)).default(127).describe(
    "Serial framing: SerialPacker's `max_packet` (above 255, lengths over 127 take two bytes).",
  ),
  listen: hostPort.optional().describe(
    "Server mode: where peers connect (the same address as an `[[outputs.moat_cmd]]` for `sub` & co.). Bound when " +
      "the part starts: a port in use fails the start or reload.",
  ),
  command: z.union([z.string().min(1), z.array(z.union([z.string(), z.number()])).min(1)]).optional().describe(
    "Client mode: the command to stream (a string, or an array sent as a path, as moat-lib-rpc does).",
  ),
  args: z.array(z.unknown()).default([]).describe("Client mode: the command's positional arguments."),
  kw: z.record(z.string(), z.unknown()).default({}).describe("Client mode: the command's keyword arguments."),
  mode: z.enum(["stream_r", "stream_rw"]).default("stream_r").describe(
    "Client mode: how the stream is opened: read only (`stream_r`) or both ways (`stream_rw`).",
  ),
  stream: z.string().min(1).default("moat/{cmd}").describe(
    "Client mode: the records' stream; `{cmd}` is the command (`/`-joined), `{KEY}` a key of the item's dictionary.",
  ),
  time_key: z.string().default("time").describe(
    "Client mode: a numeric key of the item holding the time in seconds (else: the arrival time).",
  ),
  reconnect: duration().default(500).describe(
    "Client mode: first wait after a failed or ended connection; doubles up to `reconnect_max` (reset after a " +
      "connection that streamed).",
  ),
  reconnect_max: duration().default(30_000).describe("Client mode: longest wait between connection attempts."),
  services: z.array(z.union([z.string().min(1), z.array(z.union([z.string(), z.number()])).min(1)])).default([])
    .describe(
      "Client mode: device commands offered to the daemon's other parts (the `foxglove` output's services) while " +
        "connected, each as `<input name>/<command>` (`/`-joined); a string or an array (a path), as `command`. " +
        "MoaT has no command listing to discover them: name them here.",
    ),
  call_timeout: duration().pipe(z.number().min(1)).default(10_000).describe(
    "Client mode: how long a call of one of `services` waits for the device's reply.",
  ),
  max_clients,
  token: z.string().default("").describe(
    "Client mode: send `auth(token)` first (a telebus MoaT server whose daemon has a token).",
  ),
  auth_timeout,
  codec,
  queue,
  credits,
  overflow,
}).refine((c) => (c.connect === undefined) !== (c.listen === undefined), {
  message: "set exactly one of connect (a device to stream from) and listen (the MoaT server)",
}).refine((c) => c.listen !== undefined || c.command !== undefined, {
  message: "connect needs a command to stream",
  path: ["command"],
}).refine((c) => c.services.length === 0 || c.connect !== undefined, {
  message: "services are a device's commands: they need connect",
  path: ["services"],
}).refine((c) => c.token === "" || c.connect !== undefined, {
  message: "token is sent by a client (connect); the server asks for [daemon] token",
  path: ["token"],
});

/** The parsed `[[inputs.moat_cmd]]` table. */
export type MoatInputConfig = z.output<typeof moatInputSchema>;

/** One `[[outputs.moat_cmd]]` table: the bus side of the MoaT server. */
export const moatOutputSchema = z.strictObject({
  ...outputCommon,
  listen: hostPort.describe(
    "The server's `host:port` (shared with an `[[inputs.moat_cmd]]` of the same `listen`; the first part to start " +
      "decides `max_clients`, `auth_timeout`, `codec`, `queue`, `credits` and `overflow`).",
  ),
  sub_queue: numeric().pipe(z.number().int().min(1)).default(1000).describe(
    "Records buffered per `sub` peer; beyond, its oldest are dropped (`sub_slow`): a slow peer never stalls the bus.",
  ),
  max_streams: numeric().pipe(z.number().int().min(1)).default(10_000).describe(
    "Most distinct streams remembered for `latest` and `streams` (more are counted, not kept).",
  ),
  max_clients,
  auth_timeout,
  codec,
  queue,
  credits,
  overflow,
});

/** The parsed `[[outputs.moat_cmd]]` table. */
export type MoatOutputConfig = z.output<typeof moatOutputSchema>;
