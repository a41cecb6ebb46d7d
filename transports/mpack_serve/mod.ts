/**
 * The `mpack_serve` transport: the newest record over mpacklog's `serve`
 * protocol, for mpackview.
 *
 * @module
 */
import { defineTransport, type TransportDefinition } from "../../core/transport.ts";
import { mpackServeSchema } from "./schema.ts";
import { checkPublic, MpackServeOutput } from "./output.ts";

export type { MpackServeConfig } from "./schema.ts";
export { checkPublic, MpackServeOutput, parseRequest } from "./output.ts";

/** The transport as the registry loads it. */
export const transport: TransportDefinition = defineTransport({
  type: "mpack_serve",
  description: "the newest record over mpacklog's `serve` TCP protocol, for mpackview",
  output: {
    schema: mpackServeSchema,
    create: (config, ctx) => MpackServeOutput.create(config, ctx),
    checkDaemon: checkPublic,
    permissions: (c, needs) => {
      needs.net.add(c.listen);
    },
  },
});
