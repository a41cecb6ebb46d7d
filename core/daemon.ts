/**
 * The daemon: builds inputs and outputs from a plan, runs them around the bus,
 * serves `/health` and `/metrics`, and stops cleanly: inputs first, then the
 * queues drain, then the outputs flush and close. A reload touches only the
 * parts whose tables changed, and puts the old ones back when it fails.
 *
 * @module
 */
import { type AttachOptions, Bus, OutputAttachment } from "./bus.ts";
import type { FullPolicy } from "./queue.ts";
import type { BusRecord } from "./record.ts";
import { PartStats, renderPrometheus } from "./stats.ts";
import { RecordRejects } from "./reject.ts";
import { createLogger, type Logger } from "./log.ts";
import { HttpServer, PartRoutes } from "./http.ts";
import { FileCheckpointStore } from "./checkpoint.ts";
import type { Input, InputContext, Output, OutputContext, TransportDefinition } from "./transport.ts";
import { join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { within } from "./async.ts";

/** One configured part, as the daemon needs it (config/ produces these). */
export interface PartPlan {
  /** Transport type. */
  type: string;
  /** Unique name. */
  name: string;
  /** The validated table (outputs carry the common keys: inputs, streams, when_full, …). */
  config: Record<string, unknown>;
  /** The transport that builds it. */
  transport: TransportDefinition;
}

/** What the daemon runs. */
export interface DaemonPlan {
  /** The `[daemon]` table. */
  daemon: {
    /** `host:port` of the HTTP server, or `""`/`"off"` for none. */
    http: string;
    /** Folder for checkpoints and spools. */
    data_dir: string;
    /** Most milliseconds a stop may take before the rest is abandoned. */
    stop_timeout: number;
    /** Stop once every input has finished by itself (a generator with `count`, a file read once). */
    exit_when_done?: boolean;
    /** Bearer token for every HTTP/WebSocket endpoint but `/health` (empty or absent: none). */
    token?: string;
    /** Origins allowed by CORS and for browser WebSocket upgrades. */
    cors_origins?: string[];
    /** Largest HTTP request body. */
    max_request_bytes?: number;
    /** PEM certificate and key files: the HTTP server speaks HTTPS/WSS (empty or absent: plain HTTP). */
    tls_cert?: string;
    /** See `tls_cert`. */
    tls_key?: string;
  };
  /** Inputs to start. */
  inputs: PartPlan[];
  /** Outputs to start. */
  outputs: PartPlan[];
}

/** The daemon's life: `running` serves 200 on `/health`, `draining` 503. */
export type DaemonState = "created" | "starting" | "running" | "draining" | "stopped";

/** Options for an output attached by a program. */
export interface AddOutputOptions {
  /** Input names (default: all). */
  inputs?: string[];
  /** Stream globs (default: all). */
  streams?: string[];
  /** Queue policy (default `block`). */
  whenFull?: FullPolicy;
  /** Queue bound in records (default 10000). */
  queueRecords?: number;
  /** Queue bound in bytes (default 64 MiB). */
  queueBytes?: number;
  /** Most records per write (default 1000). */
  batchRecords?: number;
}

/** The `[daemon]` table of a plan. */
type DaemonTable = DaemonPlan["daemon"];

/** The TLS files of a `[daemon]` table, as the HTTP server takes them. */
function tlsOf(d: DaemonTable): { certFile: string; keyFile: string } | undefined {
  return d.tls_cert ? { certFile: d.tls_cert, keyFile: d.tls_key ?? "" } : undefined;
}

/** The outcome of a reload: the last one is shown in `/health`, all are counted in `/metrics`. */
export interface ReloadResult {
  /** `ok`, or `failed` when the running configuration was kept. */
  result: "ok" | "failed";
  /** When it ended (ISO 8601). */
  time: string;
  /** Why it failed. */
  error?: string;
  /** Parts left running untouched (`input.NAME`, `output.NAME`). */
  kept: string[];
  /** Parts restarted with their new table. */
  changed: string[];
  /** Parts started. */
  added: string[];
  /** Parts stopped. */
  removed: string[];
}

interface RunningInput {
  name: string;
  stats: PartStats;
  abort: AbortController;
  done: Promise<void>;
  finished: boolean;
  /** Its routes on the HTTP server, removed when it stops before the daemon does. */
  routes: PartRoutes;
  /** Its table; undefined for an input the program added. */
  plan?: PartPlan;
}

/** An output of the plan (not one a program added): its table and its routes. */
interface PlannedOutput {
  plan: PartPlan;
  routes: PartRoutes;
}

/** What a reload does to the parts of one kind. */
interface PartDiff {
  kept: PartPlan[];
  changed: [before: PartPlan, after: PartPlan][];
  added: PartPlan[];
  removed: PartPlan[];
}

/** Compares running parts with wanted ones: the same type, name and table (deep-equal) is kept. */
function diffParts(running: PartPlan[], wanted: PartPlan[], sameDataDir: boolean): PartDiff {
  const d: PartDiff = { kept: [], changed: [], added: [], removed: [] };
  const byName = new Map(running.map((p) => [p.name, p]));
  for (const w of wanted) {
    const r = byName.get(w.name);
    byName.delete(w.name);
    if (!r || r.type !== w.type) {
      // Another type under the same name is another part.
      if (r) d.removed.push(r);
      d.added.push(w);
    } else if (sameDataDir && isDeepStrictEqual(r.config, w.config)) d.kept.push(r);
    else d.changed.push([r, w]);
  }
  d.removed.push(...byName.values());
  return d;
}

/** The queue and selection settings of an output's table. */
function attachOptions(c: Record<string, unknown>): AddOutputOptions {
  return {
    inputs: c.inputs as string[] | undefined,
    streams: c.streams as string[] | undefined,
    whenFull: c.when_full as FullPolicy,
    queueRecords: c.queue_records as number,
    queueBytes: c.queue_bytes as number,
    batchRecords: c.batch_records as number,
  };
}

function withDefaults(opts: AddOutputOptions): AttachOptions {
  return {
    inputs: opts.inputs,
    streams: opts.streams,
    whenFull: opts.whenFull ?? "block",
    queueRecords: opts.queueRecords ?? 10_000,
    queueBytes: opts.queueBytes ?? 64 * 1024 * 1024,
    batchRecords: opts.batchRecords ?? 1000,
  };
}

function httpOn(addr: string): boolean {
  return addr !== "" && addr !== "off";
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** A telebus daemon. Create it from a plan (see `config/`), then `start()`, `reload()` and later `stop()`. */
export class Daemon {
  /** The bus every record crosses. */
  readonly bus: Bus = new Bus();
  /** The shared HTTP server. */
  readonly http: HttpServer;
  /** The daemon's logger. */
  readonly log: Logger;
  #plan: DaemonPlan;
  readonly #inputs = new Map<string, RunningInput>();
  readonly #outputs = new Map<string, OutputAttachment>();
  /** The outputs of the plan, by name. */
  readonly #planned = new Map<string, PlannedOutput>();
  #checkpoints: FileCheckpointStore;
  #state: DaemonState = "created";
  #stopping?: Promise<void>;
  #stopped!: () => void;
  #reloading?: Promise<ReloadResult>;
  #lastReload?: ReloadResult;
  readonly #reloads = { ok: 0, failed: 0 };
  /** When the running configuration was applied (start, or the last good reload), in ms since the epoch. */
  #appliedAt = 0;
  /** Resolves once the daemon has stopped. */
  readonly stopped: Promise<void>;

  /**
   * Creates a daemon; nothing runs before `start`.
   *
   * @param plan what to run (a validated configuration)
   * @param log where the daemon logs (default: stderr)
   */
  constructor(plan: DaemonPlan, log: Logger = createLogger("telebus")) {
    this.#plan = plan;
    this.log = log;
    this.http = new HttpServer(log.child("http"), {
      token: plan.daemon.token,
      corsOrigins: plan.daemon.cors_origins,
      maxRequestBytes: plan.daemon.max_request_bytes,
      tls: tlsOf(plan.daemon),
    });
    this.#checkpoints = new FileCheckpointStore(join(plan.daemon.data_dir, "checkpoints"));
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
    return [...[...this.#inputs.values()].map((i) => i.stats), ...[...this.#outputs.values()].map((o) => o.stats)];
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
    try {
      // The port is taken first: a clash must fail the start before anything creates files or connects.
      // Routes are looked up per request, so the outputs may add theirs afterwards (/health says 503 meanwhile).
      const addr = this.#plan.daemon.http;
      const listening = httpOn(addr) ? listenOrExplain(this.http, addr) : undefined;
      await Deno.mkdir(this.#plan.daemon.data_dir, { recursive: true });
      for (const o of this.#plan.outputs) await this.#startOutput(o, this.#plan.daemon);
      // Said once the outputs are up (their routes served), as before the port was taken first: tests and
      // scripts wait for this line.
      if (listening) this.#logListening();
      for (const i of this.#plan.inputs) await this.#startPlannedInput(i, this.#plan.daemon);
    } catch (e) {
      this.#state = "running";
      await this.stop();
      throw e;
    }
    this.#state = "running";
    this.#appliedAt = Date.now();
    this.log.info("running", { inputs: this.#inputs.size, outputs: this.#outputs.size });
  }

  #logListening(): void {
    this.log.info("listening", { url: this.http.url });
  }

  /** Creates the output of a table; the routes it registered go again when that fails. */
  async #createOutput(o: PartPlan, d: DaemonTable, stats: PartStats, log: Logger): Promise<[Output, PartRoutes]> {
    const routes = new PartRoutes(this.http);
    const ctx: OutputContext = {
      name: o.name,
      log,
      stats,
      dataDir: d.data_dir,
      http: routes,
      parts: () => this.stats,
      token: d.token ?? "",
    };
    try {
      return [await o.transport.output!.create(o.config as never, ctx), routes];
    } catch (e) {
      routes.release();
      throw e;
    }
  }

  async #startOutput(o: PartPlan, d: DaemonTable): Promise<void> {
    if (this.#outputs.has(o.name)) throw new Error(`an output named ${JSON.stringify(o.name)} exists already`);
    const stats = new PartStats("output", o.name, o.type);
    const log = this.log.child(`output.${o.name}`);
    const [output, routes] = await this.#createOutput(o, d, stats, log);
    this.#attach(o.name, output, attachOptions(o.config), stats, log);
    this.#planned.set(o.name, { plan: o, routes });
  }

  /**
   * Creates and starts an input of the plan. `rewindOnly`: the outputs it may ask to cut back to its checkpoint
   * (a reload restarts it: the outputs that ran on already hold exactly what its last checkpoint covers).
   */
  async #startPlannedInput(i: PartPlan, d: DaemonTable, stats?: PartStats, rewindOnly?: Set<string>): Promise<void> {
    if (this.#inputs.has(i.name)) throw new Error(`an input named ${JSON.stringify(i.name)} exists already`);
    stats ??= new PartStats("input", i.name, i.type);
    const input = await i.transport.input!.create(i.config as never, {
      log: this.log.child(`input.${i.name}`),
      dataDir: d.data_dir,
      stats,
      token: d.token ?? "",
    });
    this.#startInput(i.name, i.type, input, i, stats, d.token ?? "", rewindOnly);
  }

  #attach(name: string, output: Output, opts: AddOutputOptions, stats: PartStats, log: Logger): OutputAttachment {
    if (this.#outputs.has(name)) throw new Error(`an output named ${JSON.stringify(name)} exists already`);
    const a = new OutputAttachment(name, output, withDefaults(opts), stats, log);
    this.#outputs.set(name, a);
    this.bus.attach(a);
    a.start();
    return a;
  }

  #startInput(
    name: string,
    type: string,
    input: Input,
    plan?: PartPlan,
    reuseStats?: PartStats,
    token = this.#plan.daemon.token ?? "",
    rewindOnly?: Set<string>,
  ): void {
    if (this.#inputs.has(name)) throw new Error(`an input named ${JSON.stringify(name)} exists already`);
    const stats = reuseStats ?? new PartStats("input", name, type);
    const abort = new AbortController();
    const log = this.log.child(`input.${name}`);
    const rejects = new RecordRejects(stats, log);
    const routes = new PartRoutes(this.http);
    const ctx: InputContext = {
      name,
      // Records beyond the codecs' limits are counted and left out here, so one cannot cost its batch downstream.
      emit: (records, onAccepted) => this.bus.emit(rejects.admit(records), onAccepted),
      resume: (marks) =>
        this.#resume(
          name,
          rewindOnly ? Object.fromEntries(Object.entries(marks).filter(([o]) => rewindOnly.has(o))) : marks,
          log,
        ),
      signal: abort.signal,
      log,
      stats,
      checkpoints: this.#checkpoints,
      http: routes,
      token,
    };
    const running: RunningInput = { name, stats, abort, done: Promise.resolve(), finished: false, routes, plan };
    running.done = (async () => {
      try {
        await input.run(ctx);
      } catch (e) {
        stats.errors++;
        log.error("input failed", { error: e });
      } finally {
        running.finished = true;
        if (!abort.signal.aborted) this.#inputFinished();
      }
    })();
    this.#inputs.set(name, running);
  }

  /** Hands each output its mark from input `name`'s checkpoint (see `InputContext.resume`). */
  async #resume(name: string, marks: Record<string, unknown>, log: Logger): Promise<void> {
    for (const [output, mark] of Object.entries(marks)) {
      const a = this.#outputs.get(output);
      try {
        await a?.output?.rewind?.(mark, name);
      } catch (e) {
        a!.stats.errors++;
        log.error("output could not rewind to the checkpoint; its records after it may repeat", { output, error: e });
      }
    }
  }

  #inputFinished(): void {
    if (!this.#plan.daemon.exit_when_done || this.#state !== "running") return;
    if ([...this.#inputs.values()].every((i) => i.finished)) {
      this.log.info("every input has finished; stopping");
      this.stop();
    }
  }

  /** Adds an input of the program's own; it starts at once. */
  addInput(name: string, input: Input): void {
    this.#startInput(name, "custom", input);
  }

  /** Adds an output of the program's own; records emitted from now on reach it. */
  addOutput(name: string, output: Output, options: AddOutputOptions = {}): void {
    const stats = new PartStats("output", name, "custom");
    this.#attach(name, output, options, stats, this.log.child(`output.${name}`));
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
    const a = this.#attach(
      name,
      { write: callback, close: () => Promise.resolve() },
      {
        whenFull: "drop_oldest",
        ...options,
      },
      stats,
      this.log.child(name),
    );
    return async () => {
      this.bus.detach(a);
      this.#outputs.delete(name);
      await a.drainAndClose();
    };
  }
  #subscriptions = 0;

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
    const p = this.#reload(plan).finally(() => this.#reloading = undefined);
    this.#reloading = p;
    return p;
  }

  async #reload(next: DaemonPlan): Promise<ReloadResult> {
    const prev = this.#plan;
    const limit = prev.daemon.stop_timeout;
    const dataDir = next.daemon.data_dir;
    const sameDir = prev.daemon.data_dir === dataDir;
    // Parts get the data folder and the token when they are created: when either changes, every part restarts.
    const sameContext = sameDir && (prev.daemon.token ?? "") === (next.daemon.token ?? "");
    const running = (kind: "inputs" | "outputs") =>
      kind === "inputs"
        ? [...this.#inputs.values()].flatMap((i) => i.plan ? [i.plan] : [])
        : [...this.#planned.values()].map((o) => o.plan);
    const ins = diffParts(running("inputs"), next.inputs, sameContext);
    const outs = diffParts(running("outputs"), next.outputs, sameContext);
    const names = (kind: string, d: PartDiff) => ({
      kept: d.kept.map((p) => `${kind}.${p.name}`),
      changed: d.changed.map(([p]) => `${kind}.${p.name}`),
      added: d.added.map((p) => `${kind}.${p.name}`),
      removed: d.removed.map((p) => `${kind}.${p.name}`),
    });
    const ni = names("input", ins), no = names("output", outs);
    const summary = {
      kept: [...ni.kept, ...no.kept],
      changed: [...ni.changed, ...no.changed],
      added: [...ni.added, ...no.added],
      removed: [...ni.removed, ...no.removed],
    };
    this.log.info("reloading", {
      kept: summary.kept.join(",") || "-",
      changed: summary.changed.join(",") || "-",
      added: summary.added.join(",") || "-",
      removed: summary.removed.join(",") || "-",
    });
    // Each step that changed something pushes how to take it back; a failure runs them newest first.
    const undo: (() => Promise<void>)[] = [];
    /** Paused stand-ins for removed outputs: their records wait there until the reload commits or is undone. */
    const standIns: OutputAttachment[] = [];
    let listener: Deno.HttpServer<Deno.NetAddr> | undefined;
    const tls = tlsOf(next.daemon);
    const listenerChanges = prev.daemon.http !== next.daemon.http || !isDeepStrictEqual(tlsOf(prev.daemon), tls);
    try {
      // 1. A new HTTP listener is bound first: when its address is taken, nothing else has been touched.
      if (listenerChanges && httpOn(next.daemon.http)) {
        const addr = next.daemon.http;
        if (addr === prev.daemon.http && this.http.addr) {
          // The same address with other TLS files: the old listener goes first, and comes back when the new fails.
          const oldTls = tlsOf(prev.daemon);
          await this.http.switchTo(undefined, oldTls);
          try {
            listener = this.http.bindNext(addr, tls);
          } catch (e) {
            this.http.listen(addr);
            throw new Error(`[daemon] http ${addr}: ${errorText(e)}`);
          }
          undo.push(async () => {
            await listener?.shutdown();
            listener = undefined;
            this.http.listen(addr);
          });
        } else {
          try {
            listener = this.http.bindNext(addr, tls);
          } catch (e) {
            throw new Error(`[daemon] http ${addr}: ${errorText(e)}`);
          }
        }
      }
      if (!sameDir) await Deno.mkdir(dataDir, { recursive: true });

      // 2. Inputs removed or changed stop; each saves its last accepted checkpoint once its records are written.
      const stoppedStats = new Map<string, PartStats>();
      for (const p of [...ins.removed, ...ins.changed.map(([p]) => p)]) {
        const i = this.#inputs.get(p.name)!;
        i.abort.abort();
        if (!await within(i.done, limit)) this.log.warn("input did not stop in time", { input: p.name });
        i.routes.release();
        this.#inputs.delete(p.name);
        stoppedStats.set(p.name, i.stats);
        const checkpoints = this.#checkpoints;
        undo.push(async () => {
          const now = this.#checkpoints;
          this.#checkpoints = checkpoints;
          try {
            await this.#startPlannedInput(p, prev.daemon, i.stats, new Set());
          } finally {
            this.#checkpoints = now;
          }
        });
      }

      // 3. Outputs removed: a paused stand-in takes their place on the bus, they drain and close.
      for (const p of outs.removed) {
        const a = this.#outputs.get(p.name)!;
        const standIn = new OutputAttachment(p.name, undefined, a.options, a.stats, a.log);
        this.bus.replace(a, standIn);
        this.#outputs.set(p.name, standIn);
        standIns.push(standIn);
        if (!await within(a.drainAndClose(), limit)) {
          this.log.warn("output did not drain in time", { output: p.name, records: a.queue.length });
        }
        this.#planned.get(p.name)!.routes.release();
        this.#planned.delete(p.name);
        undo.push(async () => {
          // Back in service with its old table: it gets the records that waited in the stand-in.
          standIns.splice(standIns.indexOf(standIn), 1);
          await this.#reopen(standIn, p, prev.daemon);
        });
      }

      // 4. Outputs changed: their queue stays on the bus, the old output finishes its write and closes, the new opens.
      for (const [before, after] of outs.changed) {
        const a = this.#outputs.get(before.name)!;
        const planned = this.#planned.get(before.name)!;
        if (!await within(a.pause(), limit)) {
          a.resume();
          throw new Error(`output ${before.name}: its write did not end within ${limit} ms`);
        }
        await this.#closeOutput(a);
        planned.routes.release();
        // From here on, undoing means opening the old output again behind the same queue.
        const swapped: { to?: PlannedOutput } = {};
        undo.push(async () => {
          if (swapped.to) {
            await within(a.pause(), limit);
            await this.#closeOutput(a);
            swapped.to.routes.release();
          }
          await this.#reopen(a, before, prev.daemon);
        });
        a.clearOutputGauges();
        const [output, routes] = await this.#createOutput(after, next.daemon, a.stats, a.log);
        swapped.to = { plan: after, routes };
        this.#planned.set(before.name, swapped.to);
        a.resume(output, withDefaults(attachOptions(after.config)));
      }

      // 5. Outputs added.
      for (const p of outs.added) {
        await this.#startOutput(p, next.daemon);
        undo.push(async () => {
          const a = this.#outputs.get(p.name)!;
          this.bus.detach(a);
          this.#outputs.delete(p.name);
          await within(a.drainAndClose(), limit);
          this.#planned.get(p.name)?.routes.release();
          this.#planned.delete(p.name);
        });
      }

      // 6. Inputs changed and added start (a changed one resumes from its checkpoint).
      const checkpoints = this.#checkpoints;
      if (!sameDir) {
        this.#checkpoints = new FileCheckpointStore(join(dataDir, "checkpoints"));
        undo.push(() => Promise.resolve(void (this.#checkpoints = checkpoints)));
      }
      // Only outputs opened by this reload may need cutting back to a restarted input's checkpoint.
      const fresh = new Set([...outs.changed.map(([, after]) => after.name), ...outs.added.map((p) => p.name)]);
      for (const p of [...ins.changed.map(([, after]) => after), ...ins.added]) {
        // A changed input counts on where it left off.
        await this.#startPlannedInput(p, next.daemon, stoppedStats.get(p.name), fresh);
        undo.push(async () => {
          const i = this.#inputs.get(p.name)!;
          i.abort.abort();
          await within(i.done, limit);
          i.routes.release();
          this.#inputs.delete(p.name);
        });
      }
    } catch (e) {
      const error = errorText(e);
      this.log.warn("reload: cannot apply the new configuration; undoing it", { error });
      for (const step of undo.reverse()) {
        try {
          await step();
        } catch (e2) {
          this.log.error("reload: a part could not be put back", { error: e2 });
        }
      }
      await listener?.shutdown();
      // Counted before it is logged: whoever reads the log line finds it in /health already.
      const failed = this.#reloaded({ result: "failed", error, ...summary });
      this.log.error("reload failed: the running configuration was put back", { error });
      return failed;
    }

    // 7. Commit: the new listener replaces the old, the stand-ins of removed outputs let their records go.
    if (listenerChanges) {
      await this.http.switchTo(listener, tls);
      if (listener) this.#logListening();
    }
    this.http.setAccess({
      token: next.daemon.token,
      corsOrigins: next.daemon.cors_origins,
      maxRequestBytes: next.daemon.max_request_bytes,
    });
    for (const s of standIns) {
      this.bus.detach(s);
      if (this.#outputs.get(s.name) === s) this.#outputs.delete(s.name);
      await s.discard();
    }
    this.#plan = next;
    this.#appliedAt = Date.now();
    const result = this.#reloaded({ result: "ok", ...summary });
    this.log.info("reloaded", {
      inputs: this.#inputs.size,
      outputs: this.#outputs.size,
      kept: summary.kept.length,
      changed: summary.changed.length,
      added: summary.added.length,
      removed: summary.removed.length,
    });
    return result;
  }

  /**
   * Opens the output of `p` behind the paused attachment `a` again (a reload
   * undone). When that fails too, the part is given up: its records must not
   * pile up (or hold the inputs back) behind an output that is gone, so they
   * are dropped and counted (`write_error`), and the error is thrown.
   */
  async #reopen(a: OutputAttachment, p: PartPlan, d: DaemonTable): Promise<void> {
    a.clearOutputGauges();
    try {
      const [output, routes] = await this.#createOutput(p, d, a.stats, a.log);
      a.resume(output, withDefaults(attachOptions(p.config)));
      a.start();
      this.#planned.set(p.name, { plan: p, routes });
    } catch (e) {
      this.#planned.delete(p.name);
      this.bus.detach(a);
      this.#outputs.delete(p.name);
      const gone = new Error(`output ${p.name} could not be started again after a failed reload`);
      a.resume({ write: () => Promise.reject(gone), close: () => Promise.resolve() });
      a.drainAndClose().catch(() => {});
      throw e;
    }
  }

  /** Closes the output behind a paused attachment (bounded by `stop_timeout`; a failure is counted and logged). */
  async #closeOutput(a: OutputAttachment): Promise<void> {
    const closing = a.output?.close().catch((e) => {
      a.stats.errors++;
      a.log.error("close failed", { error: e });
    });
    if (closing && !await within(closing, this.#plan.daemon.stop_timeout)) {
      a.log.warn("output did not close in time", { timeout_ms: this.#plan.daemon.stop_timeout });
    }
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
    this.log.info("stopping: inputs");
    for (const i of this.#inputs.values()) i.abort.abort();
    if (!await within(Promise.all([...this.#inputs.values()].map((i) => i.done)), limit)) {
      this.log.warn("inputs did not stop in time", { timeout_ms: limit });
    }
    this.log.info("stopping: draining queues and closing outputs");
    const outs = [...this.#outputs.values()];
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
