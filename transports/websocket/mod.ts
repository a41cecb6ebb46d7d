/**
 * The `websocket` transport: records pushed to WebSocket clients (telebus
 * frames, or dataRT's surface).
 *
 * @module
 */
import type { OutputContext, TransportDefinition } from "../../core/transport.ts";
import { type WebsocketConfig, websocketSchema } from "./schema.ts";
import { WebsocketOutput } from "../../net/websocket/fanout.ts";

export { WebsocketOutput } from "../../net/websocket/fanout.ts";
export { WsClient } from "../../net/websocket/client.ts";
export { frameOf } from "../../net/websocket/frames.ts";
export type { WebsocketConfig } from "./schema.ts";

/** The transport as the registry loads it. */
export const transport: TransportDefinition = {
  type: "websocket",
  description: "records pushed to WebSocket clients (telebus frames, or dataRT-compatible)",
  output: {
    schema: websocketSchema,
    create: (config: WebsocketConfig, ctx: OutputContext) => new WebsocketOutput(config, ctx),
  },
};
