/**
 * The Foxglove WebSocket protocol's names, from `@foxglove/ws-protocol` (its
 * CommonJS build exposes them on the default export only).
 *
 * @module
 */
import foxglove from "npm:@foxglove/ws-protocol@^0.8.0";

export type {
  Advertise,
  Channel,
  ClientMessage,
  MessageData,
  ServerInfo,
  Time,
  Unadvertise,
} from "npm:@foxglove/ws-protocol@^0.8.0";

/** The subprotocol a client must offer. */
export const SUBPROTOCOL = "foxglove.websocket.v1";

/** Opcodes of the server's binary messages. */
export const BinaryOpcode: typeof foxglove.BinaryOpcode = foxglove.BinaryOpcode;
/** Capabilities a server declares in `serverInfo`. */
export const ServerCapability: typeof foxglove.ServerCapability = foxglove.ServerCapability;
/** Levels of `status` messages. */
export const StatusLevel: typeof foxglove.StatusLevel = foxglove.StatusLevel;
/** The package's client (tests and benches use it; the server does not). */
export const FoxgloveClient: typeof foxglove.FoxgloveClient = foxglove.FoxgloveClient;
