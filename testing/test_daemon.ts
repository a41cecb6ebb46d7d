/**
 * An in-process daemon for tests: started from a config object (HTTP on a free
 * loopback port unless the config says otherwise, a temporary data folder),
 * with an input the test drives (`emit`) and a quiet logger.
 *
 * @module
 */
import { startDaemon } from "../start.ts";
import { createLogger, type Logger } from "../core/log.ts";
import { type BusRecord, makeRecord } from "../core/record.ts";
import type { Daemon } from "../core/daemon.ts";
import type { InputContext } from "../core/transport.ts";

/** A running test daemon. */
export interface TestDaemon {
  /** The daemon. */
  daemon: Daemon;
  /** `host:port` of its HTTP server (empty when off). */
  url: string;
  /** Its data folder (removed by `close`). */
  dir: string;
  /** Emits one record from the test input (source `test`). */
  emit(stream: string, data: Record<string, unknown>, time?: bigint): Promise<void> | void;
  /** Emits records from the test input. */
  emitRecords(records: BusRecord[]): Promise<void> | void;
  /** Stops the daemon and removes its folder (unless `keepDir`). */
  close(keepDir?: boolean): Promise<void>;
}

/** How to start a test daemon. */
export interface TestDaemonOptions {
  /** Where the daemon logs (default: nowhere, errors only). */
  log?: Logger;
}

/**
 * Starts a daemon with `config` (TOML-shaped object; `[daemon]` keys are merged over the test defaults) and
 * `dataDir` (default: a new temporary folder).
 */
export async function testDaemon(
  config: Record<string, unknown> = {},
  dataDir?: string,
  options: TestDaemonOptions = {},
): Promise<TestDaemon> {
  const dir = dataDir ?? await Deno.makeTempDir({ prefix: "telebus-test-" });
  const daemonTable = { http: "127.0.0.1:0", data_dir: dir, dashboard: false, ...(config.daemon as object) };
  const daemon = await startDaemon({ config: { ...config, daemon: daemonTable } }, {
    log: options.log ?? createLogger("test", { level: "error", write() {} }),
  });
  let ctx!: InputContext;
  await new Promise<void>((resolve) =>
    daemon.addInput("test", {
      run(c) {
        ctx = c;
        resolve();
        return new Promise((r) => c.signal.addEventListener("abort", () => r()));
      },
    })
  );
  const addr = daemon.http.addr;
  return {
    daemon,
    dir,
    url: addr ? `127.0.0.1:${addr.port}` : "",
    emit: (stream, data, time = 1_700_000_000_123_456_789n) =>
      ctx.emit([makeRecord(stream, time, data as BusRecord["data"], "test")]),
    emitRecords: (records) => ctx.emit(records),
    async close(keepDir = false) {
      await daemon.stop();
      if (!keepDir) await Deno.remove(dir, { recursive: true });
    },
  };
}
