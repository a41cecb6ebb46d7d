/**
 * The `generator` transport: a built-in source of synthetic robot telemetry.
 *
 * @module
 */
import { defineTransport, type TransportDefinition } from "../../core/transport.ts";
import { NEEDS_NOTHING } from "../../core/permissions.ts";
import { generatorSchema } from "./schema.ts";
import { createGeneratorInput } from "./input.ts";

export * from "./schema.ts";
export * from "./input.ts";

/** The transport as the registry loads it. */
export const transport: TransportDefinition = defineTransport({
  type: "generator",
  description: "synthetic robot telemetry at a set rate (`rate`, `streams`, `keys`, `count`, `seed`)",
  input: {
    schema: generatorSchema,
    create: (config) => createGeneratorInput(config),
    permissions: NEEDS_NOTHING,
  },
});
