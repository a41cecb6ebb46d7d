/**
 * The daemon: builds inputs and outputs from a plan, runs them around the bus,
 * serves `/health` and `/metrics`, and stops cleanly: inputs first, then the
 * queues drain, then the outputs flush and close. A reload touches only the
 * parts whose tables changed, and puts the old ones back when it fails
 * (`reload.ts`); the running parts themselves are in `parts.ts`.
 *
 * @module
 */
import { Bus } from "./bus.ts";
import type { BusRecord } from "./record.ts";
import { PartStats, renderPrometheus } from "./stats.ts";
import { createLogger, type Logger } from "./log.ts";
import { HttpServer } from "./http.ts";
import { FileCheckpointStore } from "./checkpoint.ts";
import type { Input, Output } from "./transport.ts";
import { join } from "node:path";
import { within } from "./async.ts";
import { type AddOutputOptions, type DaemonPlan, fullDaemonTable, programAttachOptions, tlsOf } from "./plan.ts";
import { Parts } from "./parts.ts";
import { errorText, type FullPlan, httpOn, reloadParts, type ReloadResult } from "./reload.ts";

export type { AddOutputOptions, DaemonPlan, DaemonTable, InputTable, OutputTable, PartPlan } from "./plan.ts";
export type { ReloadResult } from "./reload.ts";

/** The daemon's life: `running` serves 200 on `/health`, `draining` 503. */
export type DaemonState = "created" | "starting" | "running" | "draining" | "stopped";

/** A plan with every key of its `[daemon]` table set. */
function complete(plan: DaemonPlan): FullPlan {
  return { daemon: fullDaemonTable(plan.daemon), inputs: plan.inputs, outputs: plan.outputs };
}

/** A telebus daemon. Create it from a plan (see `config/`), then `start()`, `reload()` and later `stop()`. */
export class Daemon {
  /** The bus every record crosses. */
  readonly bus: Bus = new Bus();
  /** The shared HTTP server. */
  readonly http: HttpServer;
  /** The daemon's logger. */
  readonly log: Logger;
  #plan: FullPlan;
  readonly #parts: Parts;
  #state: DaemonState = "created";
  #stopping?: Promise<void>;
  #stopped!: () => void;
  #reloading?: Promise<ReloadResult>;
  #lastReload?: ReloadResult;
  readonly #reloads = { ok: 0, failed: 0 };
  /** When the running configuration was applied (start, or the last good reload), in ms since the epoch. */
  #appliedAt = 0;
  #subscriptions = 0;
  /** Resolves once the daemon has stopped. */
  readonly stopped: Promise<void>;

