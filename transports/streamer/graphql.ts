/**
 * redis-streamer's GraphQL schema (camelCased, as its Strawberry server
 * answers) on a {@linkcode StreamStore}: devices, streams with their
 * XINFO-style fields and JSON meta, the mutations, and the `streams`
 * subscription. The original's bugs are fixed: `disconnectDevice` works,
 * `updateStreamMeta(update: true)` merges into the meta (not the stream),
 * `first/lastEntryTime` answer a time for the default format, and the
 * subscription neither prefixes `None:` nor leaves the device in `streamId`.
 *
 * @module
 */
import { parseEntryId, streamKey } from "../../protocol/streamer/wire.ts";
import { sleep } from "../../core/async.ts";
import type { GraphqlContext, GraphqlRoots } from "../../net/graphql/server.ts";
import type { StreamEntry, StreamInfo, StreamStore } from "./store.ts";
import { maxId } from "./reads.ts";

export { streamerSchema, streamerSdl } from "./graphql_sdl.ts";

/** Where the original keeps a stream's meta: `:stream:meta:` + the stream key. */
export const STREAM_META_PREFIX = ":stream:meta:";
/** The set of connected devices. */
export const DEVICES_CONNECTED = ":devices:connected";
/** The set of devices ever seen. */
export const DEVICES_SEEN = ":devices:seen";
/** Where the original keeps a device's meta: `:devices:meta:` + its id. */
export const DEVICE_META_PREFIX = ":devices:meta:";
/** Event stream of device (dis)connections (field `d` = JSON). */
export const EVENT_DEVICE_CONNECTED = ":event:device.connected";
/** Event stream of device meta updates (field `d` = JSON). */
export const EVENT_DEVICE_META = ":event:device.meta";

function toBase64(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return btoa(s);
}

function decodeText(b: Uint8Array, format = "utf-8"): string {
  return new TextDecoder(format).decode(b);
}

