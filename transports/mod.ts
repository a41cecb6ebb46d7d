/**
 * The transport registry: the one place that knows every transport. Each
 * entry is a literal dynamic import, so a transport's dependencies load only
 * when a config uses it, and `deno compile` still sees every module.
 *
 * @module
 */
import type { TransportRegistry } from "../core/transport.ts";

/** Every built-in transport by type name. */
export const transports: TransportRegistry = {
  generator: () => import("./generator/mod.ts"),
  mpack_tail: () => import("./mpack_tail/mod.ts"),
  replay: () => import("./replay/mod.ts"),
  mpack_file: () => import("./mpack_file/mod.ts"),
  mcap: () => import("./mcap/mod.ts"),
  mpack_serve: () => import("./mpack_serve/mod.ts"),
  websocket: () => import("./websocket/mod.ts"),
  dashboard: () => import("./dashboard/mod.ts"),
  graphql: () => import("./graphql/mod.ts"),
  streamer: () => import("./streamer/mod.ts"),
  redis_streams: () => import("./redis_streams/mod.ts"),
  influxdb: () => import("./influxdb/mod.ts"),
  zmq: () => import("./zmq/mod.ts"),
  moat_cmd: () => import("./moat_cmd/mod.ts"),
  foxglove: () => import("./foxglove/mod.ts"),
};
