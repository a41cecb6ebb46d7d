/**
 * Configuration of the `websocket` output: one `[[outputs.websocket]]` table:
 * the common output keys and a WebSocket fan-out endpoint's
 * (`config/websocket.ts`, shared with the dashboard's feed).
 *
 * @module
 */
import * as v from "npm:valibot@^1.1.0";
import { outputCommon, table, type TableOutput } from "../../config/schema.ts";
import { websocketServerOptions } from "../../config/websocket.ts";

/** Schema of one `[[outputs.websocket]]` table. */
export const websocketSchema = table(v.strictObject({ ...outputCommon, ...websocketServerOptions }));

/** The parsed `[[outputs.websocket]]` table. */
export type WebsocketConfig = TableOutput<typeof websocketSchema>;
