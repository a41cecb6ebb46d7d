/**
 * The `mqtt` input: subscribes to topic filters and turns each message into
 * records (JSON, MessagePack, CBOR, raw bytes or line protocol), the stream
 * named from the topic. QoS 1 and 2 messages are acknowledged to the broker
 * only once every output accepted their records, so a daemon that dies before
 * gets them again from a persistent session (at-least-once into the outputs).
 *
 * QoS 1: mqtt.js sends PUBACK when its `handleMessage` hook calls back, and
 * handles the next packet only then. Waiting there for the outputs would take
 * one message at a time; instead the hook lets mqtt.js go on at once without
 * its PUBACK (a callback with an error skips it) and this input sends the
 * PUBACK itself on acceptance. The broker's in-flight window (mosquitto's
 * `max_inflight_messages`, MQTT 5's receive maximum) bounds how many wait.
 * QoS 2: PUBCOMP waits for acceptance (its messages are taken one at a time);
 * PUBREC goes out on arrival, as mqtt.js does it. QoS 0 records go on the
 * bus together, one batch per turn of the event loop.
 *
 * @module
 */
import type { Input, InputContext } from "../../core/transport.ts";
import { type BusRecord, nowNs } from "../../core/record.ts";
import type { IClientOptions } from "npm:mqtt@^5.16.0";
import { connectClient, endClient, type MqttClient, type PublishPacket } from "./connect.ts";
import { decodePayload, keyTime, streamName } from "./payload.ts";
import type { MqttInputConfig } from "./schema.ts";

/** The private mqtt.js method that writes one packet (used for the PUBACKs sent on acceptance). */
type PacketSender = { _sendPacket(packet: { cmd: "puback"; messageId: number }, cb?: () => void): void };
/** Makes mqtt.js go on without sending its own PUBACK (see the module's documentation). */
const PUBACK_LATER = new Error("PUBACK sent on acceptance");

/** The input. */
export class MqttInput implements Input {
  /**
   * Creates the input; nothing connects before `run`.
   *
   * @param config the validated table
   * @param options mqtt.js options made from it (files read)
   */
  constructor(readonly config: MqttInputConfig, readonly options: IClientOptions) {}

  /** Subscribes and emits until `ctx.signal` aborts; then waits (bounded) for the last acknowledgements. */
  async run(ctx: InputContext): Promise<void> {
    const cfg = this.config;
    const { stats, log } = ctx;
    const client = await connectClient(cfg, this.options, log, stats);
    // A PUBACK belongs to the connection its PUBLISH came on: after a reconnect the broker resends what a
    // persistent session holds, and with a clean start the packet id may name another message.
    let connection = 0;
    client.on("connect", () => connection++);
    let waiting = 0;
    let logged = 0, unlogged = 0;
    const bad = (topic: string, e: unknown, bytes: number) => {
      stats.errors++;
      stats.count("bad_payloads");
      // At most one line a second: a device that publishes garbage must not flood the log.
      if (Date.now() - logged < 1000) return void unlogged++;
      log.warn("message skipped: not " + cfg.format, {
        topic,
        bytes,
        error: (e as Error).message,
        ...(unlogged > 0 ? { skipped_since_last_line: unlogged } : {}),
      });
      logged = Date.now(), unlogged = 0;
    };
    const records = (packet: PublishPacket): BusRecord[] => {
      const topic = packet.topic;
      // A plain view, not mqtt.js's Buffer: decoded bytes would otherwise come out as Buffers.
      const buf = packet.payload as Uint8Array;
      const payload = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
      stats.count("messages");
      stats.bytes += payload.length;
      try {
        const decoded = decodePayload(payload, cfg.format);
        const arrival = nowNs();
        const size = Math.max(1, Math.round(payload.length / decoded.length));
        return decoded.map((d) => {
          let time = d.time ?? arrival;
          if (cfg.time_key !== "" && cfg.time_key in d.data) {
            const t = keyTime(d.data, cfg.time_key);
            if (t === undefined) stats.count("bad_times");
            else time = t;
          }
          const stream = streamName(cfg.stream, topic, cfg.strip_prefix, d.measurement);
          return { stream, time, data: d.data, source: ctx.name, size, meta: { mqtt_topic: topic } };
        });
      } catch (e) {
        bad(topic, e, payload.length);
        return [];
      }
    };

    let batch: BusRecord[] = [];
    let flushing: ReturnType<typeof setTimeout> | undefined;
    let blocked: Promise<void> | undefined;
    const flush = () => {
      flushing = undefined;
      const rs = batch;
      batch = [];
      if (rs.length === 0) return;
      const p = ctx.emit(rs);
      if (p) {
        const b: Promise<void> = p.then(() => {}, () => {}).finally(() => {
          if (blocked === b) blocked = undefined;
        });
        blocked = b;
      }
    };

    client.handleMessage = (packet, callback) => {
      // Messages that come while stopping stay unacknowledged: a persistent session keeps them.
      if (ctx.signal.aborted) return;
      const rs = records(packet);
      stats.records += rs.length;
      if (packet.qos === 0 || rs.length === 0) {
        // Nothing to wait for (a bad payload is acknowledged: it would come back forever). QoS 0 records go on the
        // bus together, one batch per turn of the event loop; while a `block` output is full, the input stops.
        for (const r of rs) batch.push(r);
        if (batch.length > 0 && flushing === undefined) flushing = setTimeout(flush, 0);
        if (blocked) blocked.then(() => callback());
        else callback();
        return;
      }
      // QoS 0 records that came before go first (one topic may carry both).
      if (flushing !== undefined) clearTimeout(flushing), flush();
      const id = packet.messageId!;
      const on = connection;
      waiting++;
      const accepted = packet.qos === 1
        ? () => {
          waiting--;
          if (on === connection && client.connected) {
            (client as unknown as PacketSender)._sendPacket({
              cmd: "puback",
              messageId: id,
            });
          }
        }
        : () => {
          waiting--;
          if (on === connection) callback();
        };
      const p = ctx.emit(rs, accepted);
      if (packet.qos === 2) return; // mqtt.js takes the next packet once PUBCOMP is out
      if (p) p.then(() => callback(PUBACK_LATER), () => callback(PUBACK_LATER));
      else callback(PUBACK_LATER);
    };

    client.subscribe(cfg.topics, { qos: cfg.qos }, (err, granted) => {
      if (err) return log.error("subscribe failed", { topics: cfg.topics, error: err.message });
      const refused = (granted ?? []).filter((g) => g.qos === 128).map((g) => g.topic);
      if (refused.length > 0) log.error("the broker refused subscriptions", { topics: refused });
      else log.info("subscribed", { url: cfg.url, topics: cfg.topics, qos: cfg.qos });
    });

    await new Promise<void>((resolve) => {
      if (ctx.signal.aborted) resolve();
      ctx.signal.addEventListener("abort", () => resolve(), { once: true });
    });
    clearTimeout(flushing);
    flush();
    // The outputs still run while inputs stop: wait (bounded) for the acknowledgements they are about to give.
    const until = Date.now() + 10_000;
    while (waiting > 0 && client.connected && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 20));
    }
    await endClient(client as MqttClient);
  }
}
