/**
 * Configuration of the `websocket` output: one `[[outputs.websocket]]` table:
 * the common output keys and a WebSocket fan-out endpoint's
 * (`config/websocket.ts`, shared with the dashboard's feed).
 *
 * @module
 */
import { z } from "npm:zod@^4.1.12";
import { outputCommon } from "../../config/schema.ts";
import { websocketServerOptions } from "../../config/websocket.ts";

/** Schema of one `[[outputs.websocket]]` table. */
export const websocketSchema = z.strictObject({ ...outputCommon, ...websocketServerOptions });

/** The parsed `[[outputs.websocket]]` table. */
export type WebsocketConfig = z.output<typeof websocketSchema>;
