/**
 * Helpers for the moat_cmd tests: a MoaT client over TCP, a logger that keeps its lines.
 *
 * @module
 */
import { Endpoint, type EndpointOptions } from "../../protocol/moat_cmd/endpoint.ts";
import { runConnection } from "./connection.ts";
import { createLogger, type Logger } from "../../core/log.ts";
import { letTimePass } from "../../testing/mod.ts";

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
      await letTimePass(20); // between connection attempts: the server gives no other sign that it listens
    }
  }
}

/** A logger that keeps lines in memory (tests check the messages; stderr stays quiet). */
export function memoryLogger(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const log = createLogger("test", { level: "debug", write: (line: string) => lines.push(line) });
  return { log, lines };
}