/** The entry as JSON data: parsed, or its text when it is not JSON. */
function entryJson(b: Uint8Array): unknown {
  const text = decodeText(b);
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Parses stored JSON meta; `{}` when absent or unreadable (another writer may have put anything there). */
function parseMeta(text: string | undefined): unknown {
  if (text === undefined) return {};
  try {
    return JSON.parse(text);
  } catch {
    return {};
  }
}

function isDict(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/** Formats an entry id's time: ISO 8601 UTC by default, `ms`, `s`, or a strftime pattern (UTC). */
export function formatEntryTime(id: string | undefined, format: string): string {
  const ms = id === undefined ? undefined : parseEntryId(id)?.ms;
  if (ms === undefined) return "";
  const d = new Date(ms);
  if (format === "" || format === "iso") return d.toISOString();
  if (format === "ms") return String(ms);
  if (format === "s") return String(ms / 1000);
  return format.replace(/%([YmdHMSfjzZ%])/g, (_, c: string) => {
    switch (c) {
      case "Y":
        return String(d.getUTCFullYear());
      case "m":
        return pad(d.getUTCMonth() + 1);
      case "d":
        return pad(d.getUTCDate());
      case "H":
        return pad(d.getUTCHours());
      case "M":
        return pad(d.getUTCMinutes());
      case "S":
        return pad(d.getUTCSeconds());
      case "f":
        return pad(d.getUTCMilliseconds() * 1000, 6);
      case "j":
        return pad(Math.floor((ms - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86_400_000) + 1, 3);
      case "z":
        return "+0000";
      case "Z":
        return "UTC";
      default:
        return "%";
    }
  });
}

/** One `Stream`: XINFO is asked once, when the first field needs it. */
class StreamView {
  #info?: Promise<StreamInfo | undefined>;

  constructor(readonly store: StreamStore, readonly key: string, readonly id: string) {}

  #get(): Promise<StreamInfo | undefined> {
    return this.#info ??= this.store.info(this.key);
  }

  async #field<T>(f: (i: StreamInfo) => T, dflt: T): Promise<T> {
    const i = await this.#get();
    return i ? f(i) : dflt;
  }

  error = () => this.#field(() => "", "no such key");
  firstEntryId = () => this.#field((i) => i.firstEntry?.id ?? "", "");
  lastEntryId = () => this.#field((i) => i.lastEntry?.id ?? "", "");
  lastGeneratedId = () => this.#field((i) => i.lastGeneratedId, "");
  recordedFirstEntryId = () => this.#field((i) => i.recordedFirstEntryId, "");
  maxDeletedEntryId = () => this.#field((i) => i.maxDeletedEntryId, "");
  radixTreeKeys = () => this.#field((i) => i.radixTreeKeys ?? 0, 0);
  radixTreeNodes = () => this.#field((i) => i.radixTreeNodes ?? 0, 0);
  groups = () => this.#field((i) => i.groups ?? 0, 0);
  length = () => this.#field((i) => i.length, 0);
  entriesAdded = () => this.#field((i) => i.entriesAdded, 0);
  meta = async () => parseMeta(await this.store.getValue(STREAM_META_PREFIX + this.key));
  firstEntryTime = ({ format }: { format: string }) =>
    this.#field((i) => formatEntryTime(i.firstEntry?.id, format), "");
  lastEntryTime = ({ format }: { format: string }) => this.#field((i) => formatEntryTime(i.lastEntry?.id, format), "");
  firstEntryData = () => this.#field((i) => i.firstEntry ? toBase64(i.firstEntry.data) : "", "");
  lastEntryData = () => this.#field((i) => i.lastEntry ? toBase64(i.lastEntry.data) : "", "");
  firstEntryString = () => this.#field((i) => i.firstEntry ? decodeText(i.firstEntry.data) : "", "");
  lastEntryString = () => this.#field((i) => i.lastEntry ? decodeText(i.lastEntry.data) : "", "");
  firstEntryJson = () => this.#field((i) => i.firstEntry ? entryJson(i.firstEntry.data) : {}, {});
  lastEntryJson = () => this.#field((i) => i.lastEntry ? entryJson(i.lastEntry.data) : {}, {});
}

/** A subscription event: the union member carries its `__typename`. */
interface Payload {
  streams: Record<string, unknown> & { __typename: "DataPayload" | "DataPayloads" };
}

/** Fields are resolved when the event is sent: a queued event holds the store's entry, not copies of it. */
function payload(streamId: string, e: StreamEntry) {
  return {
    __typename: "DataPayload" as const,
    streamId,
    time: e.id,
    data: () => toBase64(e.data),
    string: ({ format }: { format: string }) => decodeText(e.data, format),
    json: () => entryJson(e.data),
  };
}

function payloads(streamId: string, es: readonly StreamEntry[]) {
  return {
    __typename: "DataPayloads" as const,
    streamId,
    time: es.map((e) => e.id),
    data: () => es.map((e) => toBase64(e.data)),
    string: ({ format }: { format: string }) => es.map((e) => decodeText(e.data, format)),
    json: () => es.map((e) => entryJson(e.data)),
  };
}

/** Entries one read of a `count: 0` subscription takes (each becomes one event). */
const READ_BATCH = 100;

/** Arguments of the `streams` subscription. */
interface SubscribeArgs {
  streamIds: unknown;
  device?: string | null;
  count: number;
  block: number;
  latest: boolean;
}

/** Reads `streamIds` as the original accepts it: a list, an `a+b` string, or `{sid: cursor}`. */
function cursorsOf(streamIds: unknown): [string, string][] {
  if (typeof streamIds === "string") return streamIds.split("+").map((s) => [s, "$"]);
  if (Array.isArray(streamIds) && streamIds.every((s) => typeof s === "string")) {
    return streamIds.map((s: string) => [s, "$"]);
  }
  if (isDict(streamIds) && Object.values(streamIds).every((c) => typeof c === "string")) {
    return Object.entries(streamIds) as [string, string][];
  }
  throw new Error("streamIds must be a list of stream ids, an a+b string, or an object of stream id to cursor");
}

/** Options of {@linkcode streamerRoots}. */
export interface StreamerRootsOptions {
  /** Keys are `{device}:{sid}` (the original's multi-device mode). */
  readonly devicePrefixing: boolean;
  /** Ends every subscription when the store stops. */
  readonly signal: AbortSignal;
}

/** The resolvers of the streamer schema on `store`. */
export function streamerRoots(store: StreamStore, options: StreamerRootsOptions): GraphqlRoots {
  const prefixing = options.devicePrefixing;
  const keyOf = (device: string, sid: string) => streamKey({ device, prefix: "" }, sid, prefixing);

  const streamIds = async (match: string | null | undefined, searchMeta: boolean, prefix: string) => {
    const glob = prefix + (match ?? "*");
    const ids = new Set(await store.keys(glob));
    if (searchMeta) {
      for (const k of await store.valueKeys(STREAM_META_PREFIX + glob)) ids.add(k.slice(STREAM_META_PREFIX.length));
    }
    return [...ids].filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length)).sort();
  };
  const streams = async (ids: readonly string[] | null | undefined, match: string | null | undefined, prefix: string) =>
    (ids ?? await streamIds(match, true, prefix)).map((id) => new StreamView(store, prefix + id, id));

  const device = (id: string) => {
    const prefix = `${id}:`;
    return {
      id,
      meta: async () => parseMeta(await store.getValue(DEVICE_META_PREFIX + id)),
      streamIds: () => streamIds(null, true, prefix),
      streams: () => streams(null, null, prefix),
      stream: ({ streamId }: { streamId: string }) => new StreamView(store, prefix + streamId, streamId),
    };
  };

  const fire = (key: string, event: Record<string, unknown>) =>
    store.add(key, new TextEncoder().encode(JSON.stringify(event)), { trim: false });

  const query = {
    devices: async ({ ids, includeAll }: { ids?: string[] | null; includeAll: boolean }) =>
      (ids ?? await store.setMembers(includeAll ? DEVICES_SEEN : DEVICES_CONNECTED)).map(device),
    device: ({ id }: { id: string }) => device(id),
    streamIds: (a: { match?: string | null; searchMeta: boolean; prefix: string }) =>
      streamIds(a.match, a.searchMeta, a.prefix),
    streams: (a: { ids?: string[] | null; match?: string | null; prefix: string }) => streams(a.ids, a.match, a.prefix),
    stream: ({ id }: { id: string }) => new StreamView(store, id, id),
  };

  const mutation = {
    flush: async () => {
      await store.flush();
      return 1;
    },
    updateStreamMeta: async (a: { streamId: string; meta: unknown; deviceId: string; update: boolean }) => {
      const key = STREAM_META_PREFIX + keyOf(a.deviceId, a.streamId);
      let meta = a.meta;
      if (a.update) {
        // The original read the stream key here; the meta key is what is meant.
        const old = parseMeta(await store.getValue(key));
        if (isDict(old) && isDict(meta)) meta = { ...old, ...meta };
      }
      await store.setValue(key, JSON.stringify(meta));
      return { meta_set: true };
    },
    deleteStream: async (a: { streamId: string; deviceId: string }) => {
      const key = keyOf(a.deviceId, a.streamId);
      const data = await store.delete(key);
      const meta = await store.delete(STREAM_META_PREFIX + key);
      return { data_deleted: data, meta_deleted: meta, stream_deleted: data || meta };
    },
    connectDevice: async ({ deviceId, meta }: { deviceId: string; meta: unknown }) => {
      const changed = await store.setAdd(DEVICES_CONNECTED, deviceId);
      const isNew = await store.setAdd(DEVICES_SEEN, deviceId);
      await store.setValue(DEVICE_META_PREFIX + deviceId, JSON.stringify(meta));
      if (changed) await fire(EVENT_DEVICE_CONNECTED, { device_id: deviceId, connected: true });
      await fire(EVENT_DEVICE_META, { device_id: deviceId, meta });
      return {
        connection_status_changed: changed,
        connected: true,
        is_new_device: isNew,
        meta_set: true,
        "fired:device.connected": changed,
        "fired:device.meta": true,
      };
    },
    updateDeviceMeta: async ({ deviceId, meta }: { deviceId: string; meta: unknown }) => {
      await store.setAdd(DEVICES_SEEN, deviceId);
      await store.setValue(DEVICE_META_PREFIX + deviceId, JSON.stringify(meta));
      await fire(EVENT_DEVICE_META, { device_id: deviceId, meta });
      return { meta_set: true, "fired:device.meta": true };
    },
    disconnectDevice: async ({ deviceId }: { deviceId: string }) => {
      // The original called a non-existent `p.rem` here: SREM is what is meant.
      const changed = await store.setRemove(DEVICES_CONNECTED, deviceId);
      if (changed) await fire(EVENT_DEVICE_CONNECTED, { device_id: deviceId, connected: false });
      return { connection_status_changed: changed, connected: false, "fired:device.connected": changed };
    },
  };

  const subscription = {
    streams: (a: SubscribeArgs, ctx: GraphqlContext): AsyncIterableIterator<Payload> => {
      const given = cursorsOf(a.streamIds);
      const dev = a.device ?? null;
      // Without a device the ids are raw keys (the original prefixed "None:").
      const keys = given.map(([sid, c]) => {
        const key = dev === null ? sid : keyOf(dev, sid);
        return { key, sid, cursor: c === "$" ? `${Date.now()}-0` : c === "-" ? "0-0" : c };
      });
      return subscribeStreams(store, keys, a, ctx, options.signal);
    },
  };

  return prefixing ? { query, mutation, subscription } : {
    query: { streamIds: query.streamIds, streams: query.streams, stream: query.stream },
    mutation: {
      flush: mutation.flush,
      updateStreamMeta: mutation.updateStreamMeta,
      deleteStream: mutation.deleteStream,
    },
    subscription,
  };
}

