/**
 * `telebus run --config F` (the default command) and `telebus check --config F`.
 *
 * @module
 */
import { loadConfigFile } from "../config/load.ts";
import { ConfigError } from "../config/errors.ts";
import { transports } from "../transports/mod.ts";
import type { TransportRegistry } from "../core/transport.ts";
import { Daemon } from "../core/daemon.ts";
import { createLogger, stderrSink } from "../core/log.ts";
import { loadConfigOrReport, parseOrUsage } from "./args.ts";

const RUN_USAGE = `usage: telebus [run] --config FILE [--http HOST:PORT]

Runs the daemon: every configured input and output, until SIGINT or SIGTERM.
SIGHUP reloads the configuration: only the parts whose tables changed restart; a bad
configuration, or one that cannot start, is logged and the running one kept.
  -c, --config FILE   the TOML configuration (default: telemetry.toml)
      --http ADDR     override [daemon].http (host:port, or "off")`;

/** Signals closer together than this are one (see `onSignal`); a later one exits without draining. */
const SAME_SIGNAL_MS = 500;

const CHECK_USAGE = `usage: telebus check --config FILE

Validates a configuration without starting anything. Exit 0 when valid, 1 otherwise.`;

/** `telebus run`: runs the daemon until a signal; returns the exit code. */
export async function runCommand(args: string[]): Promise<number> {
  const p = parseOrUsage(args, {
    config: { type: "string", short: "c" },
    http: { type: "string" },
    help: { type: "boolean", short: "h" },
  }, RUN_USAGE);
  if (!p) return 2;
  if (p.values.help) {
    console.log(RUN_USAGE);
    return 0;
  }
  const file = (p.values.config as string | undefined) ?? p.positionals[0] ?? "telemetry.toml";
  const config = await loadConfigOrReport(file);
  if (!config) return 1;
  if (p.values.http) config.daemon.http = p.values.http as string;
  if (!Deno.env.get("TELEBUS_LOG")) stderrSink.level = config.daemon.log_level;
  const log = createLogger("telebus");
  log.info("starting", { config: file, inputs: config.inputs.length, outputs: config.outputs.length });
  const daemon = new Daemon(config, log);
  let signals = 0;
  let stopRequested = false;
  let reloading: Promise<void> | undefined;
  let firstSignalAt = 0;
  const onSignal = (sig: Deno.Signal) => () => {
    // One Ctrl-C reaches the daemon twice when it runs under npm or deno task: from the terminal
    // and forwarded by the wrapper, milliseconds apart. Signals that close together count as one.
    if (signals > 0 && performance.now() - firstSignalAt < SAME_SIGNAL_MS) return;
    if (signals === 0) firstSignalAt = performance.now();
    if (++signals > 1) {
      log.warn("second signal: exiting without draining", { signal: sig });
      Deno.exit(1);
    }
    stopRequested = true;
    log.info("signal received: stopping", { signal: sig });
    daemon.stop();
  };
  // SIGHUP: re-read and validate the config; when it is valid (and this process has the permissions it needs), the
  // daemon applies it part by part and keeps the running configuration if anything fails (see Daemon.reload).
  const reload = async () => {
    log.info("SIGHUP: reloading the configuration", { config: file });
    let next;
    try {
      next = await loadConfigFile(file, { registry: transports });
      if (p.values.http) next.daemon.http = p.values.http as string;
      const { permissionNeeds, missingPermissions } = await import("./permissions.ts");
      const missing = missingPermissions(await permissionNeeds(next));
      if (missing.length > 0) {
        // Counted before it is logged: whoever reads the log line finds it in /health already.
        daemon.reloadRefused(`permissions missing: ${missing.join(", ")}`);
        log.error("reload refused: the new configuration needs permissions this process lacks; keeping the old one", {
          missing: missing.join(", "),
        });
        return;
      }
    } catch (e) {
      const error = e instanceof ConfigError ? e.message : e;
      daemon.reloadRefused(error);
      log.error("reload failed: keeping the running configuration", { error });
      return;
    }
    if (stopRequested) return;
    const result = await daemon.reload(next);
    if (result.result === "ok" && !Deno.env.get("TELEBUS_LOG")) stderrSink.level = next.daemon.log_level;
  };
  const onHangup = () => {
    if (stopRequested || reloading) {
      log.warn("SIGHUP ignored: a stop or reload is under way");
      return;
    }
    reloading = reload().finally(() => reloading = undefined);
  };
  const handlers: [Deno.Signal, () => void][] = [
    ["SIGINT", onSignal("SIGINT")],
    ["SIGTERM", onSignal("SIGTERM")],
    ["SIGHUP", onHangup],
  ];
  for (const [s, h] of handlers) Deno.addSignalListener(s, h);
  try {
    await daemon.start();
  } catch (e) {
    log.error("start failed", { error: e });
    return 1;
  }
  await daemon.stopped;
  if (reloading) await reloading;
  for (const [s, h] of handlers) Deno.removeSignalListener(s, h);
  return 0;
}

/** `telebus check`: validates a configuration; returns the exit code. `registry`: the transports a config may use. */
export async function checkCommand(args: string[], registry: TransportRegistry = transports): Promise<number> {
  const p = parseOrUsage(
    args,
    { config: { type: "string", short: "c" }, help: { type: "boolean", short: "h" } },
    CHECK_USAGE,
  );
  if (!p) return 2;
  if (p.values.help) {
    console.log(CHECK_USAGE);
    return 0;
  }
  const file = (p.values.config as string | undefined) ?? p.positionals[0];
  if (!file) {
    console.error(CHECK_USAGE);
    return 2;
  }
  const c = await loadConfigOrReport(file, registry);
  if (!c) return 1;
  console.log(
    `${file}: ok — ${c.inputs.length} input(s): ${
      c.inputs.map((i) => `${i.name} (${i.type})`).join(", ") || "none"
    }; ` +
      `${c.outputs.length} output(s): ${c.outputs.map((o) => `${o.name} (${o.type})`).join(", ") || "none"}`,
  );
  return 0;
}
