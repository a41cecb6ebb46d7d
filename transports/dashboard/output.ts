/**
 * The `dashboard` output: the page at `/` (streams with their rates, the
 * newest values as a tree, live plots of chosen numbers), its embedded
 * assets, `/api/streams`, and its data feed at `/ws/dashboard` — a
 * `websocket` output in JSON with the `latest` slow-client policy, so a slow
 * browser gets the newest value of every stream and never slows the daemon.
 *
 * @module
 */
import type { Output, OutputContext } from "../../core/transport.ts";
import type { BusRecord } from "../../core/record.ts";
import { nsToSeconds } from "../../core/record.ts";
import { dashboardAssets } from "../../web/mod.ts";
import { WebsocketOutput } from "../../net/websocket/fanout.ts";
import { websocketServerSchema } from "../../config/websocket.ts";
import type { DashboardConfig } from "./schema.ts";

/** How often rates are recomputed. */
const RATE_INTERVAL_MS = 1000;

interface StreamRate {
  count: number;
  /** Count at the last rate computation. */
  mark: number;
  rate: number;
  lastTime: bigint;
}

/** The output. */
export class DashboardOutput implements Output {
  readonly #feed: WebsocketOutput;
  readonly #streams = new Map<string, StreamRate>();
  readonly #max: number;
  readonly #timer: ReturnType<typeof setInterval>;
  #lastTick = performance.now();

  /**
   * Registers the page, its assets, `/api/streams` and the feed.
   *
   * @param config the validated table
   * @param ctx the output's context
   */
  constructor(config: DashboardConfig, ctx: OutputContext) {
    this.#max = config.max_streams;
    this.#feed = new WebsocketOutput(
      websocketServerSchema.parse({
        path: "/ws/dashboard",
        format: "json",
        slow_client: "latest",
        max_buffered: config.max_buffered,
      }),
      ctx,
    );
    const serve = (name: string) => {
      const a = dashboardAssets[name];
      return new Response(a.body, { headers: { "content-type": a.type, "cache-control": "no-cache" } });
    };
    ctx.http.route("/", () => serve(""));
    ctx.http.route("/index.html", () => serve(""));
    ctx.http.route("/assets/*", (req) => {
      const name = new URL(req.url).pathname.slice(1);
      return name in dashboardAssets ? serve(name) : new Response("not found\n", { status: 404 });
    });
    ctx.http.route("/api/streams", () => Response.json(this.streams()));
    this.#timer = setInterval(() => this.#computeRates(), RATE_INTERVAL_MS);
    ctx.log.info("dashboard", { path: "/", feed: "/ws/dashboard" });
  }

  #computeRates(): void {
    const now = performance.now();
    const dt = (now - this.#lastTick) / 1000;
    this.#lastTick = now;
    for (const s of this.#streams.values()) {
      s.rate = (s.count - s.mark) / dt;
      s.mark = s.count;
    }
  }

  /** Every stream seen: records, records per second (over the last second), time of the newest record. */
  streams(): { stream: string; count: number; rate: number; last_time: number }[] {
    return [...this.#streams].map(([stream, s]) => ({
      stream,
      count: s.count,
      rate: s.rate,
      last_time: nsToSeconds(s.lastTime),
    })).sort((a, b) => a.stream < b.stream ? -1 : 1);
  }

  /** Counts the records per stream and offers them to the pages. */
  write(records: BusRecord[]): void {
    for (const r of records) {
      let s = this.#streams.get(r.stream);
      if (!s) {
        const name = this.#streams.size < this.#max ? r.stream : "(other)";
        s = this.#streams.get(name);
        if (!s) this.#streams.set(name, s = { count: 0, mark: 0, rate: 0, lastTime: 0n });
      }
      s.count++;
      s.lastTime = r.time;
    }
    this.#feed.write(records);
  }

  /** Closes the feed's clients and the rate timer. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#feed.close();
  }
}
