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
const codec = z.enum(["cbor", "msgpack"]).default("cbor");
/** Items a reader buffers per stream. */
const queue = numeric().pipe(z.number().int().min(1).max(100_000)).default(42);
/** Send flow credits (false for moat-lib-cmd 0.3.3 peers, which crash on them). */
const credits = flag().default(true);
/**
 * A reader queue that is full: `wait` (stop reading the connection until the consumer catches up; nothing is
 * lost) or `drop` (drop the item, count it as `queue_overflow`, warn the peer with `-5`).
 */
const overflow = z.enum(["wait", "drop"]).default("wait");
/** Server mode, with the daemon's token set: how long a peer has to send `auth(token)`. */
const auth_timeout = duration().pipe(z.number().min(1)).default(10_000);

/** One `[[inputs.moat_cmd]]` table. */
export const moatInputSchema = z.strictObject({
  ...inputCommon,
  /** Client mode: the device: `host:port` (TCP), `ws://…` (WebSocket) or a device path such as `/dev/ttyUSB0`. */
  connect: z.string().regex(/^(wss?:\/\/.+|\/.+|(\[[^\]]*\]|[^:/]*):\d+)$/, "expected host:port, ws://… or /dev/…")
    .optional(),
  /** Client mode, byte streams: `stream` (CBOR back to back) or `serial` (SerialPacker frames). */
  framing: z.enum(["stream", "serial"]).default("stream"),
  /** Client mode, serial framing: largest frame payload (SerialPacker's max_packet). */
  max_packet: numeric().pipe(z.number().int().min(1).max(16383)).default(127),
  /** Server mode: where peers connect (the same address as a `[[outputs.moat_cmd]]` for `sub` & co.). */
  listen: hostPort.optional(),
  /** Client mode: the command to stream (a string, or a path as moat-lib-rpc). */
  command: z.union([z.string().min(1), z.array(z.union([z.string(), z.number()])).min(1)]).optional(),
  /** Client mode: the command's positional arguments. */
  args: z.array(z.unknown()).default([]),
  /** Client mode: the command's keyword arguments. */
  kw: z.record(z.string(), z.unknown()).default({}),
  /** Client mode: how the stream is opened: read only (`stream_r`) or both ways (`stream_rw`). */
  mode: z.enum(["stream_r", "stream_rw"]).default("stream_r"),
  /** Client mode: the records' stream name; `{key}` takes a key of the item's dictionary. */
  stream: z.string().min(1).default("moat/{cmd}"),
  /** Client mode: a numeric key of the item holding the time in seconds (else: arrival time). */
  time_key: z.string().default("time"),
  /** Client mode: first wait after a failed or ended connection; doubles up to `reconnect_max`. */
  reconnect: duration().default(500),
  /** Client mode: longest wait between reconnects. */
  reconnect_max: duration().default(30_000),
  /** Server mode: most peers connected at once. */
  max_clients: numeric().pipe(z.number().int().min(1)).default(64),
  /** Client mode: send `auth(token)` first (a telebus MoaT server whose daemon has a token). */
  token: z.string().default(""),
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
}).refine((c) => c.token === "" || c.connect !== undefined, {
  message: "token is sent by a client (connect); the server asks for [daemon] token",
  path: ["token"],
});

/** The parsed `[[inputs.moat_cmd]]` table. */
export type MoatInputConfig = z.output<typeof moatInputSchema>;

/** One `[[outputs.moat_cmd]]` table: the bus side of the MoaT server. */
export const moatOutputSchema = z.strictObject({
  ...outputCommon,
  /** The server's `host:port` (shared with an `[[inputs.moat_cmd]]` of the same `listen`). */
  listen: hostPort,
  /** Records buffered per `sub` peer before its oldest are dropped (a slow peer never stalls the bus). */
  sub_queue: numeric().pipe(z.number().int().min(1)).default(1000),
  /** Most distinct streams remembered for `latest` and `streams`. */
  max_streams: numeric().pipe(z.number().int().min(1)).default(10_000),
  /** Most peers connected at once. */
  max_clients: numeric().pipe(z.number().int().min(1)).default(64),
  auth_timeout,
  codec,
  queue,
  credits,
  overflow,
});

/** The parsed `[[outputs.moat_cmd]]` table. */
export type MoatOutputConfig = z.output<typeof moatOutputSchema>;
