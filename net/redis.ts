/**
 * node-redis clients as telebus uses them: reconnecting with capped
 * exponential backoff, no offline queue (a command while Redis is away fails
 * at once, so nothing piles up unbounded; the callers retry with their own
 * bounded state), errors logged (the logger rate-limits repeats).
 *
 * @module
 */
import { createClient, RESP_TYPES } from "npm:redis@^5.8.0";
import { Buffer } from "node:buffer";
import type { Logger } from "../core/log.ts";

/** A connected client. */
export type RedisClient = ReturnType<typeof createClient>;

/** How to reach Redis besides its URL. */
export interface RedisOptions {
  /**
   * A PEM file of the certificate authorities a `rediss://` server's certificate is checked against, besides
   * the system's (a robot's own CA, say).
   */
  tlsCa?: string;
}

/**
 * Creates a client (not yet connected): no offline queue, reconnection with
 * capped, jittered exponential backoff, connection loss and recovery logged once each.
 * `rediss://` URLs connect with TLS, the server's certificate checked.
 */
export function createRedis(url: string, log: Logger, options: RedisOptions = {}): RedisClient {
  let ca: string | undefined;
  if (options.tlsCa) {
    try {
      ca = Deno.readTextFileSync(options.tlsCa);
    } catch (e) {
      throw new Error(`tls_ca ${JSON.stringify(options.tlsCa)}: cannot read: ${(e as Error).message}`);
    }
  }
  let everReady = false;
  const client = createClient({
    url,
    disableOfflineQueue: true,
    socket: {
      connectTimeout: 5000,
      // 50 ms doubling to 5 s, with jitter so that many daemons do not reconnect in step. A certificate that is
      // refused on the first connection will not be accepted by retrying: connect() then fails with the reason.
      reconnectStrategy: (retries: number, cause: Error) =>
        !everReady && isCertificateError(cause)
          ? new Error(`${url}: TLS: ${cause.message}`)
          : Math.min(5000, 50 * 2 ** retries) * (0.5 + Math.random() / 2),
      ...(url.startsWith("rediss:") ? { tls: true as const, ...(ca ? { ca } : {}) } : {}),
    },
  });
  let down = false;
  client.on("error", (e: Error) => {
    if (!down) log.warn("redis connection lost; reconnecting", { url, error: e.message });
    down = true;
  });
  client.on("ready", () => {
    everReady = true;
    if (down) log.info("redis connection back", { url });
    down = false;
  });
  return client;
}

/** Whether `e` says a server's certificate was not trusted (something a retry cannot fix). */
function isCertificateError(e: Error): boolean {
  const code = (e as Error & { code?: unknown }).code;
  return /CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(String(code ?? "")) || /certificate/i.test(e.message);
}

/** Creates and connects a client; resolves once connected the first time. */
export async function connectRedis(url: string, log: Logger, options: RedisOptions = {}): Promise<RedisClient> {
  const client = createRedis(url, log, options);
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

export { sleep } from "../core/async.ts";
