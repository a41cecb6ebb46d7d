/**
 * The `mpack_serve` transport: the newest record over mpacklog's `serve`
 * protocol, for mpackview.
 *
 * @module
 */
import type { TransportDefinition } from "../../core/transport.ts";
import type { OutputContext } from "../../core/transport.ts";
import { type MpackServeConfig, mpackServeSchema } from "./schema.ts";
import { checkPublic, MpackServeOutput } from "./output.ts";

export type { MpackServeConfig } from "./schema.ts";
export { checkPublic, MpackServeOutput, parseRequest } from "./output.ts";

/** The transport as the registry loads it. */
export const transport: TransportDefinition = {
  type: "mpack_serve",
  description: "the newest record over mpacklog's serve protocol (for mpackview)",
  output: {
    schema: mpackServeSchema,
    create: (config: MpackServeConfig, ctx: OutputContext) => MpackServeOutput.create(config, ctx),
    checkDaemon: checkPublic,
  },
};
