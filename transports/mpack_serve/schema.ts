/**
 * Configuration of the `mpack_serve` output: one `[[outputs.mpack_serve]]` table.
 *
 * @module
 */
import { z } from "npm:zod@^4.1.12";
import { flag, numeric, outputCommon } from "../../config/schema.ts";

/** Schema of one `[[outputs.mpack_serve]]` table. */
export const mpackServeSchema = z.strictObject({
  ...outputCommon,
  listen: z.string().regex(/^(\[[^\]]*\]|[^:]*):\d+$/, "expected host:port").default("127.0.0.1:4747").describe(
    "Where mpackview connects: `host:port` (mpacklog's port is 4747; it binds every interface, telebus loopback). " +
      "Fails at start-up if the port is taken.",
  ),
  max_clients: numeric().pipe(z.number().int().min(1)).default(64).describe(
    "Most clients connected at once; more are refused (closed at once) and counted.",
  ),
  public: flag().default(false).describe(
    "Serve on a non-loopback address although `[daemon] token` is set: mpacklog's clients cannot send a token, " +
      "so anyone who reaches the port reads the records.",
  ),
});

/** The parsed `[[outputs.mpack_serve]]` table. */
export type MpackServeConfig = z.output<typeof mpackServeSchema>;
