/**
 * Refusing one record without losing its neighbours: the counting and
 * logging every input and output shares when a record is beyond the codecs'
 * limits (core/limits.ts) or cannot be encoded.
 *
 * @module
 */
import { checkRecordLimits, type LimitReason, limitReasonOf, MAX_DEPTH, MAX_RECORD_BYTES } from "./limits.ts";
import type { LogFields, Logger } from "./log.ts";
import { type BusRecord, LazyRecord } from "./record.ts";
import type { PartStats } from "./stats.ts";

/**
 * Counts refused records per reason (`telebus_<kind>_rejected_total{reason}`)
 * and logs the first of each reason with its stream; later ones are counted
 * only, so that a flood of bad records cannot flood the log.
 */
export class RecordRejects {
  readonly #logged = new Set<string>();

  /**
   * Creates the reporter of one part.
   *
   * @param stats the part's counters
   * @param log the part's logger
   */
  constructor(readonly stats: PartStats, readonly log: Logger) {}

  /**
   * Counts one refused record and logs it when it is the first of its reason.
   *
   * @param record the record (its stream is logged)
   * @param reason why: a {@linkcode LimitReason}, or a transport's own reason
   * @param error what went wrong (an error or a message)
   * @param fields more context for the log line (peer, file…)
   */
  reject(record: { stream: string }, reason: LimitReason | string, error: unknown, fields?: LogFields): void {
    this.stats.reject(reason);
    if (this.#logged.has(reason)) return;
    this.#logged.add(reason);
    this.log.warn("record refused; the others go on (later ones of this reason are only counted)", {
      stream: record.stream,
      reason,
      error: error instanceof Error ? error.message : String(error),
      metric: `telebus_${this.stats.kind}_rejected_total`,
      ...fields,
    });
  }

  /** Counts and logs a record whose encoding threw `error`, with the reason {@linkcode limitReasonOf} gives. */
  rejectError(record: { stream: string }, error: unknown, fields?: LogFields): void {
    this.reject(record, limitReasonOf(error), error, fields);
  }

  /**
   * The records of a batch an input may put on the bus: those within the
   * codecs' limits. The others are counted and logged here. Returns `records`
   * itself when every record is within (the common case allocates nothing).
   * A record that came as MessagePack bytes (a {@linkcode LazyRecord} such as codecs' `EncodedRecord`,
   * or one whose `encoded.msgpack` holds its bytes) was checked by the reader
   * that cut it out (the `.mpack` reader, Redis entries, the zmq input), so
   * only its size is checked and it is not walked again. A program that sets
   * `encoded.msgpack` itself vouches for those bytes.
   */
  admit(records: BusRecord[]): BusRecord[] {
    let kept: BusRecord[] | undefined;
    for (let i = 0; i < records.length; i++) {
      const r = records[i];
      const reason = r instanceof LazyRecord || hasCheckedBytes(r)
        ? (r.size > MAX_RECORD_BYTES ? "too_large" : undefined)
        : checkRecordLimits(r.data, r.size);
      if (reason === undefined) {
        kept?.push(r);
        continue;
      }
      kept ??= records.slice(0, i);
      this.reject(
        r,
        reason,
        reason === "too_deep"
          ? `nested deeper than ${MAX_DEPTH} levels (or cyclic)`
          : `${r.size} B is more than the ${MAX_RECORD_BYTES} B record limit`,
        { source: r.source },
      );
    }
    return kept ?? records;
  }
}

/** The record carries its MessagePack bytes as a plain own property (not a lazy encoder such as zmq's bytes form). */
function hasCheckedBytes(r: BusRecord): boolean {
  const e = r.encoded;
  return e !== undefined && Object.hasOwn(e, "msgpack") && e.msgpack !== undefined;
}
