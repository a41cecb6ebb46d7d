/**
 * Starts a real `influxd` (InfluxDB 1.x, Debian package `influxdb`) for tests
 * and benches: its own config file, meta/data/wal folders in a temporary
 * directory, HTTP and RPC on free loopback ports, reporting disabled. It can
 * be stopped and started again on the same port and data (outage tests).
 *
 * @module
 */
import { join } from "node:path";
import { freePort } from "./net.ts";
import { letTimePass } from "./wait.ts";

/** A running (or stopped) influxd with its own folder and ports. */
export class Influxd {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  #child?: Deno.ChildProcess;
  #log = "";

  private constructor(readonly dir: string, readonly httpPort: number, readonly config: string) {
    this.url = `http://127.0.0.1:${httpPort}`;
  }

  /** Creates the folder and config, starts influxd and waits until `/ping` answers. */
  static async start(): Promise<Influxd> {
    const dir = await Deno.makeTempDir({ prefix: "telebus-influxd-" });
    const httpPort = freePort();
    const rpcPort = freePort();
    const config = join(dir, "influxdb.conf");
    await Deno.writeTextFile(
      config,
      `reporting-disabled = true
bind-address = "127.0.0.1:${rpcPort}"

[meta]
  dir = "${join(dir, "meta")}"

[data]
  dir = "${join(dir, "data")}"
  wal-dir = "${join(dir, "wal")}"
  query-log-enabled = false
  cache-snapshot-write-cold-duration = "10m"

[coordinator]
  log-queries-after = "0s"

[monitor]
  store-enabled = false

[http]
  enabled = true
  bind-address = "127.0.0.1:${httpPort}"
  log-enabled = false
  max-body-size = 0

[continuous_queries]
  enabled = false

[subscriber]
  enabled = false

[logging]
  level = "warn"
`,
    );
    const d = new Influxd(dir, httpPort, config);
    await d.restart();
    return d;
  }

  /** Whether the process runs. */
  get running(): boolean {
    return this.#child !== undefined;
  }

  /** What influxd printed (stderr and stdout). */
  get log(): string {
    return this.#log;
  }

  /** Starts the process (again) and waits until `/ping` answers (up to 60 s). */
  async restart(): Promise<void> {
    if (this.#child) throw new Error("influxd is running");
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command("influxd", {
        args: ["run", "-config", this.config],
        stdout: "piped",
        stderr: "piped",
        env: { INFLUXDB_REPORTING_DISABLED: "true" },
      }).spawn();
    } catch (e) {
      // A failure, never a skip: `npm test` installs the Debian package.
      if (e instanceof Deno.errors.NotFound) throw new Error("influxd is not installed (Debian package influxdb)");
      throw e;
    }
    this.#child = child;
    const dec = new TextDecoder();
    const collect = async (s: ReadableStream<Uint8Array>) => {
      for await (const c of s) this.#log = (this.#log + dec.decode(c, { stream: true })).slice(-20000);
    };
    collect(child.stdout);
    collect(child.stderr);
    const end = Date.now() + 60_000;
    let exited = false;
    child.status.then(() => exited = true);
    while (Date.now() < end) {
      if (exited) throw new Error(`influxd exited:\n${this.#log}`);
      try {
        const r = await fetch(`${this.url}/ping`, { signal: AbortSignal.timeout(2000) });
        await r.body?.cancel();
        if (r.status === 204) return;
      } catch {
        // not yet listening
      }
      await letTimePass(100); // between /ping attempts: influxd gives no other sign that it listens
    }
    throw new Error(`influxd did not answer /ping within 60 s:\n${this.#log}`);
  }

  /** Stops the process (SIGTERM, then SIGKILL after 10 s) and waits for it. */
  async halt(signal: Deno.Signal = "SIGTERM"): Promise<void> {
    const child = this.#child;
    if (!child) return;
    this.#child = undefined;
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
    const t = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch {
        // gone
      }
    }, 10_000);
    await child.status;
    clearTimeout(t);
  }

  /** Runs an InfluxQL statement (`POST /query`) and returns the parsed JSON. */
  async query(q: string, db?: string, epoch = "ns"): Promise<InfluxQueryResult> {
    const params = new URLSearchParams({ q, epoch });
    if (db) params.set("db", db);
    const r = await fetch(`${this.url}/query`, {
      method: "POST",
      body: params,
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    const text = await r.text();
    if (!r.ok) throw new Error(`query failed: ${r.status} ${text}`);
    return JSONParseBig(text) as InfluxQueryResult;
  }

  /** Rows of the first series of a SELECT as objects keyed by column. */
  async rows(q: string, db: string): Promise<Record<string, unknown>[]> {
    const res = await this.query(q, db);
    const out: Record<string, unknown>[] = [];
    for (const s of res.results[0]?.series ?? []) {
      for (const v of s.values) {
        const row: Record<string, unknown> = { ...s.tags };
        s.columns.forEach((c, i) => row[c] = v[i]);
        out.push(row);
      }
    }
    return out;
  }

  /** Stops the process and removes its folder. */
  async stop(): Promise<void> {
    await this.halt();
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}

/** The JSON of `/query`. */
export interface InfluxQueryResult {
  /** One result per statement. */
  results: {
    statement_id?: number;
    error?: string;
    series?: { name: string; tags?: Record<string, string>; columns: string[]; values: unknown[][] }[];
  }[];
}

/** JSON.parse that keeps integers beyond 2^53 exact (as bigint), for ns times and int64 fields. */
export function JSONParseBig(text: string): unknown {
  // Quote long integers outside strings, then turn the marked strings back into bigints.
  const marked = text.replace(
    /("(?:[^"\\]|\\.)*")|(-?\d{16,})(?![\d.eE])/g,
    (m, str, num) => str !== undefined ? m : `"~big~${num}"`,
  );
  return JSON.parse(marked, (_k, v) => typeof v === "string" && v.startsWith("~big~") ? BigInt(v.slice(5)) : v);
}
