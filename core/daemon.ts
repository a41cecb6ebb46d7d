/**
 * The daemon: builds inputs and outputs from a plan, runs them around the bus,
 * serves `/health` and `/metrics`, and stops cleanly: inputs first, then the
 * queues drain, then the outputs flush and close.
 *
 * @module
 */
import { Bus, OutputAttachment } from "./bus.ts";
import type { FullPolicy } from "./queue.ts";
import type { BusRecord } from "./record.ts";
import { PartStats, renderPrometheus } from "./stats.ts";
import { RecordRejects } from "./reject.ts";
import { createLogger, type Logger } from "./log.ts";
import { HttpServer } from "./http.ts";
import { FileCheckpointStore } from "./checkpoint.ts";
import type { Input, InputContext, Output, OutputContext, TransportDefinition } from "./transport.ts";
import { join } from "node:path";
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

interface RunningInput {
  name: string;
  stats: PartStats;
  abort: AbortController;
  done: Promise<void>;
  finished: boolean;
}

/** A telebus daemon. Create it from a plan (see `config/`), then `start()` and later `stop()`. */
export class Daemon {
  /** The bus every record crosses. */
  readonly bus: Bus = new Bus();
  /** The shared HTTP server. */
  readonly http: HttpServer;
  /** The daemon's logger. */
  readonly log: Logger;
  readonly #plan: DaemonPlan;
  readonly #inputs = new Map<string, RunningInput>();
  readonly #outputs = new Map<string, OutputAttachment>();
  readonly #checkpoints: FileCheckpointStore;
  #state: DaemonState = "created";
  #stopping?: Promise<void>;
  #stopped!: () => void;
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
      tls: plan.daemon.tls_cert ? { certFile: plan.daemon.tls_cert, keyFile: plan.daemon.tls_key ?? "" } : undefined,
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

  /** The metrics in Prometheus text format. */
  metrics(): string {
    const extra: Record<string, number> = {
      up: this.#state === "running" ? 1 : 0,
      bus_records_total: this.bus.emitted,
    };
    for (const [reason, n] of this.http.refused) extra[`http_refused_${reason.replaceAll(" ", "_")}_total`] = n;
    return renderPrometheus(this.stats, extra);
  }

  #health(): Response {
    const ok = this.#state === "running";
    return Response.json({ status: this.#state }, { status: ok ? 200 : 503 });
  }

  /** Binds the HTTP server, builds and starts every output, then every input. */
  async start(): Promise<void> {
    if (this.#state !== "created") throw new Error(`cannot start a daemon that is ${this.#state}`);
    this.#state = "starting";
    try {
      // The port is taken first: a clash must fail the start before anything creates files or connects.
      // Routes are looked up per request, so the outputs may add theirs afterwards (/health says 503 meanwhile).
      const addr = this.#plan.daemon.http;
      const listening = addr && addr !== "off" ? listenOrExplain(this.http, addr) : undefined;
      await Deno.mkdir(this.#plan.daemon.data_dir, { recursive: true });
      for (const o of this.#plan.outputs) {
        const stats = new PartStats("output", o.name, o.type);
        const log = this.log.child(`output.${o.name}`);
        const ctx: OutputContext = {
          name: o.name,
          log,
          stats,
          dataDir: this.#plan.daemon.data_dir,
          http: this.http,
          parts: () => this.stats,
          token: this.#plan.daemon.token ?? "",
        };
        const output = await o.transport.output!.create(o.config as never, ctx);
        const c = o.config;
        this.#attach(
          o.name,
          output,
          {
            inputs: c.inputs as string[] | undefined,
            streams: c.streams as string[] | undefined,
            whenFull: c.when_full as FullPolicy,
            queueRecords: c.queue_records as number,
            queueBytes: c.queue_bytes as number,
            batchRecords: c.batch_records as number,
          },
          stats,
          log,
        );
      }
      // Said once the outputs are up (their routes served), as before the port was taken first: tests and
      // scripts wait for this line.
      if (listening) this.log.info("listening", { url: this.http.url });
      for (const i of this.#plan.inputs) {
        const input = await i.transport.input!.create(i.config as never, {
          log: this.log.child(`input.${i.name}`),
          dataDir: this.#plan.daemon.data_dir,
        });
        this.#startInput(i.name, i.type, input);
      }
    } catch (e) {
      this.#state = "running";
      await this.stop();
      throw e;
    }
    this.#state = "running";
    this.log.info("running", { inputs: this.#inputs.size, outputs: this.#outputs.size });
  }

  #attach(name: string, output: Output, opts: AddOutputOptions, stats: PartStats, log: Logger): OutputAttachment {
    if (this.#outputs.has(name)) throw new Error(`an output named ${JSON.stringify(name)} exists already`);
    const a = new OutputAttachment(
      name,
      output,
      {
        inputs: opts.inputs,
        streams: opts.streams,
        whenFull: opts.whenFull ?? "block",
        queueRecords: opts.queueRecords ?? 10_000,
        queueBytes: opts.queueBytes ?? 64 * 1024 * 1024,
        batchRecords: opts.batchRecords ?? 1000,
      },
      stats,
      log,
    );
    this.#outputs.set(name, a);
    this.bus.attach(a);
    a.start();
    return a;
  }

  #startInput(name: string, type: string, input: Input): void {
    if (this.#inputs.has(name)) throw new Error(`an input named ${JSON.stringify(name)} exists already`);
    const stats = new PartStats("input", name, type);
    const abort = new AbortController();
    const log = this.log.child(`input.${name}`);
    const rejects = new RecordRejects(stats, log);
    const ctx: InputContext = {
      name,
      // Records beyond the codecs' limits are counted and left out here, so one cannot cost its batch downstream.
      emit: (records, onAccepted) => this.bus.emit(rejects.admit(records), onAccepted),
      resume: (marks) => this.#resume(name, marks, log),
      signal: abort.signal,
      log,
      stats,
      checkpoints: this.#checkpoints,
      http: this.http,
      token: this.#plan.daemon.token ?? "",
    };
    const running: RunningInput = { name, stats, abort, done: Promise.resolve(), finished: false };
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
        await a?.output.rewind?.(mark, name);
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
   * Stops cleanly: `/health` turns 503, inputs stop (and save their last
   * accepted checkpoints), queues drain, outputs flush and close, the HTTP
   * server closes. Each phase is bounded by `stop_timeout`. Safe to call twice.
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
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
