/**
 * A reload applied part by part (see `Daemon.reload`): parts whose type, name
 * and table are unchanged keep running; each step that changes something
 * records how to take it back, and a failure takes every step back.
 *
 * @module
 */
import { join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { OutputAttachment } from "./bus.ts";
import type { PartStats } from "./stats.ts";
import { FileCheckpointStore } from "./checkpoint.ts";
import type { Parts, PlannedOutput } from "./parts.ts";
import { attachOptions, diffParts, type OutputTable, type PartDiff, type PartPlan, tlsOf } from "./plan.ts";
import type { DaemonConfig, InputCommon } from "../config/types.ts";
import { within } from "./async.ts";

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

/** A plan with its `[daemon]` table complete, as a reload compares them. */
export interface FullPlan {
  /** The `[daemon]` table. */
  daemon: DaemonConfig;
  /** Inputs. */
  inputs: PartPlan[];
  /** Outputs. */
  outputs: PartPlan<OutputTable>[];
}

/** `true` unless the address turns the HTTP server off. */
export function httpOn(addr: string): boolean {
  return addr !== "" && addr !== "off";
}

/** The message of an error, or the thing itself as text. */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Applies `next` over `prev` to the running `parts`. `record` counts the
 * outcome (before it is logged, so that whoever reads the log line finds it in
 * `/health` already); the caller makes `next` the running plan on `ok`.
 */
export async function reloadParts(
  parts: Parts,
  prev: FullPlan,
  next: FullPlan,
  record: (r: Omit<ReloadResult, "time">) => ReloadResult,
): Promise<ReloadResult> {
  const { bus, http, log } = parts;
  const limit = prev.daemon.stop_timeout;
  const dataDir = next.daemon.data_dir;
  const sameDir = prev.daemon.data_dir === dataDir;
  // Parts get the data folder and the token when they are created: when either changes, every part restarts.
  const sameContext = sameDir && prev.daemon.token === next.daemon.token;
  const ins = diffParts(
    [...parts.inputs.values()].flatMap((i) => i.plan ? [i.plan] : []),
    next.inputs,
    sameContext,
  );
  const outs = diffParts([...parts.planned.values()].map((o) => o.plan), next.outputs, sameContext);
  const names = <C extends InputCommon>(kind: string, d: PartDiff<C>) => ({
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
  log.info("reloading", {
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
      if (addr === prev.daemon.http && http.addr) {
        // The same address with other TLS files: the old listener goes first, and comes back when the new fails.
        const oldTls = tlsOf(prev.daemon);
        await http.switchTo(undefined, oldTls);
        try {
          listener = http.bindNext(addr, tls);
        } catch (e) {
          http.listen(addr);
          throw new Error(`[daemon] http ${addr}: ${errorText(e)}`);
        }
        undo.push(async () => {
          await listener?.shutdown();
          listener = undefined;
          http.listen(addr);
        });
      } else {
        try {
          listener = http.bindNext(addr, tls);
        } catch (e) {
          throw new Error(`[daemon] http ${addr}: ${errorText(e)}`);
        }
      }
    }
    if (!sameDir) await Deno.mkdir(dataDir, { recursive: true });

    // 2. Inputs removed or changed stop; each saves its last accepted checkpoint once its records are written.
    const stoppedStats = new Map<string, PartStats>();
    for (const p of [...ins.removed, ...ins.changed.map(([p]) => p)]) {
      const i = parts.inputs.get(p.name)!;
      i.abort.abort();
      if (!await within(i.done, limit)) log.warn("input did not stop in time", { input: p.name });
      i.routes.release();
      parts.inputs.delete(p.name);
      stoppedStats.set(p.name, i.stats);
      const checkpoints = parts.checkpoints;
      undo.push(async () => {
        const now = parts.checkpoints;
        parts.checkpoints = checkpoints;
        try {
          await parts.startPlannedInput(p, prev.daemon, i.stats, new Set());
        } finally {
          parts.checkpoints = now;
        }
      });
    }

    // 3. Outputs removed: a paused stand-in takes their place on the bus, they drain and close.
    for (const p of outs.removed) {
      const a = parts.outputs.get(p.name)!;
      const standIn = new OutputAttachment(p.name, undefined, a.options, a.stats, a.log);
      bus.replace(a, standIn);
      parts.outputs.set(p.name, standIn);
      standIns.push(standIn);
      if (!await within(a.drainAndClose(), limit)) {
        log.warn("output did not drain in time", { output: p.name, records: a.queue.length });
      }
      parts.planned.get(p.name)!.routes.release();
      parts.planned.delete(p.name);
      undo.push(async () => {
        // Back in service with its old table: it gets the records that waited in the stand-in.
        standIns.splice(standIns.indexOf(standIn), 1);
        await parts.reopen(standIn, p, prev.daemon);
      });
    }

    // 4. Outputs changed: their queue stays on the bus, the old output finishes its write and closes, the new opens.
    for (const [before, after] of outs.changed) {
      const a = parts.outputs.get(before.name)!;
      const planned = parts.planned.get(before.name)!;
      if (!await within(a.pause(), limit)) {
        a.resume();
        throw new Error(`output ${before.name}: its write did not end within ${limit} ms`);
      }
      await parts.closeOutput(a);
      planned.routes.release();
      // From here on, undoing means opening the old output again behind the same queue.
      const swapped: { to?: PlannedOutput } = {};
      undo.push(async () => {
        if (swapped.to) {
          await within(a.pause(), limit);
          await parts.closeOutput(a);
          swapped.to.routes.release();
        }
        await parts.reopen(a, before, prev.daemon);
      });
      a.clearOutputGauges();
      const [output, routes] = await parts.createOutput(after, next.daemon, a.stats, a.log);
      swapped.to = { plan: after, routes };
      parts.planned.set(before.name, swapped.to);
      a.resume(output, attachOptions(after.config));
    }

    // 5. Outputs added.
    for (const p of outs.added) {
      await parts.startOutput(p, next.daemon);
      undo.push(async () => {
        const a = parts.outputs.get(p.name)!;
        bus.detach(a);
        parts.outputs.delete(p.name);
        await within(a.drainAndClose(), limit);
        parts.planned.get(p.name)?.routes.release();
        parts.planned.delete(p.name);
      });
    }

    // 6. Inputs changed and added start (a changed one resumes from its checkpoint).
    const checkpoints = parts.checkpoints;
    if (!sameDir) {
      parts.checkpoints = new FileCheckpointStore(join(dataDir, "checkpoints"));
      undo.push(() => Promise.resolve(void (parts.checkpoints = checkpoints)));
    }
    // Only outputs opened by this reload may need cutting back to a restarted input's checkpoint.
    const fresh = new Set([...outs.changed.map(([, after]) => after.name), ...outs.added.map((p) => p.name)]);
    for (const p of [...ins.changed.map(([, after]) => after), ...ins.added]) {
      // A changed input counts on where it left off.
      await parts.startPlannedInput(p, next.daemon, stoppedStats.get(p.name), fresh);
      undo.push(async () => {
        const i = parts.inputs.get(p.name)!;
        i.abort.abort();
        await within(i.done, limit);
        i.routes.release();
        parts.inputs.delete(p.name);
      });
    }
  } catch (e) {
    const error = errorText(e);
    log.warn("reload: cannot apply the new configuration; undoing it", { error });
    for (const step of undo.reverse()) {
      try {
        await step();
      } catch (e2) {
        log.error("reload: a part could not be put back", { error: e2 });
      }
    }
    await listener?.shutdown();
    const failed = record({ result: "failed", error, ...summary });
    log.error("reload failed: the running configuration was put back", { error });
    return failed;
  }

  // 7. Commit: the new listener replaces the old, the stand-ins of removed outputs let their records go.
  if (listenerChanges) {
    await http.switchTo(listener, tls);
    if (listener) log.info("listening", { url: http.url });
  }
  http.setAccess({
    token: next.daemon.token,
    corsOrigins: next.daemon.cors_origins,
    maxRequestBytes: next.daemon.max_request_bytes,
  });
  for (const s of standIns) {
    bus.detach(s);
    if (parts.outputs.get(s.name) === s) parts.outputs.delete(s.name);
    await s.discard();
  }
  const result = record({ result: "ok", ...summary });
  log.info("reloaded", {
    inputs: parts.inputs.size,
    outputs: parts.outputs.size,
    kept: summary.kept.length,
    changed: summary.changed.length,
    added: summary.added.length,
    removed: summary.removed.length,
  });
  return result;
}
