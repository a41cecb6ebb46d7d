/**
 * The options of a WebSocket fan-out endpoint: the `websocket` output's own
 * keys, which the dashboard's feed and the dataRT client's surface use too.
 * Only the schema lives here; the runtime is the WebSocket fan-out's.
 *
 * @module
 */
import { z } from "npm:zod@^4.1.12";
import { byteSize, numeric } from "./schema.ts";

/** What a client gets when it cannot keep up. */
export const SLOW_CLIENT_POLICIES = ["latest", "drop_oldest", "disconnect"] as const;

/** The keys of a WebSocket fan-out endpoint. */
export const websocketServerOptions = {
  protocol: z.enum(["telebus", "datart"]).default("telebus").describe(
    "`telebus`: records as MessagePack or JSON frames, streams chosen by each client. `datart`: dataRT's surface: " +
      "one JSON text frame per record at `<path>/client`, `<path>/echo`, and `/status`.",
  ),
  path: z.string().regex(/^\/[^?#]*$/, "a path starting with /").optional().describe(
    "Route: default `/ws/records` (telebus) or `/ws` (datart, the prefix of `/client` and `/echo`).",
  ),
  format: z.enum(["msgpack", "json"]).default("msgpack").describe(
    "Frame encoding of the telebus protocol (a client may ask for the other with `?format=`).",
  ),
  batch: numeric().pipe(z.number().int().min(1).max(10_000)).default(1).describe(
    "Most records per frame (telebus protocol; a frame of several records is an array).",
  ),
  max_buffered: byteSize().pipe(z.number().int().min(1024)).default(4 * 1024 * 1024).describe(
    "A client whose socket holds more unsent bytes than this is slow: `slow_client` applies.",
  ),
  slow_client: z.enum(SLOW_CLIENT_POLICIES).default("latest").describe(
    "What a slow client gets: the newest record of every stream (`latest`), the newest `client_queue` records " +
      "(`drop_oldest`), or closed with 1008 (`disconnect`).",
  ),
  client_queue: numeric().pipe(z.number().int().min(1)).default(1000).describe(
    "Records held per slow client with `drop_oldest` (and distinct streams with `latest`).",
  ),
  max_clients: numeric().pipe(z.number().int().min(1)).default(1000).describe(
    "Most clients at once; more are refused with 503 and counted.",
  ),
  max_message_bytes: byteSize().pipe(z.number().int().min(16)).default(64 * 1024).describe(
    "Largest message accepted from a client; a larger one closes that client (1009).",
  ),
};

/** A WebSocket fan-out endpoint's keys alone (the dashboard's feed, the dataRT client). */
export const websocketServerSchema = z.strictObject(websocketServerOptions);

/** The parsed keys of a WebSocket fan-out endpoint. */
export type WebsocketServerOptions = z.output<typeof websocketServerSchema>;
