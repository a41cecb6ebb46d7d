/**
 * The running parts of a daemon: inputs and outputs built from their tables
 * (or added by a program), attached to the bus with their HTTP routes, and
 * the steps that start, reopen and close one of them. `Daemon` and its reload
 * (`reload.ts`) drive these; nothing here decides when.
 *
 * @module
 */
import { type AttachOptions, type Bus, OutputAttachment } from "./bus.ts";
import { PartStats } from "./stats.ts";
import { RecordRejects } from "./reject.ts";
import type { Logger } from "./log.ts";
import { type HttpServer, PartRoutes } from "./http.ts";
import type { FileCheckpointStore } from "./checkpoint.ts";
import type { Input, InputContext, Output, OutputContext } from "./transport.ts";
import { attachOptions, type OutputTable, type PartPlan, tlsOf } from "./plan.ts";
import type { DaemonConfig } from "../config/types.ts";
import { within } from "./async.ts";
import { ProcessorChain } from "../processors/chain.ts";
import type { ProcessorConfig } from "../processors/schema.ts";
import type { AckToken, BusRecord } from "./record.ts";
import { CommandRegistry } from "./commands.ts";

/** An input that runs (or ran): its counters, how to stop it, and when it has. */
export interface RunningInput {
  /** Its name. */
  name: string;
  /** Its counters. */
  stats: PartStats;
  /** Aborted to stop it. */
  abort: AbortController;
  /** Resolves once it has stopped. */
  done: Promise<void>;
  /** True once it has stopped. */
  finished: boolean;
  /** Its routes on the HTTP server, removed when it stops before the daemon does. */
  routes: PartRoutes;
  /** Its table; undefined for an input the program added. */
  plan?: PartPlan;
}

/** An output of the plan (not one a program added): its table and its routes. */
export interface PlannedOutput {
  /** Its table. */
  plan: PartPlan<OutputTable>;
  /** Its routes on the HTTP server. */
  routes: PartRoutes;
}

/** The running parts of one daemon. */
export class Parts {
  /** Running inputs by name. */
  readonly inputs: Map<string, RunningInput> = new Map();
  /** Outputs on the bus by name (planned, added by a program, and subscriptions). */
  readonly outputs: Map<string, OutputAttachment> = new Map();
  /** The outputs of the plan, by name. */
  readonly planned: Map<string, PlannedOutput> = new Map();
  /** The commands inputs offer and outputs may call (daemon-wide; outlives reloads). */
  readonly commands: CommandRegistry = new CommandRegistry();

  /**
   * @param bus the daemon's bus
   * @param http the daemon's HTTP server
   * @param log the daemon's logger
   * @param checkpoints where inputs keep their checkpoints (a reload to another `data_dir` swaps it)
   * @param daemon the running `[daemon]` table
   * @param inputFinished called when an input ends by itself
   */
  constructor(
    readonly bus: Bus,
    readonly http: HttpServer,
    readonly log: Logger,
    public checkpoints: FileCheckpointStore,
    readonly daemon: () => DaemonConfig,
    readonly inputFinished: () => void,
  ) {}

  /** Counters of every input and output. */
  get stats(): PartStats[] {
    return [...[...this.inputs.values()].map((i) => i.stats), ...[...this.outputs.values()].map((o) => o.stats)];
  }

  /** Creates the output of a table; the routes it registered go again when that fails. */
  async createOutput(
    o: PartPlan<OutputTable>,
    d: DaemonConfig,
    stats: PartStats,
    log: Logger,
  ): Promise<[Output, PartRoutes]> {
    const routes = new PartRoutes(this.http);
    const ctx: OutputContext = {
      name: o.name,
      log,
      stats,
      dataDir: d.data_dir,
      http: routes,
      parts: () => this.stats,
      token: d.token,
      tls: tlsOf(d),
      commands: this.commands,
    };
    try {
      return [await o.transport.output!.create(o.config, ctx), routes];
    } catch (e) {
      routes.release();
      throw e;
    }
  }

  /** Creates an output of the plan and attaches it. */
  async startOutput(o: PartPlan<OutputTable>, d: DaemonConfig): Promise<void> {
    if (this.outputs.has(o.name)) throw new Error(`an output named ${JSON.stringify(o.name)} exists already`);
    const stats = new PartStats("output", o.name, o.type);
    const log = this.log.child(`output.${o.name}`);
    const [output, routes] = await this.createOutput(o, d, stats, log);
    this.attach(o.name, output, attachOptions(o.config), stats, log);
    this.planned.set(o.name, { plan: o, routes });
  }

  /**
   * Creates and starts an input of the plan. `rewindOnly`: the outputs it may ask to cut back to its checkpoint
   * (a reload restarts it: the outputs that ran on already hold exactly what its last checkpoint covers).
   */
  async startPlannedInput(i: PartPlan, d: DaemonConfig, stats?: PartStats, rewindOnly?: Set<string>): Promise<void> {
    if (this.inputs.has(i.name)) throw new Error(`an input named ${JSON.stringify(i.name)} exists already`);
    stats ??= new PartStats("input", i.name, i.type);
    const input = await i.transport.input!.create(i.config, {
      log: this.log.child(`input.${i.name}`),
      dataDir: d.data_dir,
      stats,
      token: d.token,
    });
    this.startInput(i.name, i.type, input, i, stats, d.token, rewindOnly);
  }

