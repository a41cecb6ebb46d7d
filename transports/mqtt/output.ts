/**
 * The `mqtt` output: every record becomes one message on a topic built from
 * a template, in the configured format, with QoS, retain and (MQTT 5)
 * message expiry and content type. `write` resolves once the broker
 * confirmed every message of the batch (QoS 1 and 2) or mqtt.js has written
 * them to the connection (QoS 0). While the broker is away mqtt.js holds the
 * batch (and resends what was not confirmed when it is back); `write` does
 * not resolve meanwhile, so the records behind it wait in the bus queue in
 * front of this output (bounded, with its `when_full` policy) — there is no
 * other queue.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type { Output, OutputContext } from "../../core/transport.ts";
import type { BusRecord } from "../../core/record.ts";
import { RecordRejects } from "../../core/reject.ts";
import type { IClientPublishOptions } from "npm:mqtt@^5.16.0";
import { clientOptions, connectClient, endClient, type MqttClient } from "./connect.ts";
import { encodePayload, TopicTemplate } from "./payload.ts";
import type { MqttOutputConfig } from "./schema.ts";

/** The output. */
export class MqttOutput implements Output {
  readonly #rejects: RecordRejects;
  readonly #topics: TopicTemplate;
  readonly #publish: IClientPublishOptions;
  readonly #inFlight = new Set<Promise<void>>();

  private constructor(readonly client: MqttClient, readonly config: MqttOutputConfig, readonly ctx: OutputContext) {
    this.#rejects = new RecordRejects(ctx.stats, ctx.log);
    this.#topics = new TopicTemplate(config.topic);
    const properties: IClientPublishOptions["properties"] = {};
    if (config.message_expiry > 0) {
      properties.messageExpiryInterval = Math.max(1, Math.round(config.message_expiry / 1000));
    }
    if (config.content_type !== "") properties.contentType = config.content_type;
    this.#publish = {
      qos: config.qos,
      retain: config.retain,
      ...(Object.keys(properties).length > 0 ? { properties } : {}),
    };
  }

  /** Reads the TLS files and starts connecting (a broker that is away at start is waited for like later). */
  static async create(config: MqttOutputConfig, ctx: OutputContext): Promise<MqttOutput> {
    const options = await clientOptions(config);
    // Records wait in the bus queue, not in mqtt.js: QoS 0 messages are held only while their batch is.
    const client = await connectClient(config, { ...options, queueQoSZero: true }, ctx.log, ctx.stats);
    ctx.log.info("publishing to mqtt", { url: config.url, topic: config.topic, qos: config.qos });
    return new MqttOutput(client, config, ctx);
  }

  /** Publishes the batch; resolves once the broker has it (see the module's documentation). */
  async write(records: BusRecord[]): Promise<void> {
    const { stats } = this.ctx;
    if (!this.client.connected) stats.count("records_waiting_for_broker", records.length);
    // One promise per batch, not per message: a counter of the publishes not yet confirmed.
    let left = 1;
    let done!: () => void;
    const all = new Promise<void>((r) => done = r);
    const confirmed = (err?: Error) => {
      // mqtt.js fails a publish only for good (a bad topic, the client ended): counted, not retried.
      if (err) this.#failed(err);
      if (--left === 0) done();
    };
    for (const r of records) {
      let payload: Uint8Array, topic: string;
      try {
        topic = this.#topics.topic(r);
        payload = encodePayload(r, this.config.format);
      } catch (e) {
        // One record that cannot be written costs only itself.
        this.#rejects.rejectError(r, e, { topic: this.config.topic });
        continue;
      }
      stats.bytes += payload.length;
      left++;
      this.client.publish(
        topic,
        Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength),
        this.#publish,
        confirmed,
      );
    }
    confirmed();
    this.#inFlight.add(all);
    try {
      await all;
    } finally {
      this.#inFlight.delete(all);
    }
  }

  #failed(err: Error): void {
    this.ctx.stats.errors++;
    this.#rejects.reject({ stream: this.config.topic }, "publish_error", err, { topic: this.config.topic });
  }

  /** Waits (up to `connect_timeout`) for the messages on their way, then disconnects. */
  async close(): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.all(this.#inFlight),
      new Promise<void>((r) => timer = setTimeout(r, this.config.connect_timeout)),
    ]);
    clearTimeout(timer);
    await endClient(this.client);
  }
}
