/**
 * dataRT as a library: a drop-in for dataRT 0.1.2's `DataRT` object, whose
 * `writePoints(points)` pushes every point as JSON to the browsers connected
 * at `/ws/client` and then writes the points to InfluxDB, like
 * `influxdb.InfluxDBClient.write_points`.
 *
 * The WebSocket side is telebus's `websocket` output with `protocol = "datart"`
 * (so `/ws/client`, `/ws/echo`, `/status` and the per-client slow-client
 * policies are the same as the daemon's); the InfluxDB side is the `influxdb`
 * output's writer and line-protocol codec.
 *
 * @module
 */
import { HttpServer } from "../../core/http.ts";
import { createLogger, type Logger } from "../../core/log.ts";
import { type BusRecord, type Dict, makeRecord, nowNs } from "../../core/record.ts";
import { PartStats } from "../../core/stats.ts";
import { isDict } from "../../codecs/flatten.ts";
import { encodePoint, type NumberMode, type Point, type TimePrecision } from "../../codecs/line_protocol.ts";
import { WebsocketOutput } from "../../net/websocket/fanout.ts";
import { websocketServerSchema } from "../../config/websocket.ts";
import { InfluxError, InfluxWriter } from "./writer.ts";

/** Options of {@linkcode DatartClient.start} (dataRT's constructor arguments, camelCased). */
export interface DatartOptions {
  /** `host:port` of the HTTP/WebSocket server (default `127.0.0.1:8080`; dataRT's is `0.0.0.0:8080`); `off` for none. */
  listen?: string;
  /** Prefix of the WebSocket routes (default `/ws`: clients connect to `/ws/client`). */
  websocketPath?: string;
  /** InfluxDB base URL with its port (default `http://localhost:8086`); `null` pushes to WebSocket clients only. */
  influxUrl?: string | null;
  /** InfluxDB database (dataRT's `influx_db`). */
  influxDatabase?: string;
  /** InfluxDB user; with the password, sent as basic authentication. */
  influxUser?: string;
  /** InfluxDB password. */
  influxPassword?: string;
  /** How JavaScript numbers are typed (default `auto`: whole numbers are integers, as Python ints are). */
  numbers?: NumberMode;
  /** Request timeout in ms (default 10 s). */
  timeout?: number;
  /** Where the client logs (default: stderr). */
  log?: Logger;
  /**
   * Origins of pages allowed to connect besides the server's own (`["*"]`: any). dataRT's example pages opened
   * as files send `Origin: null`: `["null"]` lets them in (and sandboxed frames of any site: trusted machines only).
   */
  corsOrigins?: string[];
}

/** Options of one {@linkcode DatartClient.writePoints} call (influxdb-python's keyword arguments). */
export interface WritePointsOptions {
  /** Unit of integer `time` values in the points (default `ns`). */
  timePrecision?: TimePrecision;
  /** Database for this call (default: the client's). */
  database?: string;
  /** Retention policy for this call. */
  retentionPolicy?: string;
  /** Tags added to every point (a point's own tags win). */
  tags?: Record<string, string>;
}

/**
 * dataRT's server and client in one object. Start it with
 * {@linkcode DatartClient.start}, then call `writePoints` as you would call
 * dataRT's `write_points`.
 *
 * @example
 * ```ts
 * import { DatartClient } from "./mod.ts";
 * const rt = await DatartClient.start({ listen: "127.0.0.1:0", influxUrl: null });
 * await rt.writePoints([{ measurement: "test", tags: { tester: "basic" }, fields: { value: 2 } }]);
 * await rt.close();
 * ```
 */
export class DatartClient {
  /** The HTTP server holding `/`, `/status`, `<websocketPath>/client` and `<websocketPath>/echo`. */
  readonly http: HttpServer;
  /** Counters of the WebSocket side (clients, drops). */
  readonly stats: PartStats;
  readonly #ws: WebsocketOutput;
  readonly #options: DatartOptions;
  readonly #writers = new Map<string, InfluxWriter>();