  /** Puts an output on the bus behind its own queue, and starts feeding it. */
  attach(name: string, output: Output, opts: AttachOptions, stats: PartStats, log: Logger): OutputAttachment {
    if (this.outputs.has(name)) throw new Error(`an output named ${JSON.stringify(name)} exists already`);
    const a = new OutputAttachment(name, output, opts, stats, log);
    this.outputs.set(name, a);
    this.bus.attach(a);
    a.start();
    return a;
  }

  /** Runs an input with its context until it ends or is aborted. */
  startInput(
    name: string,
    type: string,
    input: Input,
    plan?: PartPlan,
    reuseStats?: PartStats,
    token: string = this.daemon().token,
    rewindOnly?: Set<string>,
  ): void {
    if (this.inputs.has(name)) throw new Error(`an input named ${JSON.stringify(name)} exists already`);
    const stats = reuseStats ?? new PartStats("input", name, type);
    const abort = new AbortController();
    const log = this.log.child(`input.${name}`);
    const rejects = new RecordRejects(stats, log);
    const routes = new PartRoutes(this.http);
    const configs = plan?.config.processors as readonly ProcessorConfig[] | undefined;
    // Records a processor releases later (a throttle's held record, an aggregate) carry their groups already.
    const chain = configs?.length ? new ProcessorChain(configs, (rs) => void this.bus.emitHeld(rs)) : undefined;
    stats.processors = chain?.stats ?? [];
    const ctx: InputContext = {
      name,
      // Records beyond the codecs' limits are counted and left out here, so one cannot cost its batch downstream.
      emit: chain
        ? (records, onAccepted) => this.#emitThrough(chain, rejects.admit(records), onAccepted)
        : (records, onAccepted) => this.bus.emit(rejects.admit(records), onAccepted),
      resume: (marks) =>
        this.#resume(
          name,
          rewindOnly ? Object.fromEntries(Object.entries(marks).filter(([o]) => rewindOnly.has(o))) : marks,
          log,
        ),
      signal: abort.signal,
      log,
      stats,
      checkpoints: this.checkpoints,
      http: routes,
      token,
      commands: this.commands,
    };
    // Stopping: what the processors hold goes on now, so that an input waiting for its records' acceptance (to
    // save its checkpoint) does not wait for a throttle's interval or an aggregate's window.
    if (chain) abort.signal.addEventListener("abort", () => chain.close(true), { once: true });
    const running: RunningInput = { name, stats, abort, done: Promise.resolve(), finished: false, routes, plan };
    running.done = (async () => {
      try {
        await input.run(ctx);
      } catch (e) {
        stats.errors++;
        log.error("input failed", { error: e });
      } finally {
        // What the processors hold goes on before the input counts as stopped (and the outputs close).
        chain?.close(true);
        running.finished = true;
        if (!abort.signal.aborted) this.inputFinished();
      }
    })();
    this.inputs.set(name, running);
  }

  /**
   * Emits an input's records through its processors. Each record holds one count of the batch's group while the
   * processors have it (see `processors/processor.ts`): `onAccepted` runs once the outputs accepted what was passed
   * on and the processors gave back what they left out (or, for what they hold, once that is accepted).
   */
  #emitThrough(chain: ProcessorChain, records: BusRecord[], onAccepted?: () => void): Promise<void> | void {
    let token: AckToken | undefined;
    if (onAccepted) {
      // One more count than records, so that the group cannot finish before every record was handed on.
      token = { pending: records.length + 1, done: onAccepted };
      for (let i = 0; i < records.length; i++) records[i].ack = token;
    }
    const p = this.bus.emitHeld(chain.process(records));
    if (token && --token.pending === 0) token.done();
    return p;
  }

  /** Hands each output its mark from input `name`'s checkpoint (see `InputContext.resume`). */
  async #resume(name: string, marks: Record<string, unknown>, log: Logger): Promise<void> {
    for (const [output, mark] of Object.entries(marks)) {
      const a = this.outputs.get(output);
      try {
        await a?.output?.rewind?.(mark, name);
      } catch (e) {
        a!.stats.errors++;
        log.error("output could not rewind to the checkpoint; its records after it may repeat", { output, error: e });
      }
    }
  }

  /**
   * Opens the output of `p` behind the paused attachment `a` again (a reload
   * undone). When that fails too, the part is given up: its records must not
   * pile up (or hold the inputs back) behind an output that is gone, so they
   * are dropped and counted (`write_error`), and the error is thrown.
   */
  async reopen(a: OutputAttachment, p: PartPlan<OutputTable>, d: DaemonConfig): Promise<void> {
    a.clearOutputGauges();
    try {
      const [output, routes] = await this.createOutput(p, d, a.stats, a.log);
      a.resume(output, attachOptions(p.config));
      a.start();
      this.planned.set(p.name, { plan: p, routes });
    } catch (e) {
      this.planned.delete(p.name);
      this.bus.detach(a);
      this.outputs.delete(p.name);
      const gone = new Error(`output ${p.name} could not be started again after a failed reload`);
      a.resume({ write: () => Promise.reject(gone), close: () => Promise.resolve() });
      a.drainAndClose().catch(() => {});
      throw e;
    }
  }

  /** Closes the output behind a paused attachment (bounded by `stop_timeout`; a failure is counted and logged). */
  async closeOutput(a: OutputAttachment): Promise<void> {
    const closing = a.output?.close().catch((e) => {
      a.stats.errors++;
      a.log.error("close failed", { error: e });
    });
    const limit = this.daemon().stop_timeout;
    if (closing && !await within(closing, limit)) {
      a.log.warn("output did not close in time", { timeout_ms: limit });
    }
  }
}
