/**
 * Configuration of the `mpack_serve` output: one `[[outputs.mpack_serve]]` table.
 *
 * @module
 */
import * as v from "npm:valibot@^1.1.0";
import { described, flag, numeric, outputCommon, table, type TableOutput } from "../../config/schema.ts";

/** Schema of one `[[outputs.mpack_serve]]` table. */
export const mpackServeSchema = table(v.strictObject({
  ...outputCommon,
  listen: described(
    v.optional(v.pipe(v.string(), v.regex(/^(\[[^\]]*\]|[^:]*):\d+$/, "expected host:port")), "127.0.0.1:4747"),
    "Where mpackview connects: `host:port` (mpacklog's port is 4747; it binds every interface, telebus loopback). " +
      "Fails at start-up if the port is taken.",
  ),
  max_clients: described(
    v.optional(v.pipe(numeric(), v.integer(), v.minValue(1)), 64),
    "Most clients connected at once; more are refused (closed at once) and counted.",
  ),
  public: described(
    v.optional(flag(), false),
    "Serve on a non-loopback address although `[daemon] token` is set: mpacklog's clients cannot send a token, " +
      "so anyone who reaches the port reads the records.",
  ),
}));

/** The parsed `[[outputs.mpack_serve]]` table. */
export type MpackServeConfig = TableOutput<typeof mpackServeSchema>;
