/**
 * Embedding: start a daemon from a configuration file, TOML text or object,
 * with the built-in transports.
 *
 * @module
 */
import { loadConfigFile, parseConfig, validateConfig } from "./config/load.ts";
import { transports } from "./transports/mod.ts";
import { Daemon } from "./core/daemon.ts";
import { createLogger, envLogLevel, type Logger, type LogLevel, type LogSink, stderrSink } from "./core/log.ts";
import type { TransportRegistry } from "./core/transport.ts";

/** Options of {@linkcode startDaemon}. */
export interface StartOptions {
  /** Extra or replacement transports, merged over the built-in ones. */
  transports?: TransportRegistry;
  /** Variables for `${VAR}` substitution (default: the process environment). */
  env?: (name: string) => string | undefined;
  /**
   * Where every log line of the daemon goes: a {@linkcode Logger}, a {@linkcode LogSink} (telebus formats
   * the lines and hands each to its `write`, at its `level` and above), or `false` for none. Default: stderr,
   * at `TELEBUS_LOG` if set, else the configuration's `[daemon] log_level`.
   */
  log?: Logger | LogSink | false;
}

/** The daemon's logger for the `log` option (see {@linkcode StartOptions}). */
function daemonLogger(option: StartOptions["log"], configLevel: LogLevel): Logger {
  if (option === false) return createLogger("telebus", { level: "error", write: () => {} });
  if (option === undefined) {
    return createLogger("telebus", { ...stderrSink, level: envLogLevel() ?? configLevel });
  }
  return "child" in option ? option : createLogger("telebus", option);
}

/**
 * Validates a configuration and starts a daemon with it.
 *
 * `source` is a path to a TOML file (`{ file }`), TOML text (`{ toml }`) or an
 * object shaped like the TOML document (`{ config }`). Resolves once every
 * part is running; call `stop()` on the result to stop it cleanly.
 *
 * @example
 * ```ts
 * import { startDaemon } from "./mod.ts";
 * const daemon = await startDaemon({ config: {
 *   daemon: { http: "off", data_dir: await Deno.makeTempDir() },
 *   inputs: { generator: [{ name: "robot", rate: 50 }] },
 * } }, { log: false });
 * const stop = daemon.subscribe((records) => console.log(records.length, "records"));
 * await new Promise((r) => setTimeout(r, 100));
 * await stop();
 * await daemon.stop();
 * ```
 */
export async function startDaemon(
  source: { file: string } | { toml: string } | { config: Record<string, unknown> },
  options: StartOptions = {},
): Promise<Daemon> {
  const registry = { ...transports, ...options.transports };
  const opts = { registry, env: options.env };
  const config = "file" in source
    ? await loadConfigFile(source.file, opts)
    : "toml" in source
    ? await parseConfig(source.toml, opts)
    : await validateConfig(source.config, opts);
  const daemon = new Daemon(config, daemonLogger(options.log, config.daemon.log_level));
  await daemon.start();
  return daemon;
}