  private constructor(options: DatartOptions) {
    this.#options = options;
    const log = options.log ?? createLogger("datart");
    this.http = new HttpServer(log.child("http"), { corsOrigins: options.corsOrigins });
    this.stats = new PartStats("output", "datart", "websocket");
    this.#ws = new WebsocketOutput(
      websocketServerSchema.parse({ protocol: "datart", path: options.websocketPath ?? "/ws" }),
      { name: "datart", log: log.child("websocket"), stats: this.stats, dataDir: "", http: this.http },
    );
    this.http.route("/", () => new Response("200 OK", { headers: { "content-type": "text/html; charset=utf-8" } }));
  }

  /** Creates the client and starts its server (unless `listen` is `off`). */
  static start(options: DatartOptions = {}): Promise<DatartClient> {
    const c = new DatartClient(options);
    const listen = options.listen ?? "127.0.0.1:8080";
    if (listen !== "off" && listen !== "") c.http.listen(listen);
    return Promise.resolve(c);
  }

  /** `http://host:port` of the server, once listening. */
  get url(): string | undefined {
    const a = this.http.addr;
    return a ? `http://${a.hostname.includes(":") ? `[${a.hostname}]` : a.hostname}:${a.port}` : undefined;
  }

  /** WebSocket clients connected now. */
  get clients(): number {
    return Number(this.stats.gauges.get("clients")?.() ?? 0);
  }

  #writer(database?: string, retentionPolicy?: string): InfluxWriter | undefined {
    const o = this.#options;
    const url = o.influxUrl === undefined ? "http://localhost:8086" : o.influxUrl;
    if (url === null) return undefined;
    const db = database ?? o.influxDatabase;
    const key = `${db}\u0000${retentionPolicy ?? ""}`;
    let w = this.#writers.get(key);
    if (!w) {
      w = new InfluxWriter({
        url,
        api: "v1",
        database: db,
        retention_policy: retentionPolicy,
        username: o.influxUser,
        password: o.influxPassword,
        timeout: o.timeout,
      });
      this.#writers.set(key, w);
    }
    return w;
  }

  /**
   * dataRT's `write_points`: `points` must be a list of dictionaries (else a
   * `TypeError`); each point goes, unchanged, as one JSON text frame to every
   * WebSocket client, then (unless `influxUrl` is `null`) all of them to
   * InfluxDB in one request. Resolves to `true`; rejects with an
   * `InfluxError` when InfluxDB refuses the write (or a `LineProtocolError`
   * for a point that cannot be written, after the WebSocket push).
   */
  async writePoints(points: unknown, options: WritePointsOptions = {}): Promise<boolean> {
    if (!Array.isArray(points) || !points.every((p) => isDict(p))) {
      throw new TypeError("points must be a list of dicts");
    }
    const now = nowNs();
    const records: BusRecord[] = points.map((p: Dict) => makeRecord("datart", now, p, "datart"));
    this.#ws.write(records);
    const writer = this.#writer(options.database, options.retentionPolicy);
    if (!writer) return true;
    const lineOptions = { numbers: this.#options.numbers ?? "auto", precision: options.timePrecision ?? "ns" };
    const lines = points.map((p: Dict) => {
      const point = p as unknown as Point;
      const withTags = options.tags ? { ...point, tags: { ...options.tags, ...point.tags } } : point;
      return encodePoint(withTags, now, lineOptions);
    });
    if (lines.length === 0) return true;
    const outcome = await writer.write(lines);
    if (outcome.kind !== "ok") throw new InfluxError(outcome.status, outcome.message);
    return true;
  }

  /** InfluxQL passthrough (`/query`); `null` without InfluxDB. */
  query(q: string, options: { database?: string; epoch?: string } = {}): Promise<unknown> {
    const w = this.#writer(options.database);
    return w ? w.query(q, options) : Promise.resolve(null);
  }

  /** `CREATE DATABASE`; does nothing without InfluxDB. */
  async createDatabase(name: string): Promise<void> {
    const w = this.#writer();
    if (w) await w.query(`CREATE DATABASE "${name.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`, { post: true });
  }

  /** Closes the WebSocket clients and the server. */
  async close(): Promise<void> {
    await this.#ws.close();
    await this.http.close();
  }
}
