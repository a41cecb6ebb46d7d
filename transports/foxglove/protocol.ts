/**
 * The Foxglove WebSocket protocol's names and message types. The types come
 * from `@foxglove/ws-protocol`; the few constants the server sends are
 * written here from the spec, since loading the package at run time loads
 * its `debug` dependency, which reads the whole environment (a library user
 * would need `--allow-env`). Tests check them against the package's.
 *
 * @module
 */
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

/** Opcodes of the server's binary messages (the package's `BinaryOpcode`). */
export const BinaryOpcode = { MESSAGE_DATA: 1, TIME: 2 } as const;
/** Capabilities a server declares in `serverInfo` (the package's `ServerCapability`). */
export const ServerCapability = { time: "time" } as const;
/** Levels of `status` messages (the package's `StatusLevel`). */
export const StatusLevel = { INFO: 0, WARNING: 1, ERROR: 2 } as const;
