/**
 * What the daemon runs: the validated `[daemon]` table and parts, as `config/`
 * produces them (a {@linkcode DaemonPlan}), and what a reload does to them.
 * The tables' types and defaults come from their schemas in `config/schema.ts`.
 *
 * @module
 */
import { isDeepStrictEqual } from "node:util";
import { daemonSchema, outputCommonSchema } from "../config/schema.ts";
import type { DaemonConfig, InputCommon, OutputCommon } from "../config/types.ts";
import type { TransportDefinition } from "./transport.ts";
import type { AttachOptions } from "./bus.ts";

/** A validated input table of any transport: the common input keys and the transport's own. */
export type InputTable = InputCommon & Record<string, unknown>;
/** A validated output table of any transport: the common output keys and the transport's own. */
export type OutputTable = OutputCommon & Record<string, unknown>;

/** One configured input or output. */
export interface PartPlan<C extends InputCommon = InputTable> {
  /** Transport type (the `<type>` of its table). */
  type: string;
  /** Unique name (given, or `<type><index>`). */
  name: string;
  /** Index among the tables of its type (absent for a part a program built). */
  index?: number;
  /** The validated table, defaults filled in. */
  config: C;
  /** The transport that builds it. */
  transport: TransportDefinition;
}

/**
 * The `[daemon]` table of a plan. A program may leave out what it does not
 * need; the daemon fills the rest from {@linkcode daemonSchema}'s defaults.
 */
export type DaemonTable = Pick<DaemonConfig, "http" | "data_dir" | "stop_timeout"> & Partial<DaemonConfig>;

/** What the daemon runs. */
export interface DaemonPlan {
  /** The `[daemon]` table. */
  daemon: DaemonTable;
  /** Inputs to start. */
  inputs: PartPlan[];
  /** Outputs to start (their tables carry the common output keys: inputs, streams, when_full, …). */
  outputs: PartPlan<OutputTable>[];
}

/** The `[daemon]` table with every key the plan left out (or left undefined) at its schema default. */
export function fullDaemonTable(d: DaemonTable): DaemonConfig {
  const full: Record<string, unknown> = { ...DAEMON_DEFAULTS };
  for (const [k, v] of Object.entries(d)) if (v !== undefined) full[k] = v;
  return full as DaemonConfig;
}
const DAEMON_DEFAULTS: DaemonConfig = daemonSchema.parse({});

/** Options for an output attached by a program; each defaults as the common output key of its name. */
export interface AddOutputOptions {
  /** Input names (`inputs`; default: all). */
  inputs?: string[];
  /** Stream globs (`streams`; default: all). */
  streams?: string[];
  /** Queue policy (`when_full`). */
  whenFull?: OutputCommon["when_full"];
  /** Queue bound in records (`queue_records`). */
  queueRecords?: number;
  /** Queue bound in bytes (`queue_bytes`). */
  queueBytes?: number;
  /** Most records per write (`batch_records`). */
  batchRecords?: number;
}

const OUTPUT_DEFAULTS: OutputCommon = outputCommonSchema.parse({});

/**
 * The queue and selection settings of an output's table. A key the table lacks takes the common key's default: a
 * transport whose schema leaves out the common keys (a hand-made one; the shipped ones spread `outputCommon`) would
 * otherwise get batches of `undefined` records, and the bus would spin on empty writes.
 */
export function attachOptions(c: OutputCommon): AttachOptions {
  return {
    inputs: c.inputs,
    streams: c.streams,
    whenFull: c.when_full ?? OUTPUT_DEFAULTS.when_full,
    queueRecords: c.queue_records ?? OUTPUT_DEFAULTS.queue_records,
    queueBytes: c.queue_bytes ?? OUTPUT_DEFAULTS.queue_bytes,
    batchRecords: c.batch_records ?? OUTPUT_DEFAULTS.batch_records,
    processors: c.processors,
  };
}

/** The settings of an output a program attached, what it left out at the common keys' defaults. */
export function programAttachOptions(opts: AddOutputOptions): AttachOptions {
  return attachOptions({
    ...OUTPUT_DEFAULTS,
    inputs: opts.inputs,
    streams: opts.streams,
    when_full: opts.whenFull ?? OUTPUT_DEFAULTS.when_full,
    queue_records: opts.queueRecords ?? OUTPUT_DEFAULTS.queue_records,
    queue_bytes: opts.queueBytes ?? OUTPUT_DEFAULTS.queue_bytes,
    batch_records: opts.batchRecords ?? OUTPUT_DEFAULTS.batch_records,
  });
}

/** What a reload does to the parts of one kind. */
export interface PartDiff<C extends InputCommon> {
  /** Parts left running untouched. */
  kept: PartPlan<C>[];
  /** Parts restarted with a new table. */
  changed: [before: PartPlan<C>, after: PartPlan<C>][];
  /** Parts started. */
  added: PartPlan<C>[];
  /** Parts stopped. */
  removed: PartPlan<C>[];
}

/** Compares running parts with wanted ones: the same type, name and table (deep-equal) is kept. */
export function diffParts<C extends InputCommon>(
  running: PartPlan<C>[],
  wanted: PartPlan<C>[],
  sameDataDir: boolean,
): PartDiff<C> {
  const d: PartDiff<C> = { kept: [], changed: [], added: [], removed: [] };
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

/** The TLS files of a `[daemon]` table, as the HTTP server takes them. */
export function tlsOf(d: DaemonConfig): { certFile: string; keyFile: string } | undefined {
  return d.tls_cert ? { certFile: d.tls_cert, keyFile: d.tls_key } : undefined;
}
