/**
 * The `generator` transport: a built-in source of synthetic robot telemetry.
 *
 * @module
 */
import type { TransportDefinition } from "../../core/transport.ts";
import { type GeneratorConfig, generatorSchema } from "./schema.ts";
import { createGeneratorInput } from "./input.ts";

export * from "./schema.ts";
export * from "./input.ts";

/** The transport as the registry loads it. */
export const transport: TransportDefinition = {
  type: "generator",
  description: "synthetic robot telemetry at a set rate",
  input: {
    schema: generatorSchema,
    create: (config: GeneratorConfig) => createGeneratorInput(config),
  },
};
