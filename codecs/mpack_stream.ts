/**
 * A streaming reader of `.mpack` logs: MessagePack maps back to back, as
 * mpacklog and mpacklog.cpp write them. Bytes are pushed in as they are read;
 * whole records come out with their absolute offsets and raw bytes. A torn
 * last record is held back until the rest arrives, and garbage in the middle
 * is skipped to the next plausible record and reported with its offset.
 *
 * A record that a crashed writer left incomplete, followed by the records of
 * a new writer, costs only its own bytes: {@linkcode findRun} finds where the
 * new records begin when such a record is declared torn
 * ({@linkcode MpackStreamReader.declareTorn}, {@linkcode MpackStreamReader.finish}),
 * and {@linkcode swallowedRun} when its declared length covered them.
 *
 * No MessagePack library offers resynchronisation after corruption, so it is
 * written by hand, on the structural check of codecs/msgpack_check.ts.
 *
 * @module
 */
import type { Dict } from "../core/record.ts";
import { decodeMsgpack } from "./msgpack.ts";
import { MAX_RECORD_BYTES } from "../core/limits.ts";
import { checkRecordSpan, fail, INCOMPLETE, INVALID, lastCheckFailure } from "./msgpack_check.ts";
import { BIG_RECORD, endsWithRecord, findRun, swallowedRun } from "./mpack_resync.ts";

export { checkRecordSpan, INCOMPLETE, INVALID, lastCheckFailure, valueEnd } from "./msgpack_check.ts";
export { findRun, RUN_RECORDS, swallowedRun } from "./mpack_resync.ts";

/** One whole record read from the stream. */
export interface MpackRecordItem {
  /** Discriminator. */
  kind: "record";
  /** The decoded map. */
  value: Dict;
  /** Absolute offset of its first byte. */
  start: number;
  /** Absolute offset just past its last byte. */
  end: number;
  /** Its bytes, exactly as in the file (a view, not a copy). */
  raw: Uint8Array;
  /**
   * The buffer the record lies in, at `offset` (with `decode: false`): the
   * record's bytes without creating a view for each record, for consumers
   * that walk them (`dump`).
   */
  buffer?: Uint8Array;
  /** Where the record starts in `buffer`. */
  offset?: number;
}

/** A run of bytes that holds no record. */
export interface MpackGarbageItem {
  /** Discriminator. */
  kind: "garbage";
  /** Absolute offset of the first bad byte. */
  start: number;
  /** How many bytes were skipped. */
  length: number;
  /** Why the first byte could not start a record. */
  reason: string;
}

/** What the stream reader yields. */
export type MpackStreamItem = MpackRecordItem | MpackGarbageItem;

/** Options of {@linkcode MpackStreamReader}. */
export interface MpackStreamOptions {
  /** Largest record accepted; a header that claims more is garbage (default {@linkcode MAX_RECORD_BYTES}, 64 MiB). */
  maxRecordBytes?: number;
  /** Absolute offset of the first byte that will be pushed (default 0). */
  offset?: number;
  /**
   * Decode each record when it is read (default true). With false, a record's
   * `value` is decoded on first access only: a consumer that passes the raw
   * bytes on (tail → file) never pays for decoding. The structural check
   * still runs, so garbage is found either way.
   */
  decode?: boolean;
  /**
   * The caller is done with every record (its `raw` bytes and, without
   * `decode`, its `value`) before it pushes the next chunk: the reader then
   * reuses its own buffer for bytes held back across chunks instead of
   * allocating one per chunk (default false).
   */
  recycle?: boolean;
}

/** A record item whose value (and view of its bytes) is made on first access. */
class LazyRecordItem implements MpackRecordItem {
  readonly kind = "record" as const;
  #value?: Dict;
  #raw?: Uint8Array;
  constructor(readonly start: number, readonly end: number, readonly buffer: Uint8Array, readonly offset: number) {}
  get raw(): Uint8Array {
    return this.#raw ??= this.buffer.subarray(this.offset, this.offset + this.end - this.start);
  }
  get value(): Dict {
    return this.#value ??= decodeMsgpack(this.buffer, this.offset, this.offset + this.end - this.start, true) as Dict;
  }
}

