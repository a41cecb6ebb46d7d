/**
 * The `telebus` command line: the daemon and the old tools' jobs.
 *
 * ```sh
 * deno run -A main.ts --config telemetry.toml     # the daemon
 * deno run -A main.ts check --config telemetry.toml
 * deno run -A main.ts dump LOG.mpack [FIELDS…] [--format json|csv] [-f]
 * deno run -A main.ts list LOG.mpack
 * ```
 *
 * @module
 */
import { VERSION } from "./version.ts";

const USAGE = `telebus ${VERSION} — telemetry daemon and tools

usage: telebus [run] --config FILE       run the daemon (default command)
       telebus check --config FILE       validate a configuration
       telebus dump LOG [FIELDS…] [--format json|csv] [-f]
                                         print a .mpack log as NDJSON or CSV (mpacklog dump)
       telebus list LOG                  list the keys of a .mpack log (mpacklog list)
       telebus convert IN OUT [--streams GLOB]…
                                         convert between .mpack and .mcap, by extension
       telebus serve PATH [-p PORT]      serve the newest record to mpackview (mpacklog serve)
       telebus stats SOURCE [-m pull|sub] [-i SECONDS]
                                         rates of a ZeroMQ stream (m_stats)
       telebus generate [-a ADDRESS] [-s MB] [-m push|pub] [--rate HZ] [--array]
                                         send mflow test messages (m_generate)
       telebus record SOURCE FOLDER [-s N]
                                         write every frame to FOLDER (m_dump)
       telebus replay FOLDER|LOG.mpack [-a ADDRESS] [--rate HZ] [--loop] [--speed X]
                                         send a recorded folder or a log (m_replay)
       telebus split -c CONFIG | SOURCE STREAM…
                                         copy a stream to several outputs (m_split)
       telebus permissions --config FILE the Deno permission flags the configuration needs
       telebus transports [TYPE]         the transport types, or one type's options with defaults
       telebus moat call|stream HOST:PORT CMD [ARG…] [--codec cbor|msgpack]
                                         call a MoaT-Cmd command, or print its stream as JSON lines
       telebus tap [GLOB…] [--url URL] [--token T] [--count N] [--format json|table]
                                         print the live records of a running daemon
       telebus top [--url URL] [--token T] [--once]
                                         rates, queues, drops and errors of a running daemon
       telebus --version

Run "telebus COMMAND --help" for a command's options.`;

/** Runs the command line with `args`; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const [cmd, ...rest] = args;
  switch (cmd) {
    case undefined:
      console.log(USAGE);
      return 2;
    case "-h":
    case "--help":
    case "help":
      console.log(USAGE);
      return 0;
    case "-V":
    case "--version":
      console.log(VERSION);
      return 0;
    // Every command is imported when it runs: `dump` should not pay for loading the daemon, nor the daemon for
    // the tools.
    case "run":
      return await (await import("./cli/run.ts")).runCommand(rest);
    case "check":
      return await (await import("./cli/run.ts")).checkCommand(rest);
    case "dump":
      return await (await import("./cli/dump.ts")).dumpCommand(rest);
    case "list":
      return await (await import("./cli/list.ts")).listCommand(rest);
    case "convert":
      return await (await import("./cli/convert.ts")).convertCommand(rest);
    case "serve":
      return await (await import("./cli/serve.ts")).serveCommand(rest);
    case "moat":
      return await (await import("./cli/moat.ts")).moatCommand(rest);
    case "stats":
      return await (await import("./cli/stats.ts")).statsCommand(rest);
    case "generate":
      return await (await import("./cli/generate.ts")).generateCommand(rest);
    case "record":
      return await (await import("./cli/record.ts")).recordCommand(rest);
    case "replay":
      return await (await import("./cli/replay.ts")).replayCommand(rest);
    case "split":
      return await (await import("./cli/split.ts")).splitCommand(rest);
    case "permissions":
      return await (await import("./cli/permissions.ts")).permissionsCommand(rest);
    case "transports":
      return await (await import("./cli/transports.ts")).transportsCommand(rest);
    case "tap":
      return await (await import("./cli/tap.ts")).tapCommand(rest);
    case "top":
      return await (await import("./cli/top.ts")).topCommand(rest);
    default:
      if (cmd.startsWith("-")) return await (await import("./cli/run.ts")).runCommand(args);
      console.error(`telebus: unknown command ${JSON.stringify(cmd)}\n\n${USAGE}`);
      return 2;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
