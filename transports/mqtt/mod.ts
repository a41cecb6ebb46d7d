/**
 * The `mqtt` transport: MQTT 3.1.1 and 5 in (subscriptions with wildcards, acknowledged after acceptance) and
 * out (topic templates, QoS, retain), over TCP, TLS or WebSocket.
 *
 * @module
 */
import { defineTransport, type TransportDefinition } from "../../core/transport.ts";
import type { PermissionContext, PermissionNeeds } from "../../core/permissions.ts";
import { mqttInputSchema, mqttOutputSchema } from "./schema.ts";
import type { MqttConnectionConfig } from "./schema.ts";
import { MqttInput } from "./input.ts";
import { MqttOutput } from "./output.ts";
import { clientOptions } from "./connect.ts";

export { MqttInput } from "./input.ts";
export { MqttOutput } from "./output.ts";
export type { MqttConnectionConfig, MqttFormat, MqttInputConfig, MqttOutputConfig } from "./schema.ts";

const DEFAULT_PORTS: Record<string, string> = { "mqtt:": "1883", "mqtts:": "8883", "ws:": "80", "wss:": "443" };

/** A broker's needs: its `host:port` and the TLS files. */
function mqttNeeds(c: MqttConnectionConfig, needs: PermissionNeeds, ctx: PermissionContext): void {
  const u = new URL(c.url);
  needs.net.add(`${u.hostname}:${u.port || DEFAULT_PORTS[u.protocol]}`);
  for (const f of [c.ca, c.cert, c.key]) if (f !== "") needs.read.add(ctx.path(f));
  // mqtt.js loads `debug`, which lists every environment variable (for its DEBUG_* options) as it loads.
  needs.env.add("*");
}

/** The transport as the registry loads it. */
export const transport: TransportDefinition = defineTransport({
  type: "mqtt",
  description: "MQTT 3.1.1/5 (TCP, TLS, WebSocket): subscriptions in, acked after acceptance; topic templates, QoS, " +
    "retain out",
  input: {
    schema: mqttInputSchema,
    create: async (config) => new MqttInput(config, await clientOptions(config)),
    permissions: mqttNeeds,
  },
  output: {
    schema: mqttOutputSchema,
    create: (config, ctx) => MqttOutput.create(config, ctx),
    permissions: mqttNeeds,
  },
});
