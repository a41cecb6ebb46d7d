/**
 * The `foxglove` transport: a Foxglove WebSocket protocol server, so that the
 * Foxglove app and PlotJuggler show the bus live.
 *
 * @module
 */
import { defineTransport, type TransportDefinition } from "../../core/transport.ts";
import { foxgloveSchema } from "./schema.ts";
import { FoxgloveOutput } from "./output.ts";
import { checkServices } from "./services.ts";

export type { FoxgloveConfig } from "./schema.ts";
export { FoxgloveOutput } from "./output.ts";
export { foxgloveSchema } from "./schema.ts";

/** The transport as the registry loads it. */
export const transport: TransportDefinition = defineTransport({
  type: "foxglove",
  description:
    "Foxglove WebSocket server for the Foxglove app and PlotJuggler; slow clients get the newest record per channel",
  output: {
    schema: foxgloveSchema,
    create: (config, ctx) => FoxgloveOutput.create(config, ctx),
    checkDaemon: checkServices,
    permissions: (c, needs, ctx) => {
      needs.net.add(c.listen);
      for (const f of [c.tls_cert, c.tls_key]) if (f !== "") needs.read.add(ctx.path(f));
    },
  },
});
