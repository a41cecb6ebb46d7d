/**
 * Repair of a `.mpack` file's tail before appending to it: the torn record
 * (or the zeros a power loss can leave) after the last whole record is cut.
 *
 * @module
 */
import type { Logger } from "../../core/log.ts";
import { checkRecordSpan, INCOMPLETE, type MpackStreamItem, MpackStreamReader } from "../../codecs/mpack_stream.ts";

/** What follows the last whole record of a file. */
export type TailKind = "none" | "torn" | "zeros" | "junk";

/** What {@linkcode repairMpackTail} found and did. */
export interface TailRepair {
  /** File size after the repair (the end of the last good record unless `foreign`). */
  size: number;
  /** Whole records found (after `from`). */
  records: number;
  /** Bytes cut from the tail (0 when the file ended cleanly or is `foreign`). */
  cut: number;
  /** What the tail held: nothing, the start of a record, zeros (as a power loss can leave) or anything else. */
  tail: TailKind;
  /** Bytes of garbage between records, left in place. */
  middleGarbage: number;
  /**
   * The file does not look like an mpack log (no record and not just a torn record or zeros, or mostly
   * garbage): it was left untouched and must not be appended to.
   */
  foreign: boolean;
  /** Bytes read to find the end of the last whole record. */
  scanned: number;
}

/** Whole records that must follow a torn record, to the end of the file, for the repair to keep them. */
const AFTER_TEAR_RUN = 4;

/** Bytes read per step while scanning an existing file. */
const SCAN_CHUNK = 1 << 20;

/** Largest record accepted while scanning (MpackStreamReader's default); a longer tail cannot be one torn record. */
const MAX_RECORD = 64 * 1024 * 1024;

/**
 * Scans an existing `.mpack` file and, when it ends with a torn record (or
 * junk such as the zeros a power loss can leave), truncates it to the end of
 * its last whole record, so that appending never leaves a torn record in the
 * middle. Garbage between records is left alone. A file that does not look
 * like an mpack log is not touched (`foreign`).
 *
 * `from` is an offset known to end a whole record (the output saves one as it
 * writes): only what follows it is read. Should garbage turn up there, the
 * whole file is scanned after all.
 */
export async function repairMpackTail(path: string, log?: Logger, from = 0): Promise<TailRepair> {
  const file = await Deno.open(path, { read: true });
  let goodEnd = from;
  let records = 0;
  let middleGarbage = 0;
  let size = from;
  let tail: TailKind = "none";
  try {
    if (from > 0) await file.seek(from, Deno.SeekMode.Start);
    const reader = new MpackStreamReader({ maxRecordBytes: MAX_RECORD });
    for (;;) {
      // A fresh buffer per read: the reader may keep a view on what it has not consumed.
      const data = await readFull(file, SCAN_CHUNK);
      if (data.length === 0) break;
      size += data.length;
      reader.push(data);
      for (let item = reader.next(); item; item = reader.next()) {
        if (item.kind === "garbage") middleGarbage += item.length;
        else {
          records++;
          goodEnd = from + item.end;
        }
      }
    }
    // At the end of the file, a record still held back is torn: the reader then looks inside it for whole records
    // written after the tear (another writer appending), which must not be cut away with it. Only a run of at
    // least AFTER_TEAR_RUN records counts here: a short one at the very end may be a nested map of the torn record
    // itself, and cutting a torn tail is what a crash of this output needs. Garbage that reaches the end of the
    // file is the tail, judged below, not garbage between records.
    const after: MpackStreamItem[] = [];
    for (let item = reader.finish(); item; item = reader.next()) after.push(item);
    if (after.filter((i) => i.kind === "record").length >= AFTER_TEAR_RUN) {
      for (const item of after) {
        if (item.kind === "record") {
          records++;
          goodEnd = from + item.end;
        } else if (from + item.start + item.length < size) middleGarbage += item.length;
      }
    }
    if (goodEnd < size) tail = await classifyTail(file, goodEnd, size - goodEnd);
  } finally {
    file.close();
  }
  const scanned = size - from;
  if (from > 0 && (middleGarbage > 0 || tail === "junk")) {
    // Not what this output leaves behind: judge the file as a whole.
    const whole = await repairMpackTail(path, log, 0);
    return { ...whole, scanned: whole.scanned + scanned };
  }
  const cut = size - goodEnd;
  const foreign = from === 0 &&
    (records === 0 ? tail === "junk" : (middleGarbage + (tail === "junk" ? cut : 0)) * 2 > size);
  if (foreign) {
    log?.warn("existing file is not an mpack log or mostly garbage; leaving it untouched", {
      file: path,
      size,
      records,
      garbage_bytes: middleGarbage + cut,
    });
    return { size, records, cut: 0, tail, middleGarbage, foreign, scanned };
  }
  if (middleGarbage > 0) {
    log?.warn("existing file has garbage between records; left in place", { file: path, bytes: middleGarbage });
  }
  if (cut > 0) {
    await Deno.truncate(path, goodEnd);
    log?.warn("cut a torn tail before appending", { file: path, offset: goodEnd, bytes: cut, tail });
  }
  return { size: goodEnd, records, cut, tail, middleGarbage, foreign, scanned };
}

/** Tells a torn record (a clean prefix of one) and power-loss zeros from other junk. */
async function classifyTail(file: Deno.FsFile, start: number, length: number): Promise<TailKind> {
  if (length > MAX_RECORD) return "junk"; // neither one torn record nor a few zeroed pages
  await file.seek(start, Deno.SeekMode.Start);
  const b = await readFull(file, length);
  // The bytes are a clean prefix of one record.
  if (checkRecordSpan(b, 0, b.length, MAX_RECORD) === INCOMPLETE) return "torn";
  return b.every((x) => x === 0) ? "zeros" : "junk";
}

/** Reads up to `n` bytes, fewer only at the end of the file. */
async function readFull(file: Deno.FsFile, n: number): Promise<Uint8Array> {
  const buf = new Uint8Array(n);
  let off = 0;
  while (off < n) {
    const got = await file.read(buf.subarray(off));
    if (got === null) break;
    off += got;
  }
  return buf.subarray(0, off);
}
