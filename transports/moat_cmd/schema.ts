/**
 * Configuration of the `moat_cmd` transport: an input that connects to a
 * MoaT device and streams a command (`connect`), or the telebus MoaT server
 * (`listen`: `pub` into the bus), and the output that gives that server the
 * bus records for `sub`, `latest`, `streams` and `stats`.
 *
 * @module
 */
import * as v from "npm:valibot@^1.1.0";
import {
  described,
  duration,
  flag,
  inputCommon,
  numeric,
  outputCommon,
  table,
  type TableOutput,
} from "../../config/schema.ts";

const hostPort = v.pipe(v.string(), v.regex(/^(\[[^\]]*\]|[^:]*):\d+$/, "expected host:port"));
const codec = described(
  v.optional(v.picklist(["cbor", "msgpack"]), "cbor"),
  "Wire codec: CBOR as moat-lib-cmd, or older MoaT's MessagePack variant (ext 2–6: bignum, Path, proxy, object).",
);
const queue = described(
  v.optional(v.pipe(numeric(), v.integer(), v.minValue(1), v.maxValue(100_000)), 42),
  "Items a reader buffers per stream (moat-lib-cmd 0.3.3's size); also the flow credit granted.",
);
const credits = described(
  v.optional(flag(), true),
  "Send flow credits. Set `false` for moat-lib-cmd 0.3.3 peers: they crash on a credit while only writing.",
);
const overflow = described(
  v.optional(v.picklist(["wait", "drop"]), "wait"),
  "A reader's queue is full (the peer ignores credits): `wait` (stop reading the connection until the consumer " +
    "catches up; nothing is lost) or `drop` (drop the item, count it as `queue_overflow`, warn the peer with `-5`).",
);
const auth_timeout = described(
  v.optional(v.pipe(duration(), v.minValue(1)), "10s"),
  "Server mode with `[daemon] token`: a peer that has not sent `auth(token)` by then is closed (`auth_timeout`).",
);
const max_clients = described(
  v.optional(v.pipe(numeric(), v.integer(), v.minValue(1)), 64),
  "Server mode: most peers connected at once; more are refused (closed at once) and counted (`refused`).",
);

