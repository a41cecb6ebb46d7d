/**
 * `telebus serve PATH [-p PORT]`: mpacklog's `serve` — the newest record of a
 * `.mpack` log (or of the newest file of a folder, switching as new files
 * appear) over mpacklog's TCP protocol, for mpackview. It is the daemon with
 * an `mpack_tail` input (from the end, as mpacklog) and an `mpack_serve` output.
 *
 * @module
 */
import { startDaemon } from "../start.ts";
import { createLogger } from "../core/log.ts";
import { parseOrUsage } from "./args.ts";

const USAGE = `usage: telebus serve PATH [-p PORT] [--host HOST]

Serves the newest record appended to PATH (a .mpack file, or a folder: its newest *.mpack,
switching to newer files as they appear) with mpacklog's serve protocol: a client sends "get"
and receives one MessagePack map. Only records appended after the start are served, as mpacklog.
  -p, --port PORT   TCP port (default 4747)
      --host HOST   address to bind (default 127.0.0.1; 0.0.0.0 for every interface, as mpacklog)`;

/** Runs `serve` until SIGINT/SIGTERM; returns the exit code. */
export async function serveCommand(args: string[]): Promise<number> {
  const p = parseOrUsage(args, {
    port: { type: "string", short: "p" },
    host: { type: "string" },
    help: { type: "boolean", short: "h" },
  }, USAGE);
  if (!p) return 2;
  if (p.values.help) {
    console.log(USAGE);
    return 0;
  }
  const path = p.positionals[0];
  const port = Number(p.values.port ?? 4747);
  if (!path || p.positionals.length > 1 || !Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(USAGE);
    return 2;
  }
  try {
    await Deno.stat(path);
  } catch (e) {
    console.error(`telebus serve: ${path}: ${(e as Error).message}`);
    return 1;
  }
  const host = (p.values.host as string | undefined) ?? "127.0.0.1";
  const dataDir = await Deno.makeTempDir({ prefix: "telebus-serve-" });
  const log = createLogger("telebus");
  // The handlers go in before the daemon starts: a signal during the start stops it as soon as it runs.
  let stopRequested = false;
  let stop = () => {
    stopRequested = true;
  };
  const onSignal = () => stop();
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  try {
    const daemon = await startDaemon({
      config: {
        daemon: { http: "off", data_dir: dataDir },
        inputs: { mpack_tail: [{ name: "log", path, from: "end" }] },
        outputs: {
          mpack_serve: [{
            name: "serve",
            listen: `${host.includes(":") ? `[${host}]` : host}:${port}`,
            when_full: "latest",
          }],
        },
      },
    }, { log });
    stop = () => daemon.stop();
    if (stopRequested) stop();
    await daemon.stopped;
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
  }
  await Deno.remove(dataDir, { recursive: true });
  return 0;
}
