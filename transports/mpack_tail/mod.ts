/**
 * The `mpack_tail` transport: an input that follows `.mpack` logs (mpacklog's
 * format) like `tail -F`, with checkpoints. See `README.md`.
 *
 * @module
 */
import { defineTransport, type TransportDefinition } from "../../core/transport.ts";
import { mpackTailSchema } from "./schema.ts";
import { createMpackTailInput } from "./input.ts";

export * from "../../files/mpack_follow.ts";
export type { MpackTailConfig } from "./schema.ts";
export { createMpackTailInput, MpackTailInput, type MpackTailInputOptions } from "./input.ts";

/** The `mpack_tail` transport as the registry loads it. */
export const transport: TransportDefinition = defineTransport({
  type: "mpack_tail",
  description: "follows a `.mpack` file or folder: torn records, garbage, truncation, rotation, checkpoints",
  input: {
    schema: mpackTailSchema,
    create: createMpackTailInput,
    permissions: (c, needs, ctx) => {
      needs.read.add(ctx.path(c.path));
    },
  },
});
