/**
 * The `dashboard` transport: the live page at `/`.
 *
 * @module
 */
import { defineTransport, type TransportDefinition } from "../../core/transport.ts";
import { NEEDS_NOTHING } from "../../core/permissions.ts";
import { dashboardSchema } from "./schema.ts";
import { DashboardOutput } from "./output.ts";

export { DashboardOutput } from "./output.ts";
export type { DashboardConfig } from "./schema.ts";

/** The transport as the registry loads it. */
export const transport: TransportDefinition = defineTransport({
  type: "dashboard",
  description: "the live page at `/`: stream rates, newest values, plots (on by default)",
  output: {
    schema: dashboardSchema,
    create: (config, ctx) => new DashboardOutput(config, ctx),
    // Served by the daemon's HTTP server: nothing more.
    permissions: NEEDS_NOTHING,
  },
});
