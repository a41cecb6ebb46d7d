/**
 * Building blocks of the configuration schema: the keys every input and every
 * output has, durations and sizes, and the daemon's own table. Each transport
 * declares its own schema beside its code by extending these.
 *
 * @module
 */
import { z } from "npm:zod@^4.1.12";
import { parseDuration, parseSize } from "./units.ts";

/** A string or number turned into a number by `parse`, whose exception message becomes the schema error. */
function parsedBy(parse: (v: string | number) => number): z.ZodType<number, string | number> {
  return z.union([z.string(), z.number()]).transform((v, ctx) => {
    try {
      return parse(v);
    } catch (e) {
      ctx.addIssue({ code: "custom", message: (e as Error).message });
      return z.NEVER;
    }
  });
}

/** A duration (`"250ms"`, or a number of seconds) parsed to milliseconds. */
export function duration(): z.ZodType<number, string | number> {
  return parsedBy(parseDuration);
}

/** A size (`"64MiB"`, or a number of bytes) parsed to bytes. */
export function byteSize(): z.ZodType<number, string | number> {
  return parsedBy(parseSize);
}

/** A number that may also be given as a numeric string (e.g. from `${VAR}` substitution). */
export function numeric(): z.ZodType<number, string | number> {
  return z.union([z.number(), z.string().regex(/^\s*-?\d+(\.\d+)?([eE][-+]?\d+)?\s*$/, "expected a number")])
    .transform((v) => Number(v));
}

/** A boolean that may also be given as `"true"`/`"false"` (e.g. from `${VAR}` substitution). */
export function flag(): z.ZodType<boolean, string | boolean> {
  return z.union([z.boolean(), z.enum(["true", "false"])]).transform((v) => v === true || v === "true");
}

/** What an output does when its queue is full. */
export const WHEN_FULL = ["block", "drop_oldest", "drop_newest", "latest"] as const;
/** One of {@linkcode WHEN_FULL}. */
export type WhenFull = typeof WHEN_FULL[number];

/** A name: letters, digits, `_`, `-`, `.`. */
const name = z.string().regex(/^[A-Za-z0-9_.-]+$/, "names use letters, digits, _ - . only");

/** Keys every input table has. */
export const inputCommon = {
  /** Unique among inputs; also the records' `source`. Defaults to `<type><index>`. */
  name: name.optional(),
};

/** Keys every output table has. */
export const outputCommon = {
  /** Unique among outputs. Defaults to `<type><index>`. */
  name: name.optional(),
  /** Which inputs feed this output, by name (default: all). */
  inputs: z.array(z.string()).optional(),
  /** Which streams feed this output, as globs (`robot/*`; default: all). */
  streams: z.array(z.string()).optional(),
  /** What happens when the queue is full (default `block`). */
  when_full: z.enum(WHEN_FULL).default("block"),
  /** Queue bound in records (default 10000). */
  queue_records: numeric().pipe(z.number().int().min(1)).default(10000),
  /** Queue bound in bytes (default 64 MiB). */
  queue_bytes: byteSize().pipe(z.number().int().min(1024)).default(64 * 1024 * 1024),
  /** Most records handed to the output in one write (default 1000). */
  batch_records: numeric().pipe(z.number().int().min(1)).default(1000),
};

/** The parsed common output keys. */
export interface OutputCommon {
  /** See {@linkcode outputCommon}. */
  name?: string;
  /** See {@linkcode outputCommon}. */
  inputs?: string[];
  /** See {@linkcode outputCommon}. */
  streams?: string[];
  /** See {@linkcode outputCommon}. */
  when_full: WhenFull;
  /** See {@linkcode outputCommon}. */
  queue_records: number;
  /** See {@linkcode outputCommon}. */
  queue_bytes: number;
  /** See {@linkcode outputCommon}. */
  batch_records: number;
}

/** The `[daemon]` table. Typed as producing {@linkcode DaemonConfig}, so the two cannot drift apart. */
export const daemonSchema: z.ZodType<DaemonConfig, unknown> = z.strictObject({
  /** The one HTTP server (`host:port`); `""` or `"off"` disables it. */
  http: z.string().default("127.0.0.1:8080"),
  /** Checkpoints and spools live here. */
  data_dir: z.string().default("./data"),
  /** How long a graceful stop may take before the rest is abandoned. */
  stop_timeout: duration().default(10_000),
  /** Stop once every input has finished by itself (a generator with `count`, say). */
  exit_when_done: flag().default(false),
  /** Log level. */
  log_level: z.enum(["debug", "info", "warn", "error"]).default("info"),
  /** Serve the dashboard at `/` (an `[[outputs.dashboard]]` with the defaults, unless one is configured). */
  dashboard: flag().default(true),
  /** A bearer token every HTTP/WebSocket request must carry (header or `?token=`); `/health` stays open. */
  token: z.string().default(""),
  /** Origins allowed by CORS and for browser WebSocket upgrades (`["*"]` for any); empty: no CORS headers. */
  cors_origins: z.array(z.string()).default([]),
  /** Largest HTTP request body accepted. */
  max_request_bytes: byteSize().pipe(z.number().int().min(1024)).default(16 * 1024 * 1024),
  /** Serve HTTPS/WSS with this PEM certificate (chain) file; with `tls_key`. */
  tls_cert: z.string().default(""),
  /** The PEM private key of `tls_cert`. */
  tls_key: z.string().default(""),
}).refine((d) => (d.tls_cert === "") === (d.tls_key === ""), {
  message: "set both tls_cert and tls_key (or neither)",
  path: ["tls_cert"],
});

/** The parsed `[daemon]` table (see {@linkcode daemonSchema} for each key). */
export interface DaemonConfig {
  /** `host:port` of the one HTTP server, or `""`/`"off"`. */
  http: string;
  /** Folder of checkpoints and spools. */
  data_dir: string;
  /** Most milliseconds each phase of a graceful stop may take. */
  stop_timeout: number;
  /** Stop once every input has finished by itself. */
  exit_when_done: boolean;
  /** Lowest level logged. */
  log_level: "debug" | "info" | "warn" | "error";
  /** Serve the dashboard at `/` with the defaults. */
  dashboard: boolean;
  /** Bearer token for every HTTP/WebSocket endpoint but `/health`; empty for none. */
  token: string;
  /** CORS origins; empty for none. */
  cors_origins: string[];
  /** Largest HTTP request body in bytes. */
  max_request_bytes: number;
  /** PEM certificate file for HTTPS/WSS; empty for plain HTTP. */
  tls_cert: string;
  /** PEM private key file of `tls_cert`. */
  tls_key: string;
}
