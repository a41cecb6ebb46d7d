/**
 * Configuration of the `websocket` output: one `[[outputs.websocket]]` table.
 *
 * @module
 */
import { z } from "npm:zod@^4.1.12";
import { byteSize, numeric, outputCommon } from "../../config/schema.ts";

/** What a client gets when it cannot keep up. */
export const SLOW_CLIENT_POLICIES = ["latest", "drop_oldest", "disconnect"] as const;

/** Schema of one `[[outputs.websocket]]` table. */
export const websocketSchema = z.strictObject({
  ...outputCommon,
  /**
   * `telebus`: records as MessagePack or JSON frames, streams chosen by each client.
   * `datart`: dataRT's surface: one JSON text frame per record at `<path>/client`, `<path>/echo`, `/status`.
   */
  protocol: z.enum(["telebus", "datart"]).default("telebus"),
  /** Route prefix: default `/ws/records` (telebus) or `/ws` (datart, whose clients connect to `/ws/client`). */
  path: z.string().regex(/^\/[^?#]*$/, "a path starting with /").optional(),
  /** Frame encoding of the telebus protocol (a client may ask for the other with `?format=`). */
  format: z.enum(["msgpack", "json"]).default("msgpack"),
  /** Most records per frame (telebus protocol; a frame of several records is an array). */
  batch: numeric().pipe(z.number().int().min(1).max(10_000)).default(1),
  /** A client whose unsent bytes exceed this is slow: its policy applies. */
  max_buffered: byteSize().pipe(z.number().int().min(1024)).default(4 * 1024 * 1024),
  /** What a slow client gets: the newest record of every stream, the newest records, or disconnected. */
  slow_client: z.enum(SLOW_CLIENT_POLICIES).default("latest"),
  /** Records held per slow client with `drop_oldest` (and distinct streams with `latest`). */
  client_queue: numeric().pipe(z.number().int().min(1)).default(1000),
  /** Most clients at once. */
  max_clients: numeric().pipe(z.number().int().min(1)).default(1000),
  /** Largest message accepted from a client. */
  max_message_bytes: byteSize().pipe(z.number().int().min(16)).default(64 * 1024),
});

/** The parsed `[[outputs.websocket]]` table. */
export type WebsocketConfig = z.output<typeof websocketSchema>;
