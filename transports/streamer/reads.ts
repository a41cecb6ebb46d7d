/**
 * How the streamer API reads a store for a pull or a GET: which keys, one read (newest first for `latest`),
 * and the cursors moved past what was read.
 *
 * @module
 */
import {
  clientSid,
  type Cursor,
  formatEntryId,
  parseEntryId,
  type PullOptions,
  streamKey,
} from "../../protocol/streamer/wire.ts";
import { sleep } from "../../core/async.ts";
import type { StreamEntry, StreamStore } from "./store.ts";

/** The greater of two ids (numerically). */
export function maxId(a: string, b: string): string {
  const x = parseEntryId(a), y = parseEntryId(b);
  if (!x || !y) return b;
  return x.ms > y.ms || (x.ms === y.ms && x.seq > y.seq) ? a : b;
}

/** The id a cursor starts after: `$` is now, `-` the beginning. */
export function cursorText(c: Cursor): string {
  return c === "$" ? `${Date.now()}-0` : c === "-" ? "0-0" : formatEntryId(c);
}

/** The store keys a pull or GET reads: its streams, or those matching its device pattern. */
export async function pullKeys(store: StreamStore, opts: PullOptions, devicePrefixing: boolean): Promise<string[]> {
  if (!opts.device.includes("*")) return opts.sids.map((s) => streamKey(opts, s, devicePrefixing));
  const keys: string[] = [];
  for (const s of opts.sids) keys.push(...await store.keys(streamKey(opts, s, devicePrefixing)));
  return keys;
}

/** One read: `latest` looks at the newest entries first and falls back to a blocking read. */
export async function fetchEntries(
  store: StreamStore,
  keys: readonly string[],
  cursors: Map<string, string>,
  opts: PullOptions,
  signal: AbortSignal,
): Promise<[string, StreamEntry[]][]> {
  if (opts.latest) {
    const got: [string, StreamEntry[]][] = [];
    for (const k of keys) {
      const es = await store.revRange(k, { after: cursors.get(k), count: opts.count });
      if (es.length > 0) got.push([k, es]);
    }
    if (got.length > 0) return got;
  }
  if (keys.length === 0) {
    await sleep(opts.block || 1000, signal);
    return [];
  }
  return await store.read(keys.map((k) => [k, cursors.get(k)!] as const), {
    count: opts.count,
    block: opts.block,
    signal,
  });
}

/** Moves each stream's cursor to the greatest id returned; returns the entries as clients see them. */
export function advanceCursors(
  got: [string, StreamEntry[]][],
  cursors: Map<string, string>,
  opts: PullOptions,
  devicePrefixing: boolean,
): { sid: string; id: string; data: Uint8Array }[] {
  const entries = [];
  for (const [key, es] of got) {
    let c = cursors.get(key)!;
    const sid = clientSid(key, opts.keepDevice, devicePrefixing);
    for (const e of es) {
      c = maxId(c, e.id);
      entries.push({ sid, id: e.id, data: e.data });
    }
    cursors.set(key, c);
  }
  return entries;
}
