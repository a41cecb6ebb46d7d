/**
 * The options of a WebSocket fan-out endpoint: the `websocket` output's own
 * keys, which the dashboard's feed and the dataRT client's surface use too.
 * Only the schema lives here; the runtime is the WebSocket fan-out's.
 *
 * @module
 */
import * as v from "npm:valibot@^1.1.0";
import { byteSize, described, numeric } from "./options.ts";
import { table, type TableOutput } from "./table.ts";

/** What a client gets when it cannot keep up. */
export const SLOW_CLIENT_POLICIES = ["latest", "drop_oldest", "disconnect"] as const;

/** The keys of a WebSocket fan-out endpoint. */
export const websocketServerOptions = {
  protocol: described(
    v.optional(v.picklist(["telebus", "datart"]), "telebus"),
    "`telebus`: records as MessagePack or JSON frames, streams chosen by each client. `datart`: dataRT's surface: " +
      "one JSON text frame per record at `<path>/client`, `<path>/echo`, and `/status`.",
  ),
  path: described(
    v.optional(v.pipe(v.string(), v.regex(/^\/[^?#]*$/, "a path starting with /"))),
    "Route: default `/ws/records` (telebus) or `/ws` (datart, the prefix of `/client` and `/echo`).",
  ),
  format: described(
    v.optional(v.picklist(["msgpack", "json"]), "msgpack"),
    "Frame encoding of the telebus protocol (a client may ask for the other with `?format=`).",
  ),
  batch: described(
    v.optional(v.pipe(numeric(), v.integer(), v.minValue(1), v.maxValue(10_000)), 1),
    "Most records per frame (telebus protocol; a frame of several records is an array).",
  ),
  max_buffered: described(
    v.optional(v.pipe(byteSize(), v.integer(), v.minValue(1024)), "4MiB"),
    "A client whose socket holds more unsent bytes than this is slow: `slow_client` applies.",
  ),
  slow_client: described(
    v.optional(v.picklist(SLOW_CLIENT_POLICIES), "latest"),
    "What a slow client gets: the newest record of every stream (`latest`), the newest `client_queue` records " +
      "(`drop_oldest`), or closed with 1008 (`disconnect`).",
  ),
  client_queue: described(
    v.optional(v.pipe(numeric(), v.integer(), v.minValue(1)), 1000),
    "Records held per slow client with `drop_oldest` (and distinct streams with `latest`).",
  ),
  max_clients: described(
    v.optional(v.pipe(numeric(), v.integer(), v.minValue(1)), 1000),
    "Most clients at once; more are refused with 503 and counted.",
  ),
  max_message_bytes: described(
    v.optional(v.pipe(byteSize(), v.integer(), v.minValue(16)), "64KiB"),
    "Largest message accepted from a client; a larger one closes that client (1009).",
  ),
};

/** A WebSocket fan-out endpoint's keys alone (the dashboard's feed, the dataRT client). */
export const websocketServerSchema = table(v.strictObject(websocketServerOptions));

/** The parsed keys of a WebSocket fan-out endpoint. */
export type WebsocketServerOptions = TableOutput<typeof websocketServerSchema>;
