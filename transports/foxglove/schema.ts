/**
 * Configuration of the `foxglove` output: one `[[outputs.foxglove]]` table.
 *
 * @module
 */
import { z } from "npm:zod@^4.1.12";
import { byteSize, flag, numeric, outputCommon } from "../../config/schema.ts";

/** Schema of one `[[outputs.foxglove]]` table. */
export const foxgloveSchema = z.strictObject({
  ...outputCommon,
  listen: z.string().regex(/^(\[[^\]]*\]|[^:]*):\d+$/, "expected host:port").default("127.0.0.1:8765").describe(
    "Where the Foxglove WebSocket server listens: `host:port` (8765 is the port the Foxglove app tries first). " +
      "Fails at start-up if the port is taken.",
  ),
  origins: z.array(z.string()).default(["https://app.foxglove.dev"]).describe(
    "Web page origins allowed to connect besides the server's own (the daemon's `cors_origins` rule, for this " +
      'listener): the Foxglove web app by default; `["*"]` allows every page. Clients that send no `Origin` ' +
      "(the desktop apps, PlotJuggler, scripts) are not affected; `[daemon] token` applies to every client.",
  ),
  server_name: z.string().default("telebus").describe("Server name shown by the client (`serverInfo`)."),
  max_buffered: byteSize().pipe(z.number().int().min(1024)).default(1024 * 1024).describe(
    "A client whose socket holds more unsent bytes than this is slow: it gets nothing more until it has sent half " +
      "of it, then the newest record of every channel it missed (older ones are dropped and counted).",
  ),
  max_channels: numeric().pipe(z.number().int().min(1)).default(10_000).describe(
    "Most channels (streams) advertised; records of further streams are not served and are counted.",
  ),
  max_clients: numeric().pipe(z.number().int().min(1)).default(64).describe(
    "Most clients at once; more are refused with 503 and counted.",
  ),
  services: flag().default(false).describe(
    "Offer the daemon's callable commands (the `services` of `[[inputs.moat_cmd]]`: a device's commands) as " +
      "Foxglove services a client may call. Off unless set: a call acts on a device, so it is enabled on purpose; " +
      "only clients that passed `[daemon] token` and `origins` can call; on a non-loopback `listen` the token is required.",
  ),
  max_message_bytes: byteSize().pipe(z.number().int().min(16)).default(64 * 1024).describe(
    "Largest message accepted from a client; a larger one closes that client (1009).",
  ),
  tls_cert: z.string().default("").describe(
    "PEM certificate chain file: the listener then speaks TLS (`wss://`), so the token and the data do not cross " +
      "the network in clear; the Foxglove web app, served over https, needs it for any address but localhost. " +
      "Empty: the daemon's `tls_cert` and `tls_key` if set, else plain `ws://`.",
  ),
  tls_key: z.string().default("").describe("The PEM private key of `tls_cert`."),
}).refine((c) => (c.tls_cert === "") === (c.tls_key === ""), {
  message: "set both tls_cert and tls_key (or neither)",
  path: ["tls_cert"],
});

/** The parsed `[[outputs.foxglove]]` table. */
export type FoxgloveConfig = z.output<typeof foxgloveSchema>;
