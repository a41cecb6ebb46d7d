/**
 * A `.mpack` recording (mpacklog's format) read from its start to its end:
 * each record with its stream and time, its bytes passed on undecoded (a
 * replay into `mpack_file` writes them as they were). Torn records and
 * garbage are skipped by the resynchronising reader and reported.
 *
 * @module
 */
import type { Dict } from "../core/record.ts";
import { secondsToNs } from "../core/record.ts";
import { type MpackStreamItem, MpackStreamReader } from "./mpack_stream.ts";
import { decodeMsgpack } from "./msgpack.ts";
import { findTopLevelValue, readNumberAt, readStringAt, type ScanKey, scanKey } from "./msgpack_scan.ts";
import type { RecordingOptions, RecordingRecord } from "./recording_record.ts";

/** Bytes read at once. Each read gets a fresh buffer: the records handed out are views into it. */
const CHUNK = 1 << 20;

/** A record of a `.mpack` recording, decoded only when something reads `data`. */
class MpackRecordingRecord implements RecordingRecord {
  #data?: Dict;
  constructor(
    readonly stream: string,
    readonly time: bigint,
    readonly msgpack: Uint8Array,
    readonly offset: number,
  ) {}

  get data(): Dict {
    return this.#data ??= decodeMsgpack(this.msgpack) as Dict;
  }
}

/** Every item of an open `.mpack` file, its torn end included. */
async function* mpackItems(file: Deno.FsFile, maxRecordBytes?: number): AsyncGenerator<MpackStreamItem> {
  const reader = new MpackStreamReader({ decode: false, maxRecordBytes });
  for (;;) {
    const buf = new Uint8Array(CHUNK);
    const n = await file.read(buf);
    if (n === null) break;
    reader.push(buf.subarray(0, n));
    for (let item = reader.next(); item; item = reader.next()) yield item;
  }
  for (let item = reader.finish(); item; item = reader.next()) yield item;
}

/** The time in the record's `key`: seconds as a number, or whole seconds as a big integer. */
function timeAt(raw: Uint8Array, key: ScanKey): bigint | undefined {
  const p = findTopLevelValue(raw, key);
  const t = p < 0 ? undefined : readNumberAt(raw, p);
  if (typeof t === "number") return Number.isFinite(t) ? secondsToNs(t) : undefined;
  return typeof t === "bigint" ? t * 1_000_000_000n : undefined;
}

/** Opens `path`, naming it in the error. */
async function open(path: string): Promise<Deno.FsFile> {
  try {
    return await Deno.open(path);
  } catch (e) {
    throw new Error(`cannot open recording ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/** The time of the first record of `path` that has one (undefined when none has). */
async function firstTime(path: string, key: ScanKey, maxRecordBytes?: number): Promise<bigint | undefined> {
  using file = await open(path);
  for await (const item of mpackItems(file, maxRecordBytes)) {
    if (item.kind !== "record") continue;
    const t = timeAt(item.raw, key);
    if (t !== undefined) return t;
  }
  return undefined;
}

/** The records of the `.mpack` recording at `path` (see `openRecording` in `recording.ts`). */
export async function* readMpackRecording(
  path: string,
  options: RecordingOptions = {},
): AsyncGenerator<RecordingRecord> {
  const timeKey = scanKey(options.timeKey ?? "time");
  const streamKey = options.streamKey === undefined ? undefined : scanKey(options.streamKey);
  const fallback = options.stream ?? "recording";
  const max = options.maxRecordBytes;
  let last: bigint | undefined;
  using file = await open(path);
  for await (const item of mpackItems(file, max)) {
    if (item.kind === "garbage") {
      options.onProblem?.({ path, offset: item.start, length: item.length, reason: item.reason });
      continue;
    }
    const raw = item.raw;
    let time = timeAt(raw, timeKey);
    // A record without a time plays with the one before it; leading ones with the first that has a time, found
    // by reading ahead once (only such files pay for it).
    if (time === undefined) time = last ??= await firstTime(path, timeKey, max) ?? 0n;
    else last = time;
    let stream = fallback;
    if (streamKey) {
      const p = findTopLevelValue(raw, streamKey);
      if (p >= 0) stream = readStringAt(raw, p) ?? fallback;
    }
    yield new MpackRecordingRecord(stream, time, raw, item.start);
  }
}
