/**
 * HTTP to InfluxDB: one write request per call (v1, v2 or v3 API, optional
 * gzip), the classification of its answer, the lines an error names, and
 * InfluxQL queries.
 *
 * @module
 */
import { parseLine } from "../../codecs/line_protocol_parse.ts";
import { type Poster, postOnce } from "./post_thread.ts";
import * as v from "npm:valibot@^1.1.0";
import { influxdbSchema, type InfluxTarget } from "./schema.ts";

export type { InfluxTarget } from "./schema.ts";

/** What a target leaves out is as in an `[[outputs.influxdb]]` table that leaves it out. */
const TARGET_DEFAULTS = {
  gzip: v.parse(influxdbSchema.schema.pipe[0].entries.gzip, undefined),
  timeout: v.parse(influxdbSchema.schema.pipe[0].entries.timeout, undefined),
};

/** What one write request came to. */
export type WriteOutcome =
  | { kind: "ok"; bytes: number }
  /** Try again later: network error, timeout, 429, 5xx, or 401/403/404 (a setting InfluxDB may yet get). */
  | { kind: "retry"; status: number; message: string; retryAfterMs?: number }
  /** 413: the body is too large. */
  | { kind: "too_large"; status: number; message: string }
  /** 400/422 (and other 4xx): some points are bad. */
  | { kind: "bad"; status: number; message: string; v3Lines?: number[] };

const encoder = new TextEncoder();

/** Milliseconds of a `Retry-After` header (seconds or an HTTP date), or undefined. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v) * 1000;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}

function basic(user: string, pass: string): string {
  const b = encoder.encode(`${user}:${pass}`);
  let s = "";
  for (const c of b) s += String.fromCharCode(c);
  return "Basic " + btoa(s);
}

/** Writes line protocol to one InfluxDB. */
export class InfluxWriter {
  /** The write URL with its query string. */
  readonly writeUrl: string;
  readonly #headers: Record<string, string>;
  readonly #target: InfluxTarget;
  readonly #post: Poster;

  /**
   * Builds the URL and headers of `target`; requests go through `post`
   * (default: {@linkcode postOnce}, in this thread).
   */
  constructor(target: InfluxTarget, post: Poster = postOnce) {
    this.#target = target;
    this.#post = post;
    const base = target.url.replace(/\/+$/, "");
    const q = new URLSearchParams();
    const headers: Record<string, string> = { "content-type": "text/plain; charset=utf-8" };
    if (target.api === "v1") {
      q.set("db", target.database ?? "");
      if (target.retention_policy) q.set("rp", target.retention_policy);
      q.set("precision", "n");
      if (target.username !== undefined && target.password !== undefined) {
        if (target.auth === "query") q.set("u", target.username), q.set("p", target.password);
        else headers.authorization = basic(target.username, target.password);
      }
      this.writeUrl = `${base}/write?${q}`;
    } else if (target.api === "v2") {
      q.set("org", target.org ?? "");
      q.set("bucket", target.bucket ?? "");
      q.set("precision", "ns");
      if (target.token) headers.authorization = `Token ${target.token}`;
      this.writeUrl = `${base}/api/v2/write?${q}`;
    } else {
      q.set("db", target.database ?? "");
      q.set("precision", "nanosecond");
      if (target.token) headers.authorization = `Bearer ${target.token}`;
      this.writeUrl = `${base}/api/v3/write_lp?${q}`;
    }
    if (target.gzip) headers["content-encoding"] = "gzip";
    this.#headers = headers;
  }

