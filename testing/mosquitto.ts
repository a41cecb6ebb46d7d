/**
 * A real `mosquitto` broker (Debian's package) for tests: started on a free
 * loopback port in a temporary folder with a generated configuration
 * (anonymous access, persistence so that a restart keeps sessions, optionally
 * a TLS listener and a WebSocket listener), and stopped afterwards.
 *
 * @module
 */
import { join } from "node:path";
import { freePort } from "./net.ts";
import { letTimePass } from "./wait.ts";

/** TLS files of the broker's TLS listener. */
export interface MosquittoTls {
  /** Server certificate (PEM file). */
  certFile: string;
  /** Its private key (PEM file). */
  keyFile: string;
  /** The CA that signed it (PEM file). */
  caFile: string;
}

/** How to start a broker. */
export interface MosquittoOptions {
  /** Add a TLS listener (`tlsUrl`). */
  tls?: MosquittoTls;
  /** Add a WebSocket listener (`wsUrl`). */
  websockets?: boolean;
  /** QoS 1/2 messages the broker sends a client before it waits for acknowledgements (mosquitto: 20). */
  maxInflight?: number;
}

/** A running mosquitto. */
export class Mosquitto {
  #child?: Deno.ChildProcess;
  /** The broker's log (its stderr) so far, for failing tests. */
  log = "";

  private constructor(
    readonly dir: string,
    readonly port: number,
    readonly tlsPort: number,
    readonly wsPort: number,
    readonly options: MosquittoOptions,
  ) {}

  /** `mqtt://127.0.0.1:PORT`. */
  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  /** `mqtts://127.0.0.1:PORT` of the TLS listener. */
  get tlsUrl(): string {
    return `mqtts://127.0.0.1:${this.tlsPort}`;
  }

  /** `ws://127.0.0.1:PORT` of the WebSocket listener. */
  get wsUrl(): string {
    return `ws://127.0.0.1:${this.wsPort}`;
  }

  /** Starts a broker in a new temporary folder; throws when it cannot start. */
  static async start(options: MosquittoOptions = {}): Promise<Mosquitto> {
    const dir = await Deno.makeTempDir({ prefix: "telebus-mosquitto-" });
    const m = new Mosquitto(
      dir,
      freePort(),
      options.tls ? freePort() : 0,
      options.websockets ? freePort() : 0,
      options,
    );
    const lines = [
      `listener ${m.port} 127.0.0.1`,
      "allow_anonymous true",
      "persistence true",
      `persistence_location ${dir}/`,
      // Sessions are written when the broker stops (SIGTERM), so a restart keeps them.
      "autosave_interval 0",
      `max_inflight_messages ${options.maxInflight ?? 20}`,
      "max_queued_messages 100000",
      "log_dest stderr",
      "log_type error",
      "log_type warning",
    ];
    // Run as root, mosquitto would switch to its own user, which cannot read the test's folder.
    if (Deno.uid() === 0) lines.push("user root");
    if (options.tls) {
      lines.push(
        `listener ${m.tlsPort} 127.0.0.1`,
        `cafile ${options.tls.caFile}`,
        `certfile ${options.tls.certFile}`,
        `keyfile ${options.tls.keyFile}`,
      );
    }
    if (options.websockets) lines.push(`listener ${m.wsPort} 127.0.0.1`, "protocol websockets");
    await Deno.writeTextFile(join(dir, "mosquitto.conf"), lines.join("\n") + "\n");
    await m.restart();
    return m;
  }

  /** (Re)starts the broker on the same ports and folder; waits until it accepts connections. */
  async restart(): Promise<void> {
    const bin = ["/usr/sbin/mosquitto", "mosquitto"].find((p) => {
      try {
        return Deno.statSync(p).isFile;
      } catch {
        return false;
      }
    }) ?? "mosquitto";
    const child = new Deno.Command(bin, {
      args: ["-c", join(this.dir, "mosquitto.conf")],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    this.#child = child;
    let exited = false;
    child.status.then(() => exited = true);
    (async () => {
      const dec = new TextDecoder();
      for await (const chunk of child.stderr) this.log += dec.decode(chunk, { stream: true });
    })();
    const end = Date.now() + 10_000;
    for (;;) {
      if (exited) throw new Error(`mosquitto exited at start:\n${this.log}`);
      try {
        // A CONNECT (MQTT 3.1.1, clean, empty client id) answered by a CONNACK: the broker is up.
        const c = await Deno.connect({ hostname: "127.0.0.1", port: this.port });
        await c.write(new Uint8Array([0x10, 12, 0, 4, 77, 81, 84, 84, 4, 2, 0, 10, 0, 0]));
        const buf = new Uint8Array(4);
        const n = await c.read(buf);
        c.close();
        if (n && buf[0] === 0x20) return;
      } catch {
        // not up yet
      }
      if (Date.now() > end) throw new Error(`mosquitto did not start:\n${this.log}`);
      await letTimePass(50); // between connection attempts: the broker gives no other sign that it listens
    }
  }

  /** Stops the broker (SIGTERM: it saves its sessions first). */
  async stop(): Promise<void> {
    if (!this.#child) return;
    this.#child.kill("SIGTERM");
    await this.#child.status;
    this.#child = undefined;
  }

  /** Stops the broker and removes its folder. */
  async close(): Promise<void> {
    await this.stop();
    await Deno.remove(this.dir, { recursive: true });
  }
}
