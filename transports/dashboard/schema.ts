/**
 * Configuration of the `dashboard` output: one `[[outputs.dashboard]]` table.
 * The daemon adds one with the defaults when `[daemon] dashboard = true` (the
 * default) and the HTTP server is on.
 *
 * @module
 */
import * as v from "npm:valibot@^1.1.0";
import {
  byteSize,
  described,
  FULL_POLICIES,
  numeric,
  outputCommon,
  table,
  type TableOutput,
} from "../../config/schema.ts";

/** Schema of one `[[outputs.dashboard]]` table. */
export const dashboardSchema = table(v.strictObject({
  ...outputCommon,
  when_full: described(
    v.optional(v.picklist(FULL_POLICIES), "latest"),
    "As for every output; `latest` here: a page only needs the newest values, so it never slows the bus.",
  ),
  max_streams: described(
    v.optional(v.pipe(numeric(), v.integer(), v.minValue(1)), 1000),
    "Streams whose rates are tracked; more are counted together as `(other)`.",
  ),
  max_buffered: described(
    v.optional(v.pipe(byteSize(), v.integer(), v.minValue(1024)), "1MiB"),
    "Unsent bytes beyond which a page is slow and gets only the newest record of each stream.",
  ),
}));

/** The parsed `[[outputs.dashboard]]` table. */
export type DashboardConfig = TableOutput<typeof dashboardSchema>;
