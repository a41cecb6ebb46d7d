/**
 * Configuration of the `dashboard` output: one `[[outputs.dashboard]]` table.
 * The daemon adds one with the defaults when `[daemon] dashboard = true` (the
 * default) and the HTTP server is on.
 *
 * @module
 */
import { z } from "npm:zod@^4.1.12";
import { byteSize, numeric, outputCommon } from "../../config/schema.ts";

/** Schema of one `[[outputs.dashboard]]` table. */
export const dashboardSchema = z.strictObject({
  ...outputCommon,
  when_full: outputCommon.when_full.default("latest").describe(
    "As for every output; `latest` here: a page only needs the newest values, so it never slows the bus.",
  ),
  max_streams: numeric().pipe(z.number().int().min(1)).default(1000).describe(
    "Streams whose rates are tracked; more are counted together as `(other)`.",
  ),
  max_buffered: byteSize().pipe(z.number().int().min(1024)).default(1024 * 1024).describe(
    "Unsent bytes beyond which a page is slow and gets only the newest record of each stream.",
  ),
});

/** The parsed `[[outputs.dashboard]]` table. */
export type DashboardConfig = z.output<typeof dashboardSchema>;
