/**
 * The redis-streamer wire protocol without any I/O: Redis-style entry ids,
 * the push header forms that split one binary frame into entries, the pull
 * header of `[sid, id, END_offset]` triples, and the query options of the
 * push, pull and GET endpoints.
 *
 * @module
 */

/** A Redis stream entry id: milliseconds and a sequence number. */
export interface EntryId {
  /** Milliseconds part. */
  readonly ms: number;
  /** Sequence within the millisecond. */
  readonly seq: number;
}

/** A push header, pull query or entry id that is not understood; the message says why. */
export class StreamerProtocolError extends Error {
  /** Names itself. */
  override name = "StreamerProtocolError";
}

const ID_RE = /^(\d{1,16})(?:-(\d{1,16}))?$/;

/**
 * Parses `ms-seq` or `ms` (the sequence is then `missingSeq`). Returns undefined
 * for anything else (`$`, `-`, `*` are the caller's business).
 */
export function parseEntryId(text: string, missingSeq = 0): EntryId | undefined {
  const m = ID_RE.exec(text);
  if (!m) return undefined;
  const ms = Number(m[1]), seq = m[2] === undefined ? missingSeq : Number(m[2]);
  if (!Number.isSafeInteger(ms) || !Number.isSafeInteger(seq)) return undefined;
  return { ms, seq };
}

/** `ms-seq` text of an id. */
export function formatEntryId(id: EntryId): string {
  return `${id.ms}-${id.seq}`;
}

/** Orders ids numerically (negative when `a` is older). */
export function compareEntryIds(a: EntryId, b: EntryId): number {
  return a.ms - b.ms || a.seq - b.seq;
}

/** One entry cut out of a pushed binary frame: bytes `[start, end)` for stream `sid`. */
export interface PushPart {
  /** Stream id as the header (or the path) names it, before device/prefix are applied. */
  readonly sid: string;
  /** An explicit entry id (triples only), else null: the store generates one. */
  readonly id: string | null;
  /** First byte in the frame. */
  readonly start: number;
  /** One past the last byte. */
  readonly end: number;
}

