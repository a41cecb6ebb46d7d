/**
 * The `replay` transport: an input that plays a recording into the bus at its
 * original timing. See `README.md`.
 *
 * @module
 */
import { defineTransport, type TransportDefinition } from "../../core/transport.ts";
import { replaySchema } from "./schema.ts";
import { createReplayInput } from "./input.ts";

export * from "./schema.ts";
export * from "./input.ts";

/** The transport as the registry loads it. */
export const transport: TransportDefinition = defineTransport({
  type: "replay",
  description:
    "plays a recording (`.mpack` or `.mcap`) into the bus at its original timing: `speed`, `start`, `loop`, `streams`",
  input: {
    schema: replaySchema,
    create: (config) => createReplayInput(config),
    permissions: (c, needs, ctx) => {
      needs.read.add(ctx.path(c.path));
    },
  },
});
