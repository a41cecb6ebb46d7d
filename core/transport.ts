/**
 * The small interfaces a transport implements, and the contexts the daemon
 * hands to them. `core/` knows these shapes, never a transport.
 *
 * @module
 */
import type { BusRecord, OutputMarks } from "./record.ts";
import type { Logger } from "./log.ts";
import type { PartStats } from "./stats.ts";
import type { CheckpointStore } from "./checkpoint.ts";
import type { HttpRoutes } from "./http.ts";
import type { CommandRegistry } from "./commands.ts";
import type { PermissionContext, PermissionNeeds } from "./permissions.ts";
import type { InputCommon, OutputCommon } from "../config/types.ts";

/** What an input gets from the daemon. */
export interface InputContext {
  /** The input's configured name (also the records' `source`). */
  readonly name: string;
  /**
   * Puts records on the bus. Returns a promise when an output with
   * `when_full = "block"` is full: await it to apply back-pressure.
   * `onAccepted` runs once every selecting output has made the records durable
   * (or dropped them by its policy): the moment to save a checkpoint or ack.
   * By then the records' `ack.marks` hold the outputs' marks (see `AckToken.marks`): saved with the checkpoint
   * and handed to {@linkcode InputContext.resume} on the next start, they let those outputs cut what they
   * wrote after it.
   */
  emit(records: BusRecord[], onAccepted?: () => void): Promise<void> | void;
  /**
   * Tells the outputs named in `marks` that this input resumes from the checkpoint saved with them: each
   * output that can (see {@linkcode Output.rewind}) cuts what it wrote after its mark, since those records
   * come again. Call it before the first `emit`; it resolves once every such output is done.
   */
  resume?(marks: OutputMarks): Promise<void>;
  /** Aborted when the input must stop. */
  readonly signal: AbortSignal;
  /** Logger of this input. */
  readonly log: Logger;
  /** Counters of this input, shown in `/metrics`. */
  readonly stats: PartStats;
  /** Persistent checkpoints in the daemon's `data_dir`. */
  readonly checkpoints: CheckpointStore;
  /** The daemon's HTTP server, for inputs that accept data over HTTP. */
  readonly http: HttpRoutes;
  /** The daemon's `token` (empty: none): inputs with listeners of their own must ask peers for it too. */
  readonly token?: string;
  /** The daemon's callable commands, for inputs that offer a device's commands to the other parts. */
  readonly commands?: CommandRegistry;
}

/** A running input: produces records until its context's signal aborts. */
export interface Input {
  /** Runs until `ctx.signal` aborts or the source ends; resolves when fully stopped. */
  run(ctx: InputContext): Promise<void>;
}

/** What an output gets from the daemon. */
export interface OutputContext {
  /** The output's configured name. */
  readonly name: string;
  /** Logger of this output. */
  readonly log: Logger;
  /** Counters of this output, shown in `/metrics`. */
  readonly stats: PartStats;
  /** The daemon's data directory. */
  readonly dataDir: string;
  /** The daemon's HTTP server, for outputs that serve clients. */
  readonly http: HttpRoutes;
  /** Counters of every input and output of the daemon, for outputs that report on it (GraphQL, dashboards). */
  readonly parts?: () => readonly PartStats[];
  /** The daemon's `token` (empty: none): outputs with listeners of their own must ask peers for it too. */
  readonly token?: string;
  /** The daemon's `tls_cert`/`tls_key`, if set: outputs with listeners of their own may serve TLS with them too. */
  readonly tls?: { certFile: string; keyFile: string };
  /** The daemon's callable commands, for outputs that let their clients call them. */
  readonly commands?: CommandRegistry;
}

/** A running output: takes batches in order. */
export interface Output {
  /**
   * Writes a batch. When the promise resolves the records count as accepted
   * (durable as far as the output's own policy promises). A rejection counts
   * the batch as dropped (reason `write_error`) and acknowledges it, so a
   * broken output cannot stall checkpoints forever. The bus counts records
   * written (unless {@linkcode Output.countsRecords}); the output counts its
   * bytes and its own errors.
   */
  write(records: BusRecord[]): Promise<void> | void;
  /**
   * True when the output counts `stats.records` itself, as its destination
   * confirms them: an output that may spool or buffer after `write` resolves
   * (InfluxDB) would otherwise report records as written that are not.
   */
  readonly countsRecords?: boolean;
  /** Flushes and releases everything; called once after the last `write`. */
  close(): Promise<void>;
  /**
   * Optional: input `source` resumes from a checkpoint saved with this output's `mark` (which the output put
   * on the records' `ack.marks`). The output drops what it wrote after the mark, if it can prove that only
   * records of `source` after that checkpoint came after it; otherwise it keeps everything (they repeat).
   */
  rewind?(mark: unknown, source: string): Promise<void>;
}

