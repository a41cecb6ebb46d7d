/**
 * The `dashboard` transport: the live page at `/`.
 *
 * @module
 */
import type { OutputContext, TransportDefinition } from "../../core/transport.ts";
import { type DashboardConfig, dashboardSchema } from "./schema.ts";
import { DashboardOutput } from "./output.ts";

export { DashboardOutput } from "./output.ts";
export type { DashboardConfig } from "./schema.ts";

/** The transport as the registry loads it. */
export const transport: TransportDefinition = {
  type: "dashboard",
  description: "the live dashboard at / (stream rates, newest values, plots)",
  output: {
    schema: dashboardSchema,
    create: (config: DashboardConfig, ctx: OutputContext) => new DashboardOutput(config, ctx),
  },
};
