/**
 * The GraphQL schema telebus serves: the daemon's inputs and outputs with
 * their counters, the streams seen, the newest record of a stream, and a
 * `records` subscription by stream glob.
 *
 * @module
 */
import { buildSchema, type GraphQLSchema } from "npm:graphql@^16.11.0";
import type { BusRecord, Value } from "../../core/record.ts";
import { nsToSeconds } from "../../core/record.ts";

/** The schema, in SDL. */
export const TELEBUS_SDL = `
"Any JSON value. Integers beyond 2^53 are strings; bytes are {\\"$bin\\": base64}; NaN and Infinity are null."
scalar JSON

"An input or an output of the daemon, with its counters."
type Part {
  name: String!
  type: String!
  kind: String!
  records: Float!
  bytes: Float!
  errors: Float!
  "Records dropped, by reason."
  dropped: JSON!
  "Transport counters (e.g. garbage_bytes)."
  counters: JSON!
  "Gauges (e.g. queue_records)."
  gauges: JSON!
}

"A record on the bus."
type Record {
  stream: String!
  "Seconds since the epoch (microsecond resolution)."
  time: Float!
  "Nanoseconds since the epoch, exactly, as a decimal string."
  timeNs: String!
  source: String!
  data: JSON!
}

"A stream this endpoint has seen."
type StreamInfo {
  stream: String!
  count: Float!
  lastTime: Float!
}

type Query {
  inputs: [Part!]!
  outputs: [Part!]!
  "Streams seen, optionally only those whose name contains match (Query.streams is redis-streamer's)."
  telebusStreams(match: String): [StreamInfo!]!
  "The newest record of a stream, or null."
  latest(stream: String!): Record
}

type Subscription {
  "Every record of the streams matching these globs (default: all). A slow subscriber loses the oldest."
  records(streams: [String!]): Record!
}
`;

/** The executable schema (resolvers come in as the root value). */
export const telebusSchema: GraphQLSchema = buildSchema(TELEBUS_SDL);

function toBase64(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return btoa(s);
}

/** A telemetry value as plain JSON data (GraphQL responses are JSON). */
export function jsonSafe(v: Value | undefined): unknown {
  if (v === null || v === undefined) return null;
  switch (typeof v) {
    case "number":
      return Number.isFinite(v) ? v : null;
    case "bigint":
      return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
    case "object": {
      if (Array.isArray(v)) return v.map(jsonSafe);
      if (v instanceof Uint8Array) return { $bin: toBase64(v) };
      if (ArrayBuffer.isView(v)) return Array.from(v as unknown as ArrayLike<number>);
      if (v instanceof Date) return v.toISOString();
      const out: Record<string, unknown> = {};
      for (const k in v) out[k] = jsonSafe(v[k]);
      return out;
    }
    default:
      return v;
  }
}

/** The GraphQL view of a record. */
export interface RecordView {
  /** Stream name. */
  stream: string;
  /** Seconds since the epoch. */
  time: number;
  /** Nanoseconds since the epoch, as text. */
  timeNs: string;
  /** The input's name. */
  source: string;
  /** The dictionary as JSON data. */
  data: unknown;
}

/** Builds the GraphQL view of a record. */
export function recordView(r: BusRecord): RecordView {
  return {
    stream: r.stream,
    time: nsToSeconds(r.time),
    timeNs: r.time.toString(),
    source: r.source,
    data: jsonSafe(r.data),
  };
}