  /**
   * Creates a daemon; nothing runs before `start`.
   *
   * @param plan what to run (a validated configuration)
   * @param log where the daemon logs (default: stderr)
   */
  constructor(plan: DaemonPlan, log: Logger = createLogger("telebus")) {
    this.#plan = complete(plan);
    const d = this.#plan.daemon;
    this.log = log;
    this.http = new HttpServer(log.child("http"), {
      token: d.token,
      corsOrigins: d.cors_origins,
      maxRequestBytes: d.max_request_bytes,
      tls: tlsOf(d),
    });
    this.#parts = new Parts(
      this.bus,
      this.http,
      log,
      new FileCheckpointStore(join(d.data_dir, "checkpoints")),
      () => this.#plan.daemon,
      () => this.#inputFinished(),
    );
    this.stopped = new Promise((r) => this.#stopped = r);
    this.http.route("/health", () => this.#health());
    this.http.route(
      "/metrics",
      () => new Response(this.metrics(), { headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" } }),
    );
  }

  /** Where the daemon is in its life. */
  get state(): DaemonState {
    return this.#state;
  }

  /** Counters of every input and output. */
  get stats(): PartStats[] {
    return this.#parts.stats;
  }

  /** The outcome of the last reload, if there was one. */
  get lastReload(): ReloadResult | undefined {
    return this.#lastReload;
  }

  /** The metrics in Prometheus text format. */
  metrics(): string {
    const extra: Record<string, number> = {
      up: this.#state === "running" ? 1 : 0,
      bus_records_total: this.bus.emitted,
    };
    for (const [reason, n] of this.http.refused) extra[`http_refused_${reason.replaceAll(" ", "_")}_total`] = n;
    return renderPrometheus(this.stats, extra) + [
      "# HELP telebus_reload_total Configuration reloads, by result (failed: the running configuration was kept).",
      "# TYPE telebus_reload_total counter",
      `telebus_reload_total{result="ok"} ${this.#reloads.ok}`,
      `telebus_reload_total{result="failed"} ${this.#reloads.failed}`,
      "# HELP telebus_config_last_reload_successful 0 when the last reload failed, else 1.",
      "# TYPE telebus_config_last_reload_successful gauge",
      `telebus_config_last_reload_successful ${this.#lastReload?.result === "failed" ? 0 : 1}`,
      "# HELP telebus_config_last_reload_success_timestamp_seconds When the running configuration was applied.",
      "# TYPE telebus_config_last_reload_success_timestamp_seconds gauge",
      `telebus_config_last_reload_success_timestamp_seconds ${this.#appliedAt / 1000}`,
      "",
    ].join("\n");
  }

  #health(): Response {
    const ok = this.#state === "running";
    const body: Record<string, unknown> = { status: this.#state };
    const r = this.#lastReload;
    if (r) body.reload = r.error === undefined ? { result: r.result, time: r.time } : r;
    return Response.json(body, { status: ok ? 200 : 503 });
  }

  /** Binds the HTTP server, builds and starts every output, then every input. */
  async start(): Promise<void> {
    if (this.#state !== "created") throw new Error(`cannot start a daemon that is ${this.#state}`);
    this.#state = "starting";
    const plan = this.#plan;
    try {
      // The port is taken first: a clash must fail the start before anything creates files or connects.
      // Routes are looked up per request, so the outputs may add theirs afterwards (/health says 503 meanwhile).
      const addr = plan.daemon.http;
      const listening = httpOn(addr) ? listenOrExplain(this.http, addr) : undefined;
      await Deno.mkdir(plan.daemon.data_dir, { recursive: true });
      for (const o of plan.outputs) await this.#parts.startOutput(o, plan.daemon);
      // Said once the outputs are up (their routes served), as before the port was taken first: tests and
      // scripts wait for this line.
      if (listening) this.log.info("listening", { url: this.http.url });
      for (const i of plan.inputs) await this.#parts.startPlannedInput(i, plan.daemon);
    } catch (e) {
      this.#state = "running";
      await this.stop();
      throw e;
    }
    this.#state = "running";
    this.#appliedAt = Date.now();
    this.log.info("running", { inputs: this.#parts.inputs.size, outputs: this.#parts.outputs.size });
  }

  #inputFinished(): void {
    if (!this.#plan.daemon.exit_when_done || this.#state !== "running") return;
    if ([...this.#parts.inputs.values()].every((i) => i.finished)) {
      this.log.info("every input has finished; stopping");
      this.stop();
    }
  }

  /** Adds an input of the program's own; it starts at once. */
  addInput(name: string, input: Input): void {
    this.#parts.startInput(name, "custom", input);
  }

  /** Adds an output of the program's own; records emitted from now on reach it. */
  addOutput(name: string, output: Output, options: AddOutputOptions = {}): void {
    const stats = new PartStats("output", name, "custom");
    this.#parts.attach(name, output, programAttachOptions(options), stats, this.log.child(`output.${name}`));
  }

  /**
   * Calls `callback` with every batch of records whose stream matches one of
   * `streams` (globs; default all). The subscription has its own bounded queue
   * (drop_oldest unless told otherwise), so a slow callback never stalls the bus.
   * Returns a function that ends the subscription.
   */
  subscribe(
    callback: (records: BusRecord[]) => void | Promise<void>,
    options: AddOutputOptions = {},
  ): () => Promise<void> {
    const name = `subscription${++this.#subscriptions}`;
    const stats = new PartStats("output", name, "subscription");
    const a = this.#parts.attach(
      name,
      { write: callback, close: () => Promise.resolve() },
      programAttachOptions({ whenFull: "drop_oldest", ...options }),
      stats,
      this.log.child(name),
    );
    return async () => {
      this.bus.detach(a);
      this.#parts.outputs.delete(name);
      await a.drainAndClose();
    };
  }

  /**
   * Records a reload that failed before it reached the daemon (a file that
   * does not validate, permissions the process lacks): counted and shown in
   * `/health` like one that failed here. The running configuration stays.
   */
  reloadRefused(error: unknown): ReloadResult {
    return this.#reloaded({ result: "failed", error: errorText(error), kept: [], changed: [], added: [], removed: [] });
  }

  #reloaded(r: Omit<ReloadResult, "time">): ReloadResult {
    const result = { ...r, time: new Date().toISOString() };
    this.#lastReload = result;
    this.#reloads[r.result]++;
    return result;
  }

  /**
   * Applies `plan` to the running daemon, part by part. A part whose type,
   * name and table are unchanged keeps running untouched (its files, clients
   * and connections). A changed input stops (saving its checkpoint) and starts
   * again with its new table; a changed output's queue stays on the bus while
   * the old output closes and the new one opens, so no record is lost or
   * written twice. Removed parts stop (outputs drain first); added ones start.
   * A new `[daemon] http` address is bound before the old one is let go.
   *
   * When anything fails (an address in use, a part that cannot start), every
   * step taken is undone: the parts stopped are started again with their old
   * tables and the running configuration stays. The result (never a throw) is
   * logged, counted in `/metrics` and shown in `/health`.
   */
  reload(plan: DaemonPlan): Promise<ReloadResult> {
    if (this.#state !== "running" || this.#reloading) {
      const why = this.#reloading ? "a reload is under way" : `the daemon is ${this.#state}`;
      this.log.warn("reload refused", { reason: why });
      return Promise.resolve(this.reloadRefused(why));
    }
    const next = complete(plan);
    const p = reloadParts(this.#parts, this.#plan, next, (r) => {
      if (r.result === "ok") {
        this.#plan = next;
        this.#appliedAt = Date.now();
      }
      return this.#reloaded(r);
    }).finally(() => this.#reloading = undefined);
    this.#reloading = p;
    return p;
  }

  /**
   * Stops cleanly: `/health` turns 503, inputs stop (and save their last
   * accepted checkpoints), queues drain, outputs flush and close, the HTTP
   * server closes. Each phase is bounded by `stop_timeout`. Safe to call twice.
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    // A reload under way ends first (it is bounded by stop_timeout per part); then everything stops.
    await this.#reloading;
    if (this.#state === "created") {
      this.#state = "stopped";
      this.#stopped();
      return;
    }
    this.#state = "draining";
    const limit = this.#plan.daemon.stop_timeout;
    const inputs = [...this.#parts.inputs.values()];
    this.log.info("stopping: inputs");
    for (const i of inputs) i.abort.abort();
    // What the outputs' processors hold is queued now, so that inputs waiting for acceptance see it written.
    for (const o of this.#parts.outputs.values()) o.flushProcessors();
    if (!await within(Promise.all(inputs.map((i) => i.done)), limit)) {
      this.log.warn("inputs did not stop in time", { timeout_ms: limit });
    }
    this.log.info("stopping: draining queues and closing outputs");
    const outs = [...this.#parts.outputs.values()];
    const closing = Promise.all(outs.map(async (o) => {
      try {
        await o.drainAndClose();
      } catch (e) {
        o.stats.errors++;
        o.log.error("close failed", { error: e });
      }
    }));
    if (!await within(closing, limit)) {
      const left = outs.reduce((n, o) => n + o.queue.length, 0);
      this.log.warn("outputs did not drain in time; records left behind", { records: left, timeout_ms: limit });
    }
    await within(this.http.close(), 2000);
    this.#state = "stopped";
    this.log.info("stopped");
    this.#stopped();
  }
}

/** Binds the HTTP server; an error names the address and says what is wrong with it. */
function listenOrExplain(http: HttpServer, addr: string): Deno.NetAddr {
  try {
    return http.listen(addr);
  } catch (e) {
    if (e instanceof Deno.errors.AddrInUse) {
      throw new Error(
        `${addr} is in use (by another program, or another telebus): set [daemon] http to a free address`,
      );
    }
    if (e instanceof Deno.errors.AddrNotAvailable || e instanceof Deno.errors.PermissionDenied) {
      throw new Error(`cannot listen on ${addr}: ${(e as Error).message}`);
    }
    throw e;
  }
}