const EMPTY = new Uint8Array(0);

/** Why a record that swallowed the start of a run of records is no record. */
function swallowedReason(q: number): string {
  return `torn record: its declared length runs over records that start at offset ${q}`;
}

/**
 * Reads records from pushed chunks. Call {@linkcode MpackStreamReader.push}
 * with each chunk, then {@linkcode MpackStreamReader.next} until it returns
 * undefined (more bytes needed).
 *
 * Torn records (a writer that crashed in the middle of one, then a writer
 * that appends after it):
 *
 * - An incomplete record at the end of the data is held back. A follower
 *   that sees it held at the end of the file calls
 *   {@linkcode MpackStreamReader.heldRecord} (which remembers how far the
 *   data went then) and, once it has waited long enough,
 *   {@linkcode MpackStreamReader.declareTorn}. At the true end of the data,
 *   {@linkcode MpackStreamReader.finish} declares it torn at once.
 * - A record whose declared length ran over the start of other records (see
 *   {@linkcode swallowedRun}) is no record: it is reported as garbage up to
 *   where they begin, and reading goes on from there. This is checked only
 *   when the bytes right after the record start no record, when the record
 *   was held at the end of a followed file and completed by bytes written
 *   later, when it turns invalid after a string or binary value, and, for
 *   records of 4 KiB or more, when a record about the size of the next one
 *   ends exactly where it does (see {@linkcode endsWithRecord}).
 */
export class MpackStreamReader {
  #buf: Uint8Array = EMPTY;
  /** A buffer of the reader's own with room after `#buf`, when held-back bytes had to be copied. */
  #store?: Uint8Array;
  #pos = 0;
  #base: number;
  #max: number;
  #decode: boolean;
  #recycle: boolean;
  /** Start of the garbage run being skipped, or -1. */
  #garbageStart = -1;
  #garbageReason = "";
  /** No more bytes will come: an incomplete record is torn. */
  #final = false;
  /** Absolute offset of the record last reported by heldRecord(), and the end of the data then; -1 when none. */
  #heldAt = -1;
  #heldEnd = 0;
  /** The check of the position after the last record (absolute offset, and its end, absolute, or INVALID). */
  #aheadAt = -1;
  #aheadEnd = 0;
  #aheadReason = "";
  /** Absolute offset of a record already found not to be torn (it is read a second time after garbage). */
  #soundAt = -1;

  /**
   * Creates a reader with no bytes yet.
   *
   * @param options limits and the starting offset
   */
  constructor(options: MpackStreamOptions = {}) {
    this.#max = options.maxRecordBytes ?? MAX_RECORD_BYTES;
    this.#base = options.offset ?? 0;
    this.#decode = options.decode ?? true;
    this.#recycle = options.recycle ?? false;
  }

  /** Absolute offset of the first byte not yet consumed (a torn record starts here). */
  get offset(): number {
    return this.#base + this.#pos;
  }

  /** Bytes held back: a torn record or garbage whose end has not been seen. */
  get pending(): number {
    return this.#buf.length - this.#pos;
  }

  /** Absolute offset just past the last pushed byte. */
  get end(): number {
    return this.#base + this.#buf.length;
  }

