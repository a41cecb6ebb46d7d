/**
 * node-redis clients as telebus uses them: reconnecting with capped
 * exponential backoff, no offline queue (a command while Redis is away fails
 * at once, so nothing piles up unbounded; the callers retry with their own
 * bounded state), errors logged (the logger rate-limits repeats).
 *
 * @module
 */
import { createClient, RESP_TYPES } from "redis";
import { Buffer } from "node:buffer";
import type { Logger } from "../../core/log.ts";

/** A connected client. */
export type RedisClient = ReturnType<typeof createClient>;

/**
 * Creates a client (not yet connected): no offline queue, reconnection with
 * capped, jittered exponential backoff, connection loss and recovery logged once each.
 */
export function createRedis(url: string, log: Logger): RedisClient {
  const client = createClient({
    url,
    disableOfflineQueue: true,
    socket: {
      connectTimeout: 5000,
      // 50 ms doubling to 5 s, with jitter so that many daemons do not reconnect in step.
      reconnectStrategy: (retries: number) => Math.min(5000, 50 * 2 ** retries) * (0.5 + Math.random() / 2),
    },
  });
  let down = false;
  client.on("error", (e: Error) => {
    if (!down) log.warn("redis connection lost; reconnecting", { url, error: e.message });
    down = true;
  });
  client.on("ready", () => {
    if (down) log.info("redis connection back", { url });
    down = false;
  });
  return client;
}

/** Creates and connects a client; resolves once connected the first time. */
export async function connectRedis(url: string, log: Logger): Promise<RedisClient> {
  const client = createRedis(url, log);
  await client.connect();
  return client;
}

/** The same client, answering blob strings as Buffers (entry ids, keys and binary fields). */
export function binary(client: RedisClient) {
  return client.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
}

/** A Buffer view of bytes (node-redis takes strings or Buffers, not plain Uint8Arrays). */
export function asBuffer(b: Uint8Array): Buffer {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

export { sleep } from "../../core/async.ts";
