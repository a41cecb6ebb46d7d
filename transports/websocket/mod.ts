/**
 * The `websocket` transport: records pushed to WebSocket clients (telebus
 * frames, or dataRT's surface).
 *
 * @module
 */
import { defineTransport, type TransportDefinition } from "../../core/transport.ts";
import { NEEDS_NOTHING } from "../../core/permissions.ts";
import { websocketSchema } from "./schema.ts";
import { WebsocketOutput } from "../../net/websocket/fanout.ts";

export { WebsocketOutput } from "../../net/websocket/fanout.ts";
export { WsClient } from "../../net/websocket/client.ts";
export { frameOf } from "../../net/websocket/frames.ts";
export type { WebsocketConfig } from "./schema.ts";

/** The transport as the registry loads it. */
export const transport: TransportDefinition = defineTransport({
  type: "websocket",
  description:
    "records to WebSocket clients: telebus frames (MessagePack/JSON, streams by glob, slow-client policies) or dataRT's",
  output: {
    schema: websocketSchema,
    create: (config, ctx) => new WebsocketOutput(config, ctx),
    // Served by the daemon's HTTP server: nothing more.
    permissions: NEEDS_NOTHING,
  },
});