  /** Appends a chunk read right after the previous one. */
  push(chunk: Uint8Array): void {
    const len = this.#buf.length;
    if (this.#pos >= len) {
      // Nothing held back: use the chunk as it is, no copy (the hot path).
      this.#base += len;
      this.#buf = chunk;
      if (!this.#recycle) this.#store = undefined;
      this.#pos = 0;
      return;
    }
    const store = this.#store;
    const rest = len - this.#pos;
    if (store && this.#buf.buffer === store.buffer && this.#buf.byteOffset === store.byteOffset) {
      if (store.length - len >= chunk.length) {
        // A large record arriving in pieces: append into spare room, so its bytes are not copied again and again.
        store.set(chunk, len);
        this.#buf = store.subarray(0, len + chunk.length);
        return;
      }
      if (this.#recycle && store.length >= rest + chunk.length) {
        store.copyWithin(0, this.#pos, len);
        store.set(chunk, rest);
        this.#rebase(store, rest + chunk.length);
        return;
      }
    } else if (this.#recycle && store && store.length >= rest + chunk.length) {
      // The held bytes are in the caller's buffer: into ours, which nothing refers to any more.
      store.set(this.#buf.subarray(this.#pos), 0);
      store.set(chunk, rest);
      this.#rebase(store, rest + chunk.length);
      return;
    }
    const grown = new Uint8Array(Math.max(rest + chunk.length, 2 * rest, this.#recycle ? 2 * chunk.length : 0));
    grown.set(this.#buf.subarray(this.#pos));
    grown.set(chunk, rest);
    this.#rebase(grown, rest + chunk.length);
  }

  /** Continues in `store`, which holds the bytes from the current position on (`length` of them). */
  #rebase(store: Uint8Array, length: number): void {
    this.#base += this.#pos;
    this.#pos = 0;
    this.#store = store;
    this.#buf = store.subarray(0, length);
  }

  /** Forgets everything and continues at absolute `offset` (after truncation or a switch of file). */
  reset(offset = 0): void {
    this.#buf = EMPTY;
    this.#store = undefined;
    this.#pos = 0;
    this.#base = offset;
    this.#garbageStart = -1;
    this.#final = false;
    this.#heldAt = -1;
    this.#aheadAt = -1;
    this.#soundAt = -1;
  }

  /**
   * At the end of the data for now (a follower found no more bytes in the
   * file): the absolute offset of the incomplete record held back, or -1 when
   * none is. The first call for a record remembers the end of the data, which
   * {@linkcode MpackStreamReader.declareTorn} and {@linkcode MpackStreamReader.next}
   * use to tell the torn record from what is written after it.
   */
  heldRecord(): number {
    if (this.#pos >= this.#buf.length) return -1;
    const at = this.#base + this.#pos;
    if (at !== this.#heldAt) {
      this.#heldAt = at;
      this.#heldEnd = this.end;
    }
    return at;
  }

  /**
   * Declares the record held back since {@linkcode MpackStreamReader.heldRecord}
   * reported it torn: it is returned as garbage, and reading resumes at the
   * first byte written after it. That is where the data ended when the record
   * was first reported held — unless a run of records (see {@linkcode findRun})
   * starts inside the held bytes and reaches that point (records written
   * before the follower got there), or, when nothing was written since, a run
   * starts inside and reaches the end of the data (a closed file read from
   * its start). Returns undefined when no record is held or it is not the one
   * reported.
   *
   * @param reason why it is declared torn, for the garbage item
   */
  declareTorn(reason = "torn record"): MpackGarbageItem | undefined {
    const b = this.#buf;
    const end = b.length;
    const p = this.#pos;
    if (p >= end || this.#base + p !== this.#heldAt) return undefined;
    const stalledEnd = Math.min(this.#heldEnd - this.#base, end);
    const grown = end > stalledEnd;
    let q = findRun(b, p + 1, stalledEnd, end, this.#max, grown ? stalledEnd : -1);
    if (q < 0) q = stalledEnd;
    return this.#tornUpTo(p, q, reason);
  }

  /**
   * Marks the true end of the data (no more bytes will come). An incomplete
   * record held back is torn: it becomes garbage, and reading resumes at the
   * first position inside it from which a run of records starts (see
   * {@linkcode findRun}); without one, everything held back is garbage.
   *
   * Call it once {@linkcode MpackStreamReader.next} has returned undefined.
   * Returns the first item of what was held back (garbage), or undefined when
   * the data ended cleanly; when it returns an item, call
   * {@linkcode MpackStreamReader.next} until undefined for the records after
   * it and any further garbage.
   */
  finish(): MpackStreamItem | undefined {
    this.#final = true;
    return this.next();
  }

  /**
   * Reports `[p, q)` (relative offsets) as one garbage item, from the start of
   * the garbage run when one was open (with its reason), and continues at `q`.
   */
  #tornUpTo(p: number, q: number, reason: string): MpackGarbageItem {
    const open = this.#garbageStart >= 0;
    const start = open ? this.#garbageStart : this.#base + p;
    this.#garbageStart = -1;
    this.#heldAt = -1;
    this.#pos = q;
    return { kind: "garbage", start, length: this.#base + q - start, reason: open ? this.#garbageReason : reason };
  }

  /** The next item, or undefined when more bytes are needed. */
  next(): MpackStreamItem | undefined {
    const b = this.#buf;
    const end = b.length;
    const max = this.#max;
    while (this.#pos < end) {
      const p = this.#pos;
      const at = this.#base + p;
      let e: number;
      if (at === this.#aheadAt && this.#garbageStart < 0) {
        e = this.#aheadEnd;
        if (e >= 0) e -= this.#base;
        else fail(this.#aheadReason);
      } else e = checkRecordSpan(b, p, end, max, this.#garbageStart < 0);
      if (e === INCOMPLETE) {
        if (end - p > max) {
          fail(`no record ends within the ${max} B record limit`);
        } else if (!this.#final) return undefined; // wait for the rest of a torn record
        else {
          // No more bytes will come: the record is torn.
          let q = findRun(b, p + 1, end, end, max);
          if (q < 0) q = end;
          return this.#tornUpTo(p, q, "torn record at end of data");
        }
      } else if (e !== INVALID) {
        if (at !== this.#soundAt) {
          // Did the record's declared length run over the start of records written after it was torn?
          let suspect = false;
          if (e < end) {
            const next = checkRecordSpan(b, e, end, max, true);
            if (next !== INCOMPLETE) {
              this.#aheadAt = this.#base + e;
              this.#aheadEnd = next >= 0 ? this.#base + next : INVALID;
              if (next === INVALID) this.#aheadReason = lastCheckFailure();
              suspect = next === INVALID;
            }
          }
          if (at === this.#heldAt && this.#base + e > this.#heldEnd) suspect = true; // completed by later bytes
          else if (!suspect && e - p >= BIG_RECORD && this.#aheadAt === this.#base + e && this.#aheadEnd >= 0) {
            suspect = endsWithRecord(b, p, e, this.#aheadEnd - this.#base - e, max);
          }
          if (suspect) {
            const q = swallowedRun(b, p, end, max, e);
            if (q >= 0) return this.#tornUpTo(p, q, swallowedReason(this.#base + q));
          }
          this.#soundAt = at;
        }
        let value: unknown = null;
        if (this.#decode) {
          try {
            value = decodeMsgpack(b, p, e, true);
          } catch (err) {
            fail(`undecodable: ${(err as Error).message}`);
            value = undefined;
          }
        }
        if (value !== undefined) {
          if (this.#garbageStart >= 0) {
            const g: MpackGarbageItem = {
              kind: "garbage",
              start: this.#garbageStart,
              length: at - this.#garbageStart,
              reason: this.#garbageReason,
            };
            this.#garbageStart = -1;
            return g; // the record is read again by the next call
          }
          this.#pos = e;
          if (!this.#decode) return new LazyRecordItem(at, this.#base + e, b, p);
          return { kind: "record", value: value as Dict, start: at, end: this.#base + e, raw: b.subarray(p, e) };
        }
      }
      // p cannot start a record: skip one byte and look again.
      if (this.#garbageStart < 0) {
        if (e === INVALID) {
          // A torn record whose string or binary value swallowed records written after the cut, and which then
          // fails further on: it ends where they begin.
          const reason = lastCheckFailure();
          const q = swallowedRun(b, p, end, max);
          if (q >= 0) return this.#tornUpTo(p, q, swallowedReason(this.#base + q));
          fail(reason);
        }
        this.#garbageStart = at;
        this.#garbageReason = lastCheckFailure();
      }
      this.#pos = p + 1;
    }
    if (this.#final && this.#garbageStart >= 0) {
      // Junk up to the true end of the data.
      const g: MpackGarbageItem = {
        kind: "garbage",
        start: this.#garbageStart,
        length: this.end - this.#garbageStart,
        reason: this.#garbageReason,
      };
      this.#garbageStart = -1;
      return g;
    }
    return undefined;
  }
}
