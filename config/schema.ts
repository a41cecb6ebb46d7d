/**
 * Building blocks of the configuration schema: the keys every input and every
 * output has, durations and sizes, and the daemon's own table. Each transport
 * declares its own schema beside its code by extending these.
 *
 * The schemas are the one source of an option's parsing, default and
 * description: descriptions (`described()`) become the docs (`deno task docs`,
 * `telebus transports TYPE`), the JSON Schema of `telemetry.toml` and the
 * parsed types of these tables (`types.ts`). They are valibot schemas wrapped
 * by `table()` (`table.ts`), which gives the loader its `parse`/`safeParse`. This module imports nothing of
 * telebus but the other schemas (`options.ts`, `units.ts`, `processors/schema.ts`), so `core/` may take its tables'
 * defaults from here.
 *
 * @module
 */
import * as v from "npm:valibot@^1.1.0";

export { byteSize, described, duration, flag, numeric, type OptionKind } from "./options.ts";
export { isTable, keysAt, type Table, table, type TableIssue, type TableOutput } from "./table.ts";
import { byteSize, described, duration, flag, numeric } from "./options.ts";
import { table } from "./table.ts";
import { processorsSchema } from "../processors/schema.ts";

/** What an output does when its queue is full (see README, "The bus and slow outputs"). */
export const FULL_POLICIES = ["block", "drop_oldest", "drop_newest", "latest"] as const;
/** One of {@linkcode FULL_POLICIES}. */
export type FullPolicy = typeof FULL_POLICIES[number];

/** A name: letters, digits, `_`, `-`, `.`. */
const name = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_.-]+$/, "names use letters, digits, _ - . only"));

/** Keys every input table has. */
export const inputCommon = {
  name: described(
    v.optional(name),
    "Unique among inputs; also the records' `source`. Default: the type and the table's index (`generator0`).",
  ),
  processors: described(
    v.optional(processorsSchema),
    "Processors applied in order to this input's records before they reach the bus (`[[inputs.TYPE.processors]]` " +
      "tables; see docs/processors.md).",
  ),
};

/** Keys every output table has. */
export const outputCommon = {
  name: described(
    v.optional(name),
    "Unique among outputs. Default: the type and the table's index (`mpack_file0`).",
  ),
  inputs: described(v.optional(v.array(v.string())), "Which inputs feed this output, by name (default: all)."),
  streams: described(
    v.optional(v.array(v.string())),
    "Which streams feed this output, as globs (`*` matches any run of characters, `/` included; `?` one character; default: all).",
  ),
  when_full: described(
    v.optional(v.picklist(FULL_POLICIES), "block"),
    "What happens when the output's queue is full: `block` the inputs (back-pressure, nothing lost), " +
      "`drop_oldest`, `drop_newest`, or `latest` (keep the newest record of each stream).",
  ),
  queue_records: described(
    v.optional(v.pipe(numeric(), v.integer(), v.minValue(1)), 10000),
    "Queue bound in records.",
  ),
  queue_bytes: described(
    v.optional(v.pipe(byteSize(), v.integer(), v.minValue(1024)), "64MiB"),
    "Queue bound in bytes.",
  ),
  batch_records: described(
    v.optional(v.pipe(numeric(), v.integer(), v.minValue(1)), 1000),
    "Most records handed to the output in one write.",
  ),
  processors: described(
    v.optional(processorsSchema),
    "Processors applied in order to this output's copy of the records, before its queue (`[[outputs.TYPE.processors]]` " +
      "tables; see docs/processors.md). Other outputs still get every record.",
  ),
};

/** The keys every input has, as one table (for defaults and docs). */
export const inputCommonSchema = table(v.object(inputCommon));

/** The keys every output has, as one table (for defaults and docs). */
export const outputCommonSchema = table(v.object(outputCommon));

/** The `[daemon]` table. */
export const daemonSchema = table(v.pipe(
  v.strictObject({
    http: described(
      v.optional(v.string(), "127.0.0.1:8080"),
      "The one HTTP server (`host:port`): `/health`, `/metrics` and every HTTP/WebSocket endpoint; " +
        '`""` or `"off"` for none.',
    ),
    data_dir: described(v.optional(v.string(), "./data"), "Folder of checkpoints and spools."),
    stop_timeout: described(
      v.optional(duration(), "10s"),
      "How long each phase of a graceful stop may take before the rest is abandoned.",
    ),
    exit_when_done: described(
      v.optional(flag(), false),
      "Stop once every input has finished by itself (a generator with `count`, say).",
    ),
    log_level: described(
      v.optional(v.picklist(["debug", "info", "warn", "error"]), "info"),
      "Lowest level logged (`TELEBUS_LOG` overrides).",
    ),
    dashboard: described(
      v.optional(flag(), true),
      "Serve the dashboard at `/` (an `[[outputs.dashboard]]` with the defaults, unless one is configured).",
    ),
    token: described(
      v.optional(v.string(), ""),
      "A bearer token every HTTP/WebSocket request must carry (header or `?token=`), and the MoaT server asks " +
        'for; `/health` stays open. `""`: none.',
    ),
    cors_origins: described(
      v.optional(v.array(v.string()), []),
      'Origins allowed by CORS and for browser WebSocket upgrades (`["*"]` for any); empty: no CORS headers.',
    ),
    max_request_bytes: described(
      v.optional(v.pipe(byteSize(), v.integer(), v.minValue(1024)), "16MiB"),
      "Largest HTTP request body accepted (larger ones get 413).",
    ),
    tls_cert: described(
      v.optional(v.string(), ""),
      "Serve HTTPS/WSS with this PEM certificate (chain) file; with `tls_key`.",
    ),
    tls_key: described(v.optional(v.string(), ""), "The PEM private key of `tls_cert`."),
  }),
  v.forward(
    v.check((d) => (d.tls_cert === "") === (d.tls_key === ""), "set both tls_cert and tls_key (or neither)"),
    ["tls_cert"],
  ),
));