  /** Sends the lines in one request; never throws. */
  async write(lines: readonly string[]): Promise<WriteOutcome> {
    const answer = await this.#post({
      url: this.writeUrl,
      headers: this.#headers,
      body: encoder.encode(lines.join("\n")),
      gzip: this.#target.gzip ?? TARGET_DEFAULTS.gzip,
      timeoutMs: this.#target.timeout ?? TARGET_DEFAULTS.timeout,
    });
    if ("error" in answer) return { kind: "retry", status: 0, message: answer.error };
    const s = answer.status;
    if (s >= 200 && s < 300) return { kind: "ok", bytes: answer.bytes };
    const { message, v3Lines } = errorMessage(answer.text);
    if (s === 429 || s >= 500 || s === 401 || s === 403 || s === 404 || s === 408) {
      return { kind: "retry", status: s, message, retryAfterMs: parseRetryAfter(answer.retryAfter) };
    }
    if (s === 413) return { kind: "too_large", status: s, message };
    return { kind: "bad", status: s, message, v3Lines };
  }

  /** Runs InfluxQL (`/query`; POST for statements that change things) and returns the parsed JSON. */
  async query(q: string, options: { database?: string; epoch?: string; post?: boolean } = {}): Promise<unknown> {
    const t = this.#target;
    const params = new URLSearchParams({ q });
    if (options.database ?? t.database) params.set("db", options.database ?? t.database!);
    if (options.epoch) params.set("epoch", options.epoch);
    const headers: Record<string, string> = {};
    if (t.username !== undefined && t.password !== undefined) {
      if (t.auth === "query") params.set("u", t.username), params.set("p", t.password);
      else headers.authorization = basic(t.username, t.password);
    }
    if (t.token) headers.authorization = `Token ${t.token}`;
    const post = options.post ?? !/^\s*(SELECT|SHOW)\b/i.test(q);
    const url = `${t.url.replace(/\/+$/, "")}/query`;
    const res = post
      ? await fetch(url, { method: "POST", headers: { ...headers }, body: params })
      : await fetch(`${url}?${params}`, { headers });
    const text = await res.text();
    if (!res.ok) throw new InfluxError(res.status, errorMessage(text).message || res.statusText);
    return JSON.parse(text);
  }
}

/** An InfluxDB request that failed (what influxdb-python raises as `InfluxDBClientError`). */
export class InfluxError extends Error {
  /** Creates the error. */
  constructor(readonly status: number, message: string) {
    super(`InfluxDB answered ${status}: ${message}`);
    this.name = "InfluxError";
  }
}

/** The message of an error body: v1 `{"error"}`, v2 `{"message"}`, v3 `{"error", "data": [{line_number}]}`. */
function errorMessage(text: string): { message: string; v3Lines?: number[] } {
  try {
    const j = JSON.parse(text);
    if (j && typeof j === "object") {
      let message = typeof j.error === "string" ? j.error : typeof j.message === "string" ? j.message : text;
      let v3Lines: number[] | undefined;
      if (Array.isArray(j.data)) {
        v3Lines = [];
        for (const d of j.data) {
          if (typeof d?.line_number === "number") v3Lines.push(d.line_number);
          if (typeof d?.error_message === "string") message += `; line ${d.line_number}: ${d.error_message}`;
        }
      }
      return { message, v3Lines };
    }
  } catch {
    // not JSON
  }
  return { message: text.trim() };
}

const TYPE_NAMES: Record<string, string> = {
  float: "float",
  integer: "integer",
  unsigned: "unsigned",
  string: "string",
  boolean: "boolean",
};

/**
 * The indexes of the lines an error names: lines quoted in `unable to parse '…'`,
 * `line N` numbers (1-based; v3's `line_number`), and the lines a field-type
 * conflict (`input field "f" on measurement "m" is type T`) points at.
 */
export function namedLines(lines: readonly string[], message: string, v3Lines?: readonly number[]): Set<number> {
  const bad = new Set<number>();
  for (const n of v3Lines ?? []) if (n >= 1 && n <= lines.length) bad.add(n - 1);
  if (message.includes("'")) {
    for (let i = 0; i < lines.length; i++) if (message.includes(`'${lines[i]}'`)) bad.add(i);
  }
  if (!v3Lines) {
    for (const m of message.matchAll(/\bline (\d+)\b/g)) {
      const n = Number(m[1]);
      if (n >= 1 && n <= lines.length) bad.add(n - 1);
    }
  }
  for (
    const m of message.matchAll(
      /input field "((?:[^"\\]|\\.)*)" on measurement "((?:[^"\\]|\\.)*)" is type (\w+)/g,
    )
  ) {
    const [, field, measurement, type] = m;
    const t = TYPE_NAMES[type];
    for (let i = 0; i < lines.length; i++) {
      if (bad.has(i)) continue;
      try {
        const p = parseLine(lines[i]);
        if (p.measurement === measurement && p.fields[field]?.type === t) bad.add(i);
      } catch {
        // a line we cannot read is not the one named
      }
    }
  }
  return bad;
}
