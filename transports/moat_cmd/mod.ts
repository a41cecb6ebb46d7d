/**
 * The `moat_cmd` transport: MoaT-Cmd (moat-lib-cmd 0.3.3 / moat-lib-rpc) over
 * TCP. As an input it either streams a command from a device (`connect`) or
 * runs the telebus MoaT server's `pub` side (`listen`); as an output it runs
 * the server's `sub`/`latest`/`streams`/`stats` side.
 *
 * @module
 */
import { defineTransport, type TransportDefinition } from "../../core/transport.ts";
import type { PermissionNeeds } from "../../core/permissions.ts";
import { moatInputSchema, moatOutputSchema } from "./schema.ts";
import { createMoatClientInput } from "./input.ts";
import { createMoatServerInput, createMoatServerOutput } from "./server.ts";

export * from "./schema.ts";
export * from "./input.ts";
export * from "./server.ts";
export * from "./connection.ts";
export * from "./auth.ts";
export * from "./values.ts";

/**
 * What a `moat_cmd` part needs (for `telebus permissions`): the network
 * address it connects to or listens on, or the device path it opens.
 */
function moatNeeds(addr: string | undefined, needs: PermissionNeeds): void {
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

/** The transport as the registry loads it. */
export const transport: TransportDefinition = defineTransport({
  type: "moat_cmd",
  description: "MoaT-Cmd: stream a device's command into records; a MoaT server with `pub`, `sub`, `latest`, " +
    "`streams`, `stats`",
  input: {
    schema: moatInputSchema,
    create: (config, ctx) =>
      config.connect !== undefined ? createMoatClientInput(config) : createMoatServerInput(config, ctx),
    permissions: (c, needs) => moatNeeds(c.connect ?? c.listen, needs),
  },
  output: {
    schema: moatOutputSchema,
    create: (config, ctx) => createMoatServerOutput(config, ctx),
    permissions: (c, needs) => moatNeeds(c.listen, needs),
  },
});
