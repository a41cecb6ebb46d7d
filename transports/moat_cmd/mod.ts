/**
 * The `moat_cmd` transport: MoaT-Cmd (moat-lib-cmd 0.3.3 / moat-lib-rpc) over
 * TCP. As an input it either streams a command from a device (`connect`) or
 * runs the telebus MoaT server's `pub` side (`listen`); as an output it runs
 * the server's `sub`/`latest`/`streams`/`stats` side.
 *
 * @module
 */
import type { OutputContext, TransportDefinition } from "../../core/transport.ts";
import type { Logger } from "../../core/log.ts";
import type { PartStats } from "../../core/stats.ts";
import { type MoatInputConfig, moatInputSchema, type MoatOutputConfig, moatOutputSchema } from "./schema.ts";
import { createMoatClientInput } from "./input.ts";
import { createMoatServerInput, createMoatServerOutput } from "./server.ts";

export * from "./schema.ts";
export * from "./input.ts";
export * from "./server.ts";
export * from "./connection.ts";
export * from "./auth.ts";
export * from "./values.ts";

/** The transport as the registry loads it. */
export const transport: TransportDefinition = {
  type: "moat_cmd",
  description: "MoaT-Cmd over TCP: stream a device's command into the bus, or serve pub/sub/latest/streams/stats",
  input: {
    schema: moatInputSchema,
    create: (config: MoatInputConfig, ctx: { log: Logger; stats?: PartStats; token?: string }) =>
      config.connect !== undefined ? createMoatClientInput(config) : createMoatServerInput(config, ctx),
  },
  output: {
    schema: moatOutputSchema,
    create: (config: MoatOutputConfig, ctx: OutputContext) => createMoatServerOutput(config, ctx),
  },
};

/**
 * What a `moat_cmd` part needs (for `telebus permissions`): the network
 * address it connects to or listens on (or the device path it opens), and the
 * variable cbor-x reads when it loads.
 */
export function permissions(
  config: Record<string, unknown>,
  needs: { net: Set<string>; env: Set<string>; read: Set<string>; write: Set<string> },
): void {
  const addr = config.connect ?? config.listen;
  if (typeof addr === "string") {
    // A device path is read and written; a WebSocket URL needs its host; anything else is host:port.
    if (addr.startsWith("/")) {
      needs.read.add(addr);
      needs.write.add(addr);
    } else if (/^wss?:\/\//.test(addr)) {
      const u = new URL(addr);
      needs.net.add(`${u.hostname}:${u.port || (u.protocol === "wss:" ? "443" : "80")}`);
    } else needs.net.add(addr);
  }
}
