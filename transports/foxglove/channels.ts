/**
 * The channels of the Foxglove server: one per stream, with a JSON Schema
 * inferred from its records. When a record of a new shape widens the schema,
 * the stream gets a new channel (a new id: the protocol has no way to change
 * an advertised channel's schema), and the old one is withdrawn.
 *
 * @module
 */
import type { Channel } from "npm:@foxglove/ws-protocol@^0.8.0";
import type { BusRecord } from "../../core/record.ts";
import { inferSchema, type JsonSchema, mergeSchema, sameShape, shapeKey } from "../../codecs/json_schema.ts";

/** Shapes remembered per stream; beyond this the set starts again (a stream whose keys keep changing). */
const MAX_SHAPES = 256;

/** One stream's channel. */
export interface StreamChannel {
  /** The advertised channel. */
  channel: Channel;
  /** The schema as an object, to widen. */
  schema: JsonSchema;
  /** Shapes already covered by the schema. */
  shapes: Set<string>;
  /** The newest record, for a client that subscribes later (its shape is covered by the schema). */
  latest?: BusRecord;
}

/**
 * The schema as Foxglove's JSON Schema reader takes it (one `type` per member, `number` for every number, arrays
 * with typed items): a member that may be null keeps its other type, and a member whose type cannot be said so
 * (only nulls, two kinds of value, an array with no or mixed items) is left out of the schema — its values still
 * come in the messages. Undefined when nothing is left.
 */
export function portable(s: JsonSchema): JsonSchema | undefined {
  const all = s.type === undefined ? [] : Array.isArray(s.type) ? s.type : [s.type];
  let types = all.filter((t) => t !== "null");
  if (types.length > 1 && types.every((t) => t === "number" || t === "integer")) types = ["number"];
  if (types.length !== 1) return undefined;
  const type = types[0];
  if (type === "object") {
    const properties: Record<string, JsonSchema> = {};
    for (const [k, m] of Object.entries(s.properties ?? {})) {
      const p = portable(m);
      if (p) properties[k] = p;
    }
    return { type, properties };
  }
  if (type === "array") {
    const items = s.items && portable(s.items);
    return items ? { type, items } : undefined;
  }
  return { type };
}

/** What a record did to the channel table. */
export interface ChannelChange {
  /** A channel now advertised (a new stream, or a wider schema). */
  added: Channel;
  /** The channel it replaces, withdrawn. */
  removed?: number;
}

/** The channels by stream, and by id. */
export class ChannelTable {
  readonly #byStream = new Map<string, StreamChannel>();
  readonly #byId = new Map<number, StreamChannel>();
  #nextId = 1;

  /**
   * Creates an empty table.
   *
   * @param max most channels (streams) at once
   */
  constructor(readonly max: number) {}

  /** Every advertised channel. */
  get channels(): Channel[] {
    return [...this.#byStream.values()].map((c) => c.channel);
  }

  /** How many channels are advertised. */
  get size(): number {
    return this.#byStream.size;
  }

  /** The channel of an id, if still advertised. */
  byId(id: number): StreamChannel | undefined {
    return this.#byId.get(id);
  }

  /**
   * The channel of the record's stream (undefined beyond `max` streams), and the change made when the stream is
   * new or the record's shape widens its schema.
   */
  place(r: BusRecord): { channel?: StreamChannel; change?: ChannelChange } {
    let c = this.#byStream.get(r.stream);
    // Most records are shaped like the one before them: checked without building a key.
    if (c?.latest && sameShape(r.data, c.latest.data)) return { channel: c };
    const key = shapeKey(r.data);
    if (c?.shapes.has(key)) return { channel: c };
    if (!c && this.#byStream.size >= this.max) return {};
    const schema = c ? mergeSchema(c.schema, inferSchema(r.data)) : inferSchema(r.data);
    const text = JSON.stringify(portable(schema) ?? { type: "object", properties: {} });
    if (c && text === c.channel.schema) {
      c.schema = schema;
      if (c.shapes.size >= MAX_SHAPES) c.shapes.clear();
      c.shapes.add(key);
      return { channel: c };
    }
    const removed = c?.channel.id;
    if (removed !== undefined) this.#byId.delete(removed);
    const channel: Channel = {
      id: this.#nextId++,
      topic: r.stream,
      encoding: "json",
      schemaName: r.stream,
      schema: text,
      schemaEncoding: "jsonschema",
    };
    c = { channel, schema, shapes: new Set([key]), latest: c?.latest };
    this.#byStream.set(r.stream, c);
    this.#byId.set(channel.id, c);
    return { channel: c, change: { added: channel, removed } };
  }
}
