/**
 * Building blocks of the configuration schema: the keys every input and every
 * output has, durations and sizes, and the daemon's own table. Each transport
 * declares its own schema beside its code by extending these.
 *
 * The schemas are the one source of an option's parsing, default and
 * description: `describe()` texts become the docs (`deno task docs`,
 * `telebus transports TYPE`), the JSON Schema of `telemetry.toml` and the
 * parsed types of these tables (`types.ts`). This module imports nothing of
 * telebus but the other schemas (`options.ts`, `units.ts`, `processors/schema.ts`), so `core/` may take its tables'
 * defaults from here.
 *
 * @module
 */
import { z } from "npm:zod@^4.1.12";

export { byteSize, duration, flag, numeric, type OptionKind, optionKinds } from "./options.ts";
import { byteSize, duration, flag, numeric } from "./options.ts";
import { processorsSchema } from "../processors/schema.ts";

/** What an output does when its queue is full (see README, "The bus and slow outputs"). */
export const FULL_POLICIES = ["block", "drop_oldest", "drop_newest", "latest"] as const;
/** One of {@linkcode FULL_POLICIES}. */
export type FullPolicy = typeof FULL_POLICIES[number];

/** A name: letters, digits, `_`, `-`, `.`. */
const name = z.string().regex(/^[A-Za-z0-9_.-]+$/, "names use letters, digits, _ - . only");

/** Keys every input table has. */
export const inputCommon = {
  name: name.optional().describe(
    "Unique among inputs; also the records' `source`. Default: the type and the table's index (`generator0`).",
  ),
  processors: processorsSchema.optional().describe(
    "Processors applied in order to this input's records before they reach the bus (`[[inputs.TYPE.processors]]` " +
      "tables; see docs/processors.md).",
  ),
};

/** Keys every output table has. */
export const outputCommon = {
  name: name.optional().describe("Unique among outputs. Default: the type and the table's index (`mpack_file0`)."),
  inputs: z.array(z.string()).optional().describe("Which inputs feed this output, by name (default: all)."),
  streams: z.array(z.string()).optional().describe(
    "Which streams feed this output, as globs (`*` matches any run of characters, `/` included; `?` one character; default: all).",
  ),
  when_full: z.enum(FULL_POLICIES).default("block").describe(
    "What happens when the output's queue is full: `block` the inputs (back-pressure, nothing lost), " +
      "`drop_oldest`, `drop_newest`, or `latest` (keep the newest record of each stream).",
  ),
  queue_records: numeric().pipe(z.number().int().min(1)).default(10000).describe("Queue bound in records."),
  queue_bytes: byteSize().pipe(z.number().int().min(1024)).default(64 * 1024 * 1024).describe(
    "Queue bound in bytes.",
  ),
  batch_records: numeric().pipe(z.number().int().min(1)).default(1000).describe(
    "Most records handed to the output in one write.",
  ),
  processors: processorsSchema.optional().describe(
    "Processors applied in order to this output's copy of the records, before its queue (`[[outputs.TYPE.processors]]` " +
      "tables; see docs/processors.md). Other outputs still get every record.",
  ),
};

/** The keys every input has, as one schema (for defaults and docs). */
export const inputCommonSchema = z.object(inputCommon);

/** The keys every output has, as one schema (for defaults and docs). */
export const outputCommonSchema = z.object(outputCommon);

/** The `[daemon]` table. */
export const daemonSchema = z.strictObject({
  http: z.string().default("127.0.0.1:8080").describe(
    "The one HTTP server (`host:port`): `/health`, `/metrics` and every HTTP/WebSocket endpoint; " +
      '`""` or `"off"` for none.',
  ),
  data_dir: z.string().default("./data").describe("Folder of checkpoints and spools."),
  stop_timeout: duration().default(10_000).describe(
    "How long each phase of a graceful stop may take before the rest is abandoned.",
  ),
  exit_when_done: flag().default(false).describe(
    "Stop once every input has finished by itself (a generator with `count`, say).",
  ),
  log_level: z.enum(["debug", "info", "warn", "error"]).default("info").describe(
    "Lowest level logged (`TELEBUS_LOG` overrides).",
  ),
  dashboard: flag().default(true).describe(
    "Serve the dashboard at `/` (an `[[outputs.dashboard]]` with the defaults, unless one is configured).",
  ),
  token: z.string().default("").describe(
    "A bearer token every HTTP/WebSocket request must carry (header or `?token=`), and the MoaT server asks " +
      'for; `/health` stays open. `""`: none.',
  ),
  cors_origins: z.array(z.string()).default([]).describe(
    'Origins allowed by CORS and for browser WebSocket upgrades (`["*"]` for any); empty: no CORS headers.',
  ),
  max_request_bytes: byteSize().pipe(z.number().int().min(1024)).default(16 * 1024 * 1024).describe(
    "Largest HTTP request body accepted (larger ones get 413).",
  ),
  tls_cert: z.string().default("").describe(
    "Serve HTTPS/WSS with this PEM certificate (chain) file; with `tls_key`.",
  ),
  tls_key: z.string().default("").describe("The PEM private key of `tls_cert`."),
}).refine((d) => (d.tls_cert === "") === (d.tls_key === ""), {
  message: "set both tls_cert and tls_key (or neither)",
  path: ["tls_cert"],
});
