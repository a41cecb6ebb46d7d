/**
 * The parsed `[daemon]` table and the keys every input and output table has, written out from their schemas in
 * `schema.ts` by `deno task docs` (a test fails when they differ): the library's public API names no valibot type.
 * Do not edit; edit the schemas.
 *
 * @module
 */

/** The parsed `[daemon]` table (durations in ms, sizes in bytes). */
export type DaemonConfig = {
  /** The one HTTP server (`host:port`): `/health`, `/metrics` and every HTTP/WebSocket endpoint; `""` or `"off"` for none. */
  http: string;
  /** Folder of checkpoints and spools. */
  data_dir: string;
  /** How long each phase of a graceful stop may take before the rest is abandoned. */
  stop_timeout: number;
  /** Stop once every input has finished by itself (a generator with `count`, say). */
  exit_when_done: boolean;
  /** Lowest level logged (`TELEBUS_LOG` overrides). */
  log_level: "debug" | "info" | "warn" | "error";
  /** Serve the dashboard at `/` (an `[[outputs.dashboard]]` with the defaults, unless one is configured). */
  dashboard: boolean;
  /** A bearer token every HTTP/WebSocket request must carry (header or `?token=`), and the MoaT server asks for; `/health` stays open. `""`: none. */
  token: string;
  /** Origins allowed by CORS and for browser WebSocket upgrades (`["*"]` for any); empty: no CORS headers. */
  cors_origins: string[];
  /** Largest HTTP request body accepted (larger ones get 413). */
  max_request_bytes: number;
  /** Serve HTTPS/WSS with this PEM certificate (chain) file; with `tls_key`. */
  tls_cert: string;
  /** The PEM private key of `tls_cert`. */
  tls_key: string;
};

/** The parsed keys every input table has. */
export type InputCommon = {
  /** Unique among inputs; also the records' `source`. Default: the type and the table's index (`generator0`). */
  name?: string;
  /** Processors applied in order to this input's records before they reach the bus (`[[inputs.TYPE.processors]]` tables; see docs/processors.md). */
  processors?: (Record<string, unknown>)[];
};

/** The parsed keys every output table has (sizes in bytes). */
export type OutputCommon = {
  /** Unique among outputs. Default: the type and the table's index (`mpack_file0`). */
  name?: string;
  /** Which inputs feed this output, by name (default: all). */
  inputs?: string[];
  /** Which streams feed this output, as globs (`*` matches any run of characters, `/` included; `?` one character; default: all). */
  streams?: string[];
  /** What happens when the output's queue is full: `block` the inputs (back-pressure, nothing lost), `drop_oldest`, `drop_newest`, or `latest` (keep the newest record of each stream). */
  when_full: "block" | "drop_oldest" | "drop_newest" | "latest";
  /** Queue bound in records. */
  queue_records: number;
  /** Queue bound in bytes. */
  queue_bytes: number;
  /** Most records handed to the output in one write. */
  batch_records: number;
  /** Processors applied in order to this output's copy of the records, before its queue (`[[outputs.TYPE.processors]]` tables; see docs/processors.md). Other outputs still get every record. */
  processors?: (Record<string, unknown>)[];
};
