/**
 * Configuration of the `foxglove` output: one `[[outputs.foxglove]]` table.
 *
 * @module
 */
import * as v from "npm:valibot@^1.1.0";
import { byteSize, described, flag, numeric, outputCommon, table, type TableOutput } from "../../config/schema.ts";

/** Schema of one `[[outputs.foxglove]]` table. */
export const foxgloveSchema = table(v.pipe(
  v.strictObject({
    ...outputCommon,
    listen: described(
      v.optional(v.pipe(v.string(), v.regex(/^(\[[^\]]*\]|[^:]*):\d+$/, "expected host:port")), "127.0.0.1:8765"),
      "Where the Foxglove WebSocket server listens: `host:port` (8765 is the port the Foxglove app tries first). " +
        "Fails at start-up if the port is taken.",
    ),
    origins: described(
      v.optional(v.array(v.string()), ["https://app.foxglove.dev"]),
      "Web page origins allowed to connect besides the server's own (the daemon's `cors_origins` rule, for this " +
        'listener): the Foxglove web app by default; `["*"]` allows every page. Clients that send no `Origin` ' +
        "(the desktop apps, PlotJuggler, scripts) are not affected; `[daemon] token` applies to every client.",
    ),
    server_name: described(v.optional(v.string(), "telebus"), "Server name shown by the client (`serverInfo`)."),
    max_buffered: described(
      v.optional(v.pipe(byteSize(), v.integer(), v.minValue(1024)), "1MiB"),
      "A client whose socket holds more unsent bytes than this is slow: it gets nothing more until it has sent half " +
        "of it, then the newest record of every channel it missed (older ones are dropped and counted).",
    ),
    max_channels: described(
      v.optional(v.pipe(numeric(), v.integer(), v.minValue(1)), 10_000),
      "Most channels (streams) advertised; records of further streams are not served and are counted.",
    ),
    max_clients: described(
      v.optional(v.pipe(numeric(), v.integer(), v.minValue(1)), 64),
      "Most clients at once; more are refused with 503 and counted.",
    ),
    services: described(
      v.optional(flag(), false),
      "Offer the daemon's callable commands (the `services` of `[[inputs.moat_cmd]]`: a device's commands) as " +
        "Foxglove services a client may call. Off unless set: a call acts on a device, so it is enabled on purpose; " +
        "only clients that passed `[daemon] token` and `origins` can call; on a non-loopback `listen` the token is required.",
    ),
    max_message_bytes: described(
      v.optional(v.pipe(byteSize(), v.integer(), v.minValue(16)), "64KiB"),
      "Largest message accepted from a client; a larger one closes that client (1009).",
    ),
    tls_cert: described(
      v.optional(v.string(), ""),
      "PEM certificate chain file: the listener then speaks TLS (`wss://`), so the token and the data do not cross " +
        "the network in clear; the Foxglove web app, served over https, needs it for any address but localhost. " +
        "Empty: the daemon's `tls_cert` and `tls_key` if set, else plain `ws://`.",
    ),
    tls_key: described(v.optional(v.string(), ""), "The PEM private key of `tls_cert`."),
  }),
  v.forward(v.check((c) => (c.tls_cert === "") === (c.tls_key === ""), "set both tls_cert and tls_key (or neither)"), [
    "tls_cert",
  ]),
));

/** The parsed `[[outputs.foxglove]]` table. */
export type FoxgloveConfig = TableOutput<typeof foxgloveSchema>;