/** What an input's factory gets besides its validated table. */
export interface InputCreateContext {
  /** The input's logger. */
  log: Logger;
  /** The daemon's data directory. */
  dataDir: string;
  /** The counters the input will have (a server that binds at creation counts refused peers there). */
  stats?: PartStats;
  /** The daemon's `token` (empty: none), for a server that binds at creation. */
  token?: string;
}

/** One problem a schema found in a table. */
export interface SchemaIssue {
  /** Where in the table. */
  path: readonly PropertyKey[];
  /** What is wrong. */
  message: string;
  /** `unrecognized_keys`, `invalid_type` (missing or mistyped), or the check that failed (`min_value`, …). */
  code?: string;
  /** With `unrecognized_keys`: every unknown key of the table at `path`. */
  keys?: readonly string[];
}

/**
 * The schema of one `[[inputs.<type>]]` / `[[outputs.<type>]]` table: a
 * valibot object schema (`v.strictObject`, spreading `inputCommon` or
 * `outputCommon` of `config/schema.ts`) wrapped by `table()`, which validates
 * and fills defaults, and whose descriptions (`described()`) are the option
 * docs (README tables, `telebus transports TYPE`, the JSON Schema). Only what
 * the loader calls is named here, so the library's API names no valibot type.
 */
export interface TableSchema<C> {
  /** Validates a table and fills its defaults; throws on a problem. */
  parse(value: unknown): C;
  /** Validates a table and fills its defaults; never throws. */
  safeParse(value: unknown): { success: true; data: C } | {
    success: false;
    error: { issues: readonly SchemaIssue[] };
  };
}

/** What a table's schema produces. */
export type Parsed<S> = S extends TableSchema<infer C> ? C : never;

/** The input side of a transport: one `[[inputs.<type>]]` table's schema, its factory and its permissions. */
export interface InputSide<C extends InputCommon = InputCommon> {
  /** Schema of one `[[inputs.<type>]]` table. */
  readonly schema: TableSchema<C>;
  /** Creates the input from its validated table. */
  create(config: C, ctx: InputCreateContext): Input | Promise<Input>;
  /** What one such input needs from Deno's permissions, for `telebus permissions` (required: no silent guess). */
  permissions(config: C, needs: PermissionNeeds, ctx: PermissionContext): void;
}

/** The output side of a transport: one `[[outputs.<type>]]` table's schema, its factory and its permissions. */
export interface OutputSide<C extends OutputCommon = OutputCommon> {
  /** Schema of one `[[outputs.<type>]]` table (it spreads the common output keys of `config/schema.ts`). */
  readonly schema: TableSchema<C>;
  /** Creates the output from its validated table. */
  create(config: C, ctx: OutputContext): Output | Promise<Output>;
  /** What one such output needs from Deno's permissions, for `telebus permissions` (required: no silent guess). */
  permissions(config: C, needs: PermissionNeeds, ctx: PermissionContext): void;
  /** Checks the validated table against the `[daemon]` table when the configuration is loaded. */
  checkDaemon?(config: C, daemon: { token: string }): DaemonCheckProblem | undefined;
}

/**
 * What a transport module exports as `transport`: everything telebus knows of
 * it. The registry line in `transports/mod.ts` and this definition are all it
 * takes: the config loader, the daemon, `telebus check`, `telebus permissions`,
 * `telebus transports` and `deno task docs` read nothing else.
 */
export interface TransportDefinition {
  /** The type name used in `[[inputs.<type>]]` / `[[outputs.<type>]]`. */
  readonly type: string;
  /** One line on what it does, for `telebus transports` and the README's table of transports. */
  readonly description: string;
  /** The input side, if the transport has one. */
  readonly input?: InputSide;
  /** The output side, if the transport has one. */
  readonly output?: OutputSide;
}

/**
 * Declares a transport, checking that each side's factory and permission rule
 * take what its schema produces (their parameters are typed from the schema).
 */
export function defineTransport<
  SI extends TableSchema<InputCommon> = TableSchema<InputCommon>,
  SO extends TableSchema<OutputCommon> = TableSchema<OutputCommon>,
>(
  definition: {
    /** See {@linkcode TransportDefinition.type}. */
    readonly type: string;
    /** See {@linkcode TransportDefinition.description}. */
    readonly description: string;
    /** See {@linkcode TransportDefinition.input}. */
    readonly input?: InputSide<Parsed<SI>> & { readonly schema: SI };
    /** See {@linkcode TransportDefinition.output}. */
    readonly output?: OutputSide<Parsed<SO>> & { readonly schema: SO };
  },
): TransportDefinition {
  return definition;
}

/** A problem a part's table has given the `[daemon]` table (e.g. a public listener while a token is set). */
export interface DaemonCheckProblem {
  /** The key of the part's table the problem is reported at. */
  key: string;
  /** What is wrong and how to fix it. */
  message: string;
}

/** Maps a type name to a loader of its transport module (a literal dynamic import). */
export type TransportRegistry = Record<string, () => Promise<{ transport: TransportDefinition }>>;
