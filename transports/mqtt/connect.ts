/**
 * The MQTT client both sides use: mqtt.js options from a table (TLS files,
 * credentials, session), reconnection with doubling back-off, and quiet,
 * counted logging of a broker that is away.
 *
 * @module
 */
import type * as mqtt from "npm:mqtt@^5.16.0";
import type { Logger } from "../../core/log.ts";
import type { PartStats } from "../../core/stats.ts";
import type { MqttConnectionConfig } from "./schema.ts";

/** The mqtt.js client. */
export type MqttClient = mqtt.MqttClient;
/** A publish packet as mqtt.js hands it over. */
export type PublishPacket = mqtt.IPublishPacket;

/** A random client id: MQTT 3.1.1 brokers must accept 1–23 letters and digits. */
function randomClientId(): string {
  const abc = "abcdefghijklmnopqrstuvwxyz0123456789";
  let s = "telebus";
  for (const b of crypto.getRandomValues(new Uint8Array(12))) s += abc[b % abc.length];
  return s;
}

/** mqtt.js options of a table (files are read here, so a missing one fails at start). */
export async function clientOptions(c: MqttConnectionConfig): Promise<mqtt.IClientOptions> {
  const read = (p: string) => p === "" ? undefined : Deno.readTextFile(p);
  const [ca, cert, key] = await Promise.all([read(c.ca), read(c.cert), read(c.key)]);
  return {
    clientId: c.client_id ?? randomClientId(),
    username: c.username || undefined,
    password: c.password || undefined,
    keepalive: Math.round(c.keepalive / 1000),
    connectTimeout: c.connect_timeout,
    reconnectPeriod: c.reconnect_period,
    clean: c.clean,
    protocolVersion: c.protocol_version,
    ...(ca ? { ca } : {}),
    ...(cert ? { cert, key } : {}),
    // Messages of a persistent session come again after a restart; a clean start keeps nothing to resend.
    resubscribe: true,
  };
}

/**
 * Connects (in the background: a broker that is away at start is retried like one that went away) and
 * wires back-off, logging and counters: `connects`, `disconnects`, `connect_errors`.
 */
export async function connectClient(
  c: MqttConnectionConfig,
  options: mqtt.IClientOptions,
  log: Logger,
  stats: PartStats,
): Promise<MqttClient> {
  // Loaded when a part connects, not with the transport: mqtt.js's dependencies read the whole environment as
  // they load, which a program that only lists the transports (or uses others) need not allow.
  const { default: lib } = await import("npm:mqtt@^5.16.0");
  const client = lib.connect(c.url, options);
  let failures = 0;
  let offline = false;
  client.on("connect", (ack) => {
    failures = 0;
    client.options.reconnectPeriod = c.reconnect_period;
    stats.count("connects");
    log.info(offline ? "broker back" : "connected", { url: c.url, session_present: ack.sessionPresent });
    offline = false;
  });
  // Before mqtt.js's own listener, which sets the timer of the next attempt from `reconnectPeriod`: it waits a
  // fixed period, and doubling it after each failed attempt spares a broker that is restarting.
  client.prependListener("close", () => {
    if (!offline && !client.disconnecting) {
      stats.count("disconnects");
      log.warn("broker connection lost; reconnecting", { url: c.url });
    }
    offline = true;
    client.options.reconnectPeriod = Math.min(c.reconnect_period * 2 ** Math.min(failures++, 16), c.reconnect_max);
  });
  client.on("error", (e) => {
    stats.count("connect_errors");
    // One line per outage, not one per attempt.
    if (failures <= 1) log.warn("broker error", { url: c.url, error: e.message });
  });
  return client;
}

/** Ends the client: gracefully within `ms`, then by force. */
export async function endClient(client: MqttClient, ms = 2000): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    client.endAsync().catch(() => {}),
    new Promise<void>((r) => timer = setTimeout(r, ms)),
  ]);
  clearTimeout(timer);
  if (!client.disconnected) await client.endAsync(true).catch(() => {});
}
