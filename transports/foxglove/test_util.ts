/**
 * Test helpers of the Foxglove output: the output on a free port, a client
 * with `@foxglove/ws-protocol`'s `FoxgloveClient` that records what it gets,
 * and a raw WebSocket client over TCP that can stop reading (a slow client).
 *
 * @module
 */
import { createLogger } from "../../core/log.ts";
import { PartStats } from "../../core/stats.ts";
import { FoxgloveOutput } from "./output.ts";
import { foxgloveSchema } from "./schema.ts";
import foxglove from "npm:@foxglove/ws-protocol@^0.8.0";
import { type Channel, type ServerInfo, SUBPROTOCOL } from "./protocol.ts";
import { nextEvent, until } from "../../testing/mod.ts";

/** The package's client (its CommonJS build has it on the default export only). */
export const FoxgloveClient: typeof foxglove.FoxgloveClient = foxglove.FoxgloveClient;
/** The package's constants, to check the server's against. */
export const { BinaryOpcode, ServerCapability, StatusLevel } = foxglove;

/** The output on 127.0.0.1, a free port, with its counters. */
export function openOutput(table: Record<string, unknown> = {}, token = "") {
  const stats = new PartStats("output", "fox", "foxglove");
  const out = FoxgloveOutput.create(foxgloveSchema.parse({ listen: "127.0.0.1:0", ...table }), {
    name: "fox",
    log: createLogger("fox", { level: "error", write() {} }),
    stats,
    dataDir: "/tmp",
    http: { route() {} },
    token,
  });
  return { out, stats, host: `127.0.0.1:${out.port}` };
}

/** One `messageData` a client received. */
export interface Received {
  /** The subscription. */
  sub: number;
  /** Log time (ns). */
  time: bigint;
  /** The payload, parsed. */
  data: Record<string, unknown>;
}

/** A `FoxgloveClient` on Deno's WebSocket, with everything it received. */
export class Fox {
  readonly channels = new Map<number, Channel>();
  readonly unadvertised: number[] = [];
  readonly messages: Received[] = [];
  readonly times: bigint[] = [];
  readonly statuses: string[] = [];
  info?: ServerInfo;
  readonly client: InstanceType<typeof FoxgloveClient>;

  private constructor(readonly ws: WebSocket) {
    this.client = new FoxgloveClient({ ws });
    this.client.on("serverInfo", (i) => this.info = i);
    this.client.on("advertise", (cs) => cs.forEach((c) => this.channels.set(c.id, c)));
    this.client.on("unadvertise", (ids) => ids.forEach((id) => (this.channels.delete(id), this.unadvertised.push(id))));
    this.client.on("message", (m) => {
      const bytes = new Uint8Array(m.data.buffer, m.data.byteOffset, m.data.byteLength);
      this.messages.push({
        sub: m.subscriptionId,
        time: m.timestamp,
        data: JSON.parse(new TextDecoder().decode(bytes)),
      });
    });
    this.client.on("time", (t) => this.times.push(t.timestamp));
    this.client.on("status", (s) => this.statuses.push(s.message));
  }

  /** Connects to `url` (`ws://host:port/…`) and waits for `serverInfo`. */
  static async connect(url: string): Promise<Fox> {
    const ws = new WebSocket(url, [SUBPROTOCOL]);
    const fox = new Fox(ws);
    await nextEvent(ws, "open");
    await until("serverInfo", () => fox.info !== undefined);
    return fox;
  }

  /** The channel of `topic` (waits for its advertisement). */
  async channel(topic: string): Promise<Channel> {
    let found: Channel | undefined;
    await until(
      `channel ${topic}`,
      () => (found = [...this.channels.values()].find((c) => c.topic === topic)) !== undefined,
    );
    return found!;
  }

  /** Messages of subscription `sub`. */
  of(sub: number): Received[] {
    return this.messages.filter((m) => m.sub === sub);
  }

  /** Closes the socket and waits for it. */
  async close(): Promise<void> {
    const closed = nextEvent(this.ws, "close");
    this.ws.close();
    await closed;
  }
}

/** One server frame a raw client parsed. */
export interface RawFrame {
  /** WebSocket opcode (1 text, 2 binary). */
  opcode: number;
  /** The payload. */
  payload: Uint8Array;
}

/** A WebSocket client over raw TCP: it reads only when asked, so it can stand for a client that stopped reading. */
export class RawWs {
  #buf = new Uint8Array(0);
  private constructor(readonly conn: Deno.TcpConn) {}

  /** Connects and completes the handshake with the Foxglove subprotocol. */
  static async connect(host: string): Promise<RawWs> {
    const [hostname, port] = host.split(":");
    const conn = await Deno.connect({ hostname, port: Number(port) });
    const ws = new RawWs(conn);
    await conn.write(new TextEncoder().encode(
      [
        "GET / HTTP/1.1",
        `Host: ${host}`,
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version: 13",
        `Sec-WebSocket-Protocol: ${SUBPROTOCOL}`,
        "",
        "",
      ].join("\r\n"),
    ));
    for (;;) {
      const text = new TextDecoder().decode(ws.#buf);
      const end = text.indexOf("\r\n\r\n");
      if (end >= 0) {
        if (!text.startsWith("HTTP/1.1 101")) throw new Error(`handshake refused: ${text.slice(0, 40)}`);
        ws.#buf = ws.#buf.subarray(new TextEncoder().encode(text.slice(0, end + 4)).length);
        return ws;
      }
      if (!await ws.#fill()) throw new Error("closed during the handshake");
    }
  }

  async #fill(): Promise<boolean> {
    const chunk = new Uint8Array(256 * 1024);
    const n = await this.conn.read(chunk);
    if (n === null) return false;
    const b = new Uint8Array(this.#buf.length + n);
    b.set(this.#buf);
    b.set(chunk.subarray(0, n), this.#buf.length);
    this.#buf = b;
    return true;
  }

  /** Reads the next frame (server frames are not masked). */
  async frame(): Promise<RawFrame> {
    for (;;) {
      const b = this.#buf;
      if (b.length >= 2) {
        let len = b[1] & 0x7f, off = 2;
        if (len === 126 && b.length >= 4) len = (b[2] << 8) | b[3], off = 4;
        else if (len === 127 && b.length >= 10) {
          len = Number(new DataView(b.buffer, b.byteOffset).getBigUint64(2)), off = 10;
        }
        if (len < 126 || off > 2) {
          if (b.length >= off + len) {
            this.#buf = b.subarray(off + len);
            return { opcode: b[0] & 0x0f, payload: b.subarray(off, off + len) };
          }
        }
      }
      if (!await this.#fill()) throw new Error("closed");
    }
  }

  /** The next JSON (text) message. */
  async json(): Promise<Record<string, unknown>> {
    for (;;) {
      const f = await this.frame();
      if (f.opcode === 1) return JSON.parse(new TextDecoder().decode(f.payload));
    }
  }

  /** Sends a masked text frame. */
  async send(text: string): Promise<void> {
    const data = new TextEncoder().encode(text);
    if (data.length >= 126) throw new Error("short messages only");
    const mask = [1, 2, 3, 4];
    const frame = new Uint8Array(6 + data.length);
    frame.set([0x81, 0x80 | data.length, ...mask]);
    for (let i = 0; i < data.length; i++) frame[6 + i] = data[i] ^ mask[i % 4];
    await this.conn.write(frame);
  }

  /** Closes the connection. */
  close(): void {
    this.conn.close();
  }
}
