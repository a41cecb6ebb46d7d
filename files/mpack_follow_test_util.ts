/**
 * Helpers of the follow tests: records as the tests write them, a follower
 * that collects events and waits for a condition on them, and the event
 * summaries the failure messages show.
 *
 * @module
 */
import { encodeMsgpack } from "../codecs/msgpack.ts";
import { concat } from "../testing/mod.ts";
import { type FollowEvent, followMpack, type FollowOptions } from "./mpack_follow.ts";

/** The mpacklog fixtures (testdata/mpacklog). */
export const FIXTURES: URL = new URL("../testdata/mpacklog/", import.meta.url);

/** A record as the tests write them. */
export function rec(seq: number, pad = 0): Uint8Array {
  return encodeMsgpack({ seq, time: 1_700_000_000 + seq / 100, text: "x".repeat(pad), nested: { a: seq } });
}

/** `n` records with seq `first`, `first + 1`, …, back to back. */
export function records(n: number, first = 0, pad = 0): Uint8Array {
  return concat(...Array.from({ length: n }, (_, i) => rec(first + i, pad)));
}

/** Appends bytes to a file synchronously. */
export function append(path: string, bytes: Uint8Array): void {
  Deno.writeFileSync(path, bytes, { append: true });
}

/** The seq of every record of the events, in order. */
export function seqs(events: FollowEvent[]): number[] {
  return events.flatMap((e) => e.kind === "records" ? e.items.map((it) => it.value.seq as number) : []);
}

/** How many records the events hold. */
export function recordCount(events: FollowEvent[]): number {
  return events.reduce((n, e) => n + (e.kind === "records" ? e.items.length : 0), 0);
}

/** The kinds of the events, in order. */
export function kinds(events: FollowEvent[]): FollowEvent["kind"][] {
  return events.map((e) => e.kind);
}

/** Runs a test body in a fresh temporary directory that is removed afterwards. */
export async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "mpack_tail_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * Follows `path` and collects events until `done(events)` holds (then the
 * iteration is aborted) or `timeoutMs` passes (then it fails).
 */
export class Follower {
  /** Every event so far. */
  readonly events: FollowEvent[] = [];
  readonly #ac = new AbortController();
  readonly #done: Promise<void>;
  #waiters: { pred: (e: FollowEvent[]) => boolean; resolve: () => void }[] = [];

  /** Starts following `path` (polling every 5 ms unless `options` say otherwise). */
  constructor(path: string, options: Omit<FollowOptions, "signal" | "follow"> & { follow?: boolean } = {}) {
    const it = followMpack(path, { follow: true, pollInterval: 5, ...options, signal: this.#ac.signal });
    this.#done = (async () => {
      for await (const ev of it) {
        this.events.push(ev);
        this.#waiters = this.#waiters.filter((w) => w.pred(this.events) ? (w.resolve(), false) : true);
      }
    })();
  }

  /** Waits until `pred` holds for the events so far (at most `timeoutMs`). */
  async until(pred: (e: FollowEvent[]) => boolean, timeoutMs = 3000): Promise<void> {
    if (pred(this.events)) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        this.#waiters.push({ pred, resolve });
        timer = setTimeout(
          () => reject(new Error(`timed out; events so far: ${JSON.stringify(summary(this.events))}`)),
          timeoutMs,
        );
      });
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops following and waits for the iteration to end. */
  async stop(): Promise<FollowEvent[]> {
    this.#ac.abort();
    await this.#done;
    return this.events;
  }
}

/** Events without the bulky items, for failure messages. */
export function summary(events: FollowEvent[]): unknown[] {
  return events.map((e) =>
    e.kind === "records"
      ? { kind: e.kind, n: e.items.length, first: e.items[0].value.seq, end: e.endOffset }
      : e.kind === "switch"
      ? { kind: e.kind, reason: e.reason, from: e.from?.path, to: e.to.path }
      : e
  );
}

/** Every event of reading `path` once, to its end (not following). */
export async function readAll(path: string, options: Omit<FollowOptions, "follow"> = {}): Promise<FollowEvent[]> {
  const out: FollowEvent[] = [];
  for await (const ev of followMpack(path, { follow: false, ...options })) out.push(ev);
  return out;
}

/** Turns `{"$bin": base64}` tags of the fixtures back into bytes. */
export function unbin(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(unbin);
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    if (typeof o.$bin === "string" && Object.keys(o).length === 1) {
      return Uint8Array.from(atob(o.$bin), (c) => c.charCodeAt(0));
    }
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, unbin(x)]));
  }
  return v;
}

/** Garbage that holds no record: an empty map, map headers with bad keys or values, junk, a lone 0xc1. */
export function garbageBlock(): Uint8Array {
  const junk: number[] = [];
  let seed = 99;
  for (let i = 0; i < 200; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    let b = seed & 0xff;
    // Map headers are added deliberately below; random ones could, by chance, frame a valid record.
    if ((b >= 0x80 && b <= 0x8f) || b === 0xde || b === 0xdf) b = 0x05;
    junk.push(b);
  }
  return new Uint8Array([
    0x80, // empty map: rejected
    0x81,
    0x01,
    0x02, // map with an int key
    0x82,
    0xa1,
    0x61,
    0xc1, // map whose first value is the never-used byte
    0xde,
    0x00,
    0x05,
    0x07, // map16 with an int key
    0xdf,
    0xff,
    0xff,
    0xff,
    0xff, // map32 beyond the record limit
    ...junk,
    0xc1, // lone never-used byte right before the next record
  ]);
}

/** The garbage events, as [start, length]. */
export function garbageSpans(events: FollowEvent[]): [number, number][] {
  return events.flatMap((e) => e.kind === "garbage" ? [[e.start, e.length] as [number, number]] : []);
}