/**
 * The subscription as an iterator whose `return` (the client completed or
 * went away) aborts a blocked read at once, instead of waiting out `block`.
 */
function subscribeStreams(
  store: StreamStore,
  keys: { key: string; sid: string; cursor: string }[],
  a: SubscribeArgs,
  ctx: GraphqlContext,
  stop: AbortSignal,
): AsyncIterableIterator<Payload> {
  const ac = new AbortController();
  const onStop = () => ac.abort();
  stop.addEventListener("abort", onStop, { once: true });
  const signal = ac.signal;
  const cursors = new Map(keys.map((k) => [k.key, k.cursor]));
  const sids = new Map(keys.map((k) => [k.key, k.sid]));
  const queue: Payload[] = [];
  // block 0 waits for ever, as XREAD BLOCK 0 does; a negative block means no wait.
  const block = a.block >= 0 ? a.block : undefined;
  // count 0 reads everything new (XREAD without COUNT), in reads of READ_BATCH: what a subscription holds
  // while its client catches up (with up to max_subscriptions of them) stays small.
  const count = a.count > 0 ? a.count : READ_BATCH;

  async function fill(): Promise<void> {
    while (queue.length === 0 && !signal.aborted) {
      if (!await ctx.writable(signal)) return;
      let got: [string, StreamEntry[]][] = [];
      if (a.latest) {
        for (const [key, c] of cursors) {
          const es = await store.revRange(key, { after: c, count: Math.max(1, a.count) });
          if (es.length > 0) got.push([key, es.reverse()]);
        }
      }
      if (got.length === 0) got = await store.read([...cursors], { count, block, signal });
      // Without blocking, an idle stream would spin: poll instead.
      if (got.length === 0 && block === undefined) await sleep(100, signal);
      for (const [key, es] of got) {
        let c = cursors.get(key)!;
        for (const e of es) c = maxId(c, e.id);
        cursors.set(key, c);
        const sid = sids.get(key)!;
        if (a.count > 0) queue.push({ streams: payloads(sid, es) });
        else for (const e of es) queue.push({ streams: payload(sid, e) });
      }
    }
  }

  const end = (): IteratorResult<Payload> => {
    ac.abort();
    stop.removeEventListener("abort", onStop);
    return { value: undefined, done: true };
  };
  return {
    async next() {
      // Each event, not only each read, waits for room: a read of 100 entries must not go out at once.
      if (queue.length > 0 && !await ctx.writable(signal)) return end();
      if (queue.length === 0) await fill();
      const v = queue.shift();
      return v && !signal.aborted ? { value: v, done: false } : end();
    },
    return() {
      return Promise.resolve(end());
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
