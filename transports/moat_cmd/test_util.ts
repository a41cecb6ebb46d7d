/**
 * Helpers for the moat_cmd tests: a free loopback port, a MoaT client over
 * TCP, a quiet logger.
 *
 * @module
 */
import { Endpoint, type EndpointOptions } from "../../protocol/moat_cmd/endpoint.ts";
import { runConnection } from "./connection.ts";
import { createLogger, type Logger } from "../../core/log.ts";

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** A connected client: its endpoint, its raw connection, and a way to close both. */
export interface Client {
  /** The MoaT endpoint. */
  ep: Endpoint;
  /** The TCP connection (for writing raw bytes between calls). */
  conn: Deno.TcpConn;
  /** Closes and waits until the connection has stopped. */
  close(): Promise<void>;
}

/** Connects to `port`, retrying for a while until the server listens. */
export async function connectClient(port: number, options: EndpointOptions = {}): Promise<Client> {
  const end = Date.now() + 5000;
  while (true) {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      const ep = new Endpoint(options);
      const ac = new AbortController();
      const running = runConnection(conn, ep, { signal: ac.signal });
      return {
        ep,
        conn,
        async close() {
          ac.abort();
          await running;
        },
      };
    } catch (e) {
      if (Date.now() > end) throw e;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/** A logger that keeps lines in memory (tests check the messages; stderr stays quiet). */
export function memoryLogger(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const log = createLogger("test", { level: "debug", write: (line: string) => lines.push(line) });
  return { log, lines };
}

/** Waits until `cond()` holds (polling), or throws after `ms`. */
export async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
