/**
 * Reading MCAP files back as telemetry records: every message in file order
 * as `{stream, time, data}` (topic, log time, the decoded map), from the
 * `json` encoding the `mcap` output writes by default (bigints exact, bytes
 * from their `{"$bin"}` form) or from `msgpack`. The reader walks records as
 * they come (`McapStreamReader`), so it also reads a file whose writer died
 * before the footer, up to its last whole chunk.
 *
 * @module
 */
import { McapIndexedReader, McapStreamReader, type McapTypes } from "npm:@mcap/core@^2.2.2";
import type { Dict, Value } from "../core/record.ts";
import { decodeMsgpack } from "./msgpack.ts";
import { MCAP_DECOMPRESS } from "./mcap.ts";

/** One message of an MCAP file as a record. */
export interface McapRecord {
  /** The channel's topic: the stream name. */
  stream: string;
  /** The log time in nanoseconds since the epoch. */
  time: bigint;
  /** The decoded message. */
  data: Dict;
  /** The message's sequence number. */
  sequence: number;
  /** The channel's message encoding (`json`, `msgpack`). */
  encoding: string;
  /** The message's bytes as stored. */
  raw: Uint8Array;
}

/** Where MCAP bytes come from: a file path, the bytes, or a stream of byte pieces. */
export type McapSource = string | Uint8Array | AsyncIterable<Uint8Array>;

/** Bytes of a source in pieces of about 1 MiB. */
async function* piecesOf(source: McapSource): AsyncGenerator<Uint8Array> {
  if (source instanceof Uint8Array) {
    yield source;
    return;
  }
  if (typeof source !== "string") {
    yield* source;
    return;
  }
  const file = await Deno.open(source, { read: true });
  try {
    const buf = new Uint8Array(1 << 20);
    for (;;) {
      const n = await file.read(buf);
      if (n === null) return;
      yield buf.slice(0, n);
    }
  } finally {
    file.close();
  }
}

/** How {@linkcode walkMcap} ended: at the footer, or where the bytes ran out or went bad (a torn file). */
export interface McapWalkEnd {
  /** True when the file ended with its footer. */
  complete: boolean;
  /** Why the walk stopped early: a parse error's message. */
  error?: string;
}

/**
 * Every record of an MCAP file in order, chunks opened (`@mcap/core`'s stream reader). Stops quietly at a torn
 * end; `end` (when given) is told whether the footer was reached, or the error that stopped the walk.
 */
export async function* walkMcap(
  source: McapSource,
  end?: (e: McapWalkEnd) => void,
): AsyncGenerator<McapTypes.TypedMcapRecord> {
  const reader = new McapStreamReader({ decompressHandlers: MCAP_DECOMPRESS });
  try {
    for await (const piece of piecesOf(source)) {
      reader.append(piece);
      for (let r; (r = reader.nextRecord());) yield r;
      if (reader.done()) break;
    }
  } catch (e) {
    end?.({ complete: false, error: e instanceof Error ? e.message : String(e) });
    return;
  }
  end?.({ complete: reader.done() });
}

const decoder = new TextDecoder();

/** Turns `{"$bin": "<base64>"}` back into bytes and whole numbers past 2^53 into exact bigints. */
function revive(this: unknown, _key: string, value: unknown, context?: { source?: string }): unknown {
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value) && context?.source !== undefined && /^-?\d+$/.test(context.source)) {
      return BigInt(context.source);
    }
    return value;
  }
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    const keys = Object.keys(value);
    const bin = (value as Dict).$bin;
    if (keys.length === 1 && typeof bin === "string") return Uint8Array.from(atob(bin), (c) => c.charCodeAt(0));
  }
  return value;
}

/** A message's bytes in its channel's encoding as a map; throws when they are not one. */
export function decodeMcapMessage(data: Uint8Array, encoding: string): Dict {
  let v: Value;
  if (encoding === "json") {
    v = JSON.parse(decoder.decode(data), revive as (k: string, v: unknown) => unknown) as Value;
  } else if (encoding === "msgpack") v = decodeMsgpack(data);
  else throw new Error(`message encoding '${encoding}' is not read by telebus (json, msgpack)`);
  if (v === null || typeof v !== "object" || Array.isArray(v) || ArrayBuffer.isView(v) || v instanceof Date) {
    throw new Error("the message is not a map");
  }
  return v as Dict;
}

/**
 * The messages of an MCAP file as records, in file order (the order they were written in). `end` is told how the
 * file ended (see {@linkcode walkMcap}).
 */
export async function* readMcapRecords(
  source: McapSource,
  end?: (e: McapWalkEnd) => void,
): AsyncGenerator<McapRecord> {
  const channels = new Map<number, McapTypes.Channel>();
  for await (const r of walkMcap(source, end)) {
    if (r.type === "Channel") channels.set(r.id, r);
    else if (r.type === "Message") {
      const ch = channels.get(r.channelId);
      if (!ch) throw new Error(`message on unknown channel ${r.channelId}`);
      yield {
        stream: ch.topic,
        time: r.logTime,
        data: decodeMcapMessage(r.data, ch.messageEncoding),
        sequence: r.sequence,
        encoding: ch.messageEncoding,
        raw: r.data,
      };
    }
  }
}

/** A file as `@mcap/core`'s `IReadable`, for {@linkcode McapIndexedReader}. Close it with `close()`. */
export class McapFileReadable implements McapTypes.IReadable {
  readonly #file: Deno.FsFile;
  #size?: bigint;

  private constructor(file: Deno.FsFile) {
    this.#file = file;
  }

  /** Opens a file for reading. */
  static async open(path: string): Promise<McapFileReadable> {
    return new McapFileReadable(await Deno.open(path, { read: true }));
  }

  /** The file's size. */
  async size(): Promise<bigint> {
    return this.#size ??= BigInt((await this.#file.stat()).size);
  }

  /** `size` bytes at `offset`. */
  async read(offset: bigint, size: bigint): Promise<Uint8Array> {
    const out = new Uint8Array(Number(size));
    await this.#file.seek(offset, Deno.SeekMode.Start);
    for (let at = 0; at < out.length;) {
      const n = await this.#file.read(out.subarray(at));
      if (n === null) throw new Error(`short read at ${offset + BigInt(at)}`);
      at += n;
    }
    return out;
  }

  /** Closes the file. */
  close(): void {
    this.#file.close();
  }
}

/** Opens an MCAP file with `McapIndexedReader` (summary, indexes); throws when it has none (a torn file). */
export async function openIndexedMcap(path: string): Promise<{ reader: McapIndexedReader; close(): void }> {
  const readable = await McapFileReadable.open(path);
  try {
    const reader = await McapIndexedReader.Initialize({ readable, decompressHandlers: MCAP_DECOMPRESS });
    return { reader, close: () => readable.close() };
  } catch (e) {
    readable.close();
    throw e;
  }
}