function isOffset(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

function describe(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 40 ? s.slice(0, 37) + "..." : s;
}

/**
 * Splits a pushed frame of `length` bytes by its JSON header, as redis-streamer
 * does (section 4.2 of the spec):
 * - `[n1, n2, …]`: end offsets, one per stream id of the path (`a+b`); a first
 *   value of 0 means the values are start offsets instead;
 * - `[[sid, end], …]`: pairs of stream id and end offset;
 * - `[[sid, id_or_null, end], …]`: triples with an explicit entry id.
 *
 * Offsets must be non-decreasing and within the frame, and the entries must
 * cover the whole frame (the original silently ignored bytes after the last
 * end and clipped offsets past it; telebus reports them).
 *
 * @throws StreamerProtocolError naming what is wrong
 */
export function splitPush(header: unknown, pathSids: readonly string[], length: number): PushPart[] {
  if (!Array.isArray(header)) throw new StreamerProtocolError(`header must be a JSON list, got ${describe(header)}`);
  if (header.length === 0) throw new StreamerProtocolError("header is an empty list");
  const parts: PushPart[] = [];
  if (header.every(isOffset)) {
    if (header.length !== pathSids.length) {
      throw new StreamerProtocolError(
        `header has ${header.length} offsets for ${pathSids.length} stream id(s) in the path`,
      );
    }
    if (header[0] === 0) {
      // start offsets: each entry runs to the next start, the last to the frame's end
      for (let i = 0; i < header.length; i++) {
        parts.push({
          sid: pathSids[i],
          id: null,
          start: header[i],
          end: i + 1 < header.length ? header[i + 1] : length,
        });
      }
    } else {
      for (let i = 0; i < header.length; i++) {
        parts.push({ sid: pathSids[i], id: null, start: i === 0 ? 0 : header[i - 1], end: header[i] });
      }
    }
  } else {
    let start = 0;
    for (const item of header) {
      if (!Array.isArray(item) || (item.length !== 2 && item.length !== 3)) {
        throw new StreamerProtocolError(
          `header items must be all offsets, [sid, end] pairs or [sid, id, end] triples; got ${describe(item)}`,
        );
      }
      const sid = item[0], end = item[item.length - 1], id = item.length === 3 ? item[1] : null;
      if (typeof sid !== "string" || sid === "") {
        throw new StreamerProtocolError(`stream id must be a non-empty string in ${describe(item)}`);
      }
      if (!isOffset(end)) throw new StreamerProtocolError(`end offset must be an integer >= 0 in ${describe(item)}`);
      if (id !== null && typeof id !== "string") {
        throw new StreamerProtocolError(`entry id must be a string or null in ${describe(item)}`);
      }
      parts.push({ sid, id, start, end });
      start = end;
    }
  }
  for (const p of parts) {
    if (p.end < p.start) {
      throw new StreamerProtocolError(`offsets go backwards (${p.start} then ${p.end}) for stream ${describe(p.sid)}`);
    }
    if (p.end > length) throw new StreamerProtocolError(`offset ${p.end} is past the frame's ${length} bytes`);
  }
  const covered = parts[parts.length - 1].end;
  if (covered !== length) {
    throw new StreamerProtocolError(`header covers ${covered} bytes but the frame has ${length}`);
  }
  return parts;
}

/** An entry as a pull or GET sends it. */
export interface PulledEntry {
  /** Stream id as the client sees it (device prefix stripped unless kept). */
  readonly sid: string;
  /** Entry id. */
  readonly id: string;
  /** The entry's bytes. */
  readonly data: Uint8Array;
}

/** One `[sid, entry_id, END_offset]` item of a pull header. */
export type OffsetTriple = [sid: string, id: string, end: number];

/** Concatenates entries into one body and lists their cumulative END offsets (as the original sends them). */
export function packEntries(
  entries: readonly PulledEntry[],
): { triples: OffsetTriple[]; body: Uint8Array<ArrayBuffer> } {
  let total = 0;
  for (const e of entries) total += e.data.length;
  const body = new Uint8Array(total);
  const triples: OffsetTriple[] = [];
  let end = 0;
  for (const e of entries) {
    body.set(e.data, end);
    end += e.data.length;
    triples.push([e.sid, e.id, end]);
  }
  return { triples, body };
}

/** JSON with every non-ASCII character escaped (Python's `ensure_ascii`), safe in an HTTP header. */
export function asciiJson(v: unknown): string {
  return JSON.stringify(v).replace(/[\u007f-\uffff]/g, (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"));
}

/** The pull header text as Starlette's `send_json` writes it: `[["cnt", "1-0", 5]]`. */
export function pullHeaderText(triples: readonly OffsetTriple[]): string {
  return "[" + triples.map(([s, i, e]) => `[${asciiJson(s)}, ${asciiJson(i)}, ${e}]`).join(", ") + "]";
}

/** The compact `x-offsets` header value of GET: `[["cnt","1-0",5]]`. */
export function offsetsHeaderValue(triples: readonly OffsetTriple[]): string {
  return asciiJson(triples);
}

const TRUE = new Set(["1", "true", "on", "yes", "t", "y"]);
const FALSE = new Set(["0", "false", "off", "no", "f", "n"]);

/** Reads a boolean query value as FastAPI does (`1`/`true`/`yes`/`on`, `0`/`false`/`no`/`off`). */
export function queryBool(q: URLSearchParams, key: string, fallback: boolean): boolean {
  const v = q.get(key);
  if (v === null) return fallback;
  const s = v.toLowerCase();
  if (TRUE.has(s)) return true;
  if (FALSE.has(s)) return false;
  throw new StreamerProtocolError(`query ${key}=${describe(v)} is not a boolean`);
}

/** Reads a non-negative number query value (integers unless `float`). */
export function queryNumber(q: URLSearchParams, key: string, fallback: number, float = false): number {
  const v = q.get(key);
  if (v === null) return fallback;
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n) || n < 0 || (!float && !Number.isInteger(n))) {
    throw new StreamerProtocolError(`query ${key}=${describe(v)} is not a ${float ? "number" : "whole number"} >= 0`);
  }
  return n;
}

/** Where reading starts: `$` (new entries only), `-`/`0` (the oldest), or after an id. */
export type Cursor = "$" | "-" | EntryId;

/** Parses a `last_entry_id` query value. */
export function parseCursor(text: string): Cursor {
  if (text === "$" || text === "-") return text;
  const id = parseEntryId(text);
  if (!id) {
    throw new StreamerProtocolError(`last_entry_id=${describe(text)} is not $, - or an entry id like 1700000000000-0`);
  }
  return id;
}

/** Stream selection shared by every endpoint: path stream ids, `device_id`, `prefix`. */
export interface StreamSelection {
  /** Stream ids of the path (`a+b` gives two). */
  readonly sids: readonly string[];
  /** `device_id` (default `default`). */
  readonly device: string;
  /** `prefix` (default empty). */
  readonly prefix: string;
}

/** Options of `ws …/pull` and `GET /data/{sid}`. */
export interface PullOptions extends StreamSelection {
  /** Start cursor. */
  readonly cursor: Cursor;
  /** Milliseconds a read waits for new entries (0: forever, as Redis's BLOCK 0). */
  readonly block: number;
  /** Most entries per stream per read. */
  readonly count: number;
  /** Newest entries first, skipping older ones (frame dropping). */
  readonly latest: boolean;
  /** Most sends per second (0: unlimited). */
  readonly maxFps: number;
  /** Wait for a client text frame after each send. */
  readonly ack: boolean;
  /** Send the JSON header before each binary frame. */
  readonly header: boolean;
  /** Keep `device:` in the stream ids sent (default: only when `device_id` holds `*`). */
  readonly keepDevice: boolean;
}

/** Options of `ws …/push`. */
export interface PushOptions extends StreamSelection {
  /** A JSON header precedes each binary frame. */
  readonly header: boolean;
  /** Reply with the list of new ids after each frame. */
  readonly ack: boolean;
}

function selection(sidPath: string, q: URLSearchParams): StreamSelection {
  const sids = sidPath.split("+");
  if (sids.some((s) => s === "")) throw new StreamerProtocolError(`empty stream id in ${describe(sidPath)}`);
  return { sids, device: q.get("device_id") ?? "default", prefix: q.get("prefix") ?? "" };
}

/** Parses the query of a push socket. */
export function parsePushQuery(sidPath: string, q: URLSearchParams): PushOptions {
  const sel = selection(sidPath, q);
  const header = queryBool(q, "header", true);
  if (!header && sel.sids.length > 1) {
    throw new StreamerProtocolError("several stream ids (a+b) need header=1 to say which bytes go where");
  }
  if (sel.device.includes("*")) throw new StreamerProtocolError("device_id must not hold * when pushing");
  return { ...sel, header, ack: queryBool(q, "ack", false) };
}

/** Parses the query of a pull socket (`http` false) or of a GET (`http` true; other defaults). */
export function parsePullQuery(sidPath: string, q: URLSearchParams, http: boolean): PullOptions {
  const sel = selection(sidPath, q);
  const count = queryNumber(q, "count", 1);
  if (count < 1) throw new StreamerProtocolError("count must be at least 1");
  const header = http ? true : queryBool(q, "header", true);
  if (!header && count > 1 && sel.sids.length > 1) {
    throw new StreamerProtocolError("header=0 cannot be combined with count>1 and several streams");
  }
  const keep = q.get("keep_device_id_in_stream_id");
  return {
    ...sel,
    cursor: parseCursor(q.get("last_entry_id") ?? (http ? "-" : "$")),
    block: queryNumber(q, "block", http ? 500 : 5000),
    count,
    latest: queryBool(q, "latest", false),
    maxFps: http ? 0 : queryNumber(q, "max_fps", 0, true),
    ack: http ? false : queryBool(q, "ack", false),
    header,
    keepDevice: keep === null ? sel.device.includes("*") : queryBool(q, "keep_device_id_in_stream_id", false),
  };
}

/** The store key of a stream: `{device}:{prefix}{sid}`, or `{prefix}{sid}` without device prefixing. */
export function streamKey(sel: { device: string; prefix: string }, sid: string, devicePrefixing: boolean): string {
  return devicePrefixing ? `${sel.device}:${sel.prefix}${sid}` : `${sel.prefix}${sid}`;
}

/** The stream id a client sees for `key`: the device prefix stripped unless `keepDevice`. */
export function clientSid(key: string, keepDevice: boolean, devicePrefixing: boolean): string {
  if (!devicePrefixing || keepDevice) return key;
  const i = key.indexOf(":");
  return i < 0 ? key : key.slice(i + 1);
}