/** One `[[inputs.moat_cmd]]` table. */
export const moatInputSchema = table(v.pipe(
  v.strictObject({
    ...inputCommon,
    connect: described(
      v.optional(
        v.pipe(
          v.string(),
          v.regex(/^(wss?:\/\/.+|\/.+|(\[[^\]]*\]|[^:/]*):\d+)$/, "expected host:port, ws://… or /dev/…"),
        ),
      ),
      "Client mode: the device: `host:port` (TCP), `ws://…` (WebSocket) or a path (`/dev/ttyUSB0`, a FIFO) opened " +
        "as a byte stream. Exactly one of `connect` and `listen`.",
    ),
    framing: described(
      v.optional(v.picklist(["stream", "serial"]), "stream"),
      "Client mode on byte streams: `stream` (CBOR back to back) or `serial` (SerialPacker frames: `0x85`, length, " +
        "payload, CRC-16).",
    ),
    max_packet: described(
      v.optional(v.pipe(numeric(), v.integer(), v.minValue(1), v.maxValue(16383)), 127),
      "Serial framing: SerialPacker's `max_packet` (above 255, lengths over 127 take two bytes).",
    ),
    listen: described(
      v.optional(hostPort),
      "Server mode: where peers connect (the same address as an `[[outputs.moat_cmd]]` for `sub` & co.). Bound when " +
        "the part starts: a port in use fails the start or reload.",
    ),
    command: described(
      v.optional(
        v.union([
          v.pipe(v.string(), v.minLength(1)),
          v.pipe(v.array(v.union([v.string(), v.number()])), v.minLength(1)),
        ]),
      ),
      "Client mode: the command to stream (a string, or an array sent as a path, as moat-lib-rpc does).",
    ),
    args: described(v.optional(v.array(v.unknown()), []), "Client mode: the command's positional arguments."),
    kw: described(v.optional(v.record(v.string(), v.unknown()), {}), "Client mode: the command's keyword arguments."),
    mode: described(
      v.optional(v.picklist(["stream_r", "stream_rw"]), "stream_r"),
      "Client mode: how the stream is opened: read only (`stream_r`) or both ways (`stream_rw`).",
    ),
    stream: described(
      v.optional(v.pipe(v.string(), v.minLength(1)), "moat/{cmd}"),
      "Client mode: the records' stream; `{cmd}` is the command (`/`-joined), `{KEY}` a key of the item's dictionary.",
    ),
    time_key: described(
      v.optional(v.string(), "time"),
      "Client mode: a numeric key of the item holding the time in seconds (else: the arrival time).",
    ),
    reconnect: described(
      v.optional(duration(), "500ms"),
      "Client mode: first wait after a failed or ended connection; doubles up to `reconnect_max` (reset after a " +
        "connection that streamed).",
    ),
    reconnect_max: described(v.optional(duration(), "30s"), "Client mode: longest wait between connection attempts."),
    services: described(
      v.optional(
        v.array(
          v.union([
            v.pipe(v.string(), v.minLength(1)),
            v.pipe(v.array(v.union([v.string(), v.number()])), v.minLength(1)),
          ]),
        ),
        [],
      ),
      "Client mode: device commands offered to the daemon's other parts (the `foxglove` output's services) while " +
        "connected, each as `<input name>/<command>` (`/`-joined); a string or an array (a path), as `command`. " +
        "MoaT has no command listing to discover them: name them here.",
    ),
    call_timeout: described(
      v.optional(v.pipe(duration(), v.minValue(1)), "10s"),
      "Client mode: how long a call of one of `services` waits for the device's reply.",
    ),
    max_clients,
    token: described(
      v.optional(v.string(), ""),
      "Client mode: send `auth(token)` first (a telebus MoaT server whose daemon has a token).",
    ),
    auth_timeout,
    codec,
    queue,
    credits,
    overflow,
  }),
  v.check(
    (c) => (c.connect === undefined) !== (c.listen === undefined),
    "set exactly one of connect (a device to stream from) and listen (the MoaT server)",
  ),
  v.forward(v.check((c) => c.listen !== undefined || c.command !== undefined, "connect needs a command to stream"), [
    "command",
  ]),
  v.forward(
    v.check(
      (c) => c.services.length === 0 || c.connect !== undefined,
      "services are a device's commands: they need connect",
    ),
    ["services"],
  ),
  v.forward(
    v.check(
      (c) => c.token === "" || c.connect !== undefined,
      "token is sent by a client (connect); the server asks for [daemon] token",
    ),
    ["token"],
  ),
));

/** The parsed `[[inputs.moat_cmd]]` table. */
export type MoatInputConfig = TableOutput<typeof moatInputSchema>;

/** One `[[outputs.moat_cmd]]` table: the bus side of the MoaT server. */
export const moatOutputSchema = table(v.strictObject({
  ...outputCommon,
  listen: described(
    hostPort,
    "The server's `host:port` (shared with an `[[inputs.moat_cmd]]` of the same `listen`; the first part to start " +
      "decides `max_clients`, `auth_timeout`, `codec`, `queue`, `credits` and `overflow`).",
  ),
  sub_queue: described(
    v.optional(v.pipe(numeric(), v.integer(), v.minValue(1)), 1000),
    "Records buffered per `sub` peer; beyond, its oldest are dropped (`sub_slow`): a slow peer never stalls the bus.",
  ),
  max_streams: described(
    v.optional(v.pipe(numeric(), v.integer(), v.minValue(1)), 10_000),
    "Most distinct streams remembered for `latest` and `streams` (more are counted, not kept).",
  ),
  max_clients,
  auth_timeout,
  codec,
  queue,
  credits,
  overflow,
}));

/** The parsed `[[outputs.moat_cmd]]` table. */
export type MoatOutputConfig = TableOutput<typeof moatOutputSchema>;
