/**
 * A real `redis-server` (Debian's package) for tests: started on a free
 * loopback port in a temporary folder, with an append-only file so that a
 * restart keeps the data, and stopped afterwards.
 *
 * @module
 */

import { freePort } from "./net.ts";
import { letTimePass } from "./wait.ts";

/** TLS files of a server that accepts only TLS connections (`rediss://`). */
export interface RedisTls {
  /** Server certificate (PEM file). */
  certFile: string;
  /** Its private key (PEM file). */
  keyFile: string;
  /** The CA that signed it (PEM file); clients are not asked for certificates. */
  caFile: string;
  /** The CA's PEM text, for the readiness check. */
  caPem: string;
}

/** A running redis-server. */
export class RedisServer {
  #child?: Deno.ChildProcess;

  private constructor(
    readonly dir: string,
    readonly port: number,
    readonly persist: boolean,
    readonly tls?: RedisTls,
  ) {}

  /** The URL clients connect to (`rediss://` for a TLS server). */
  get url(): string {
    return `${this.tls ? "rediss" : "redis"}://127.0.0.1:${this.port}`;
  }

  /**
   * Starts a server in a new temporary folder. With `persist` (the default) every write is fsynced to an
   * append-only file, so a restart keeps the data; benchmarks turn it off.
   */
  static async start(persist = true, tls?: RedisTls): Promise<RedisServer> {
    const s = new RedisServer(await Deno.makeTempDir({ prefix: "telebus-redis-" }), freePort(), persist, tls);
    await s.restart();
    return s;
  }

  /** (Re)starts the server on the same port and folder; waits until it answers PING. */
  async restart(): Promise<void> {
    this.#child = new Deno.Command("redis-server", {
      args: [
        ...(this.tls
          ? [
            ...["--port", "0", "--tls-port", String(this.port), "--tls-auth-clients", "no"],
            ...["--tls-cert-file", this.tls.certFile, "--tls-key-file", this.tls.keyFile],
            ...["--tls-ca-cert-file", this.tls.caFile],
          ]
          : ["--port", String(this.port)]),
        "--bind",
        "127.0.0.1",
        "--dir",
        this.dir,
        "--appendonly",
        this.persist ? "yes" : "no",
        "--appendfsync",
        "always",
        "--save",
        "",
      ],
      stdout: "null",
      stderr: "null",
    }).spawn();
    const end = Date.now() + 10_000;
    for (;;) {
      try {
        const c = this.tls
          ? await Deno.connectTls({ hostname: "127.0.0.1", port: this.port, caCerts: [this.tls.caPem] })
          : await Deno.connect({ hostname: "127.0.0.1", port: this.port });
        await c.write(new TextEncoder().encode("PING\r\n"));
        const buf = new Uint8Array(16);
        const n = await c.read(buf);
        c.close();
        if (n && new TextDecoder().decode(buf.subarray(0, n)).startsWith("+PONG")) return;
      } catch {
        // not up yet
      }
      if (Date.now() > end) throw new Error("redis-server did not start");
      await letTimePass(50); // between connection attempts: the server gives no other sign that it listens
    }
  }

  /** Stops the server (SIGTERM; it writes its append-only file first). */
  async stop(): Promise<void> {
    if (!this.#child) return;
    this.#child.kill("SIGTERM");
    await this.#child.status;
    this.#child = undefined;
  }

  /** Stops the server and removes its folder. */
  async close(): Promise<void> {
    await this.stop();
    await Deno.remove(this.dir, { recursive: true });
  }
}
