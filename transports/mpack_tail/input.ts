/**
 * The `mpack_tail` input: follows a `.mpack` log (or the newest one of a
 * directory) and puts every record on the bus, checkpointing the position of
 * what all outputs have accepted.
 *
 * @module
 */
import type { Input, InputContext } from "../../core/transport.ts";
import type { Logger } from "../../core/log.ts";
import { type BusRecord, nowNs, type OutputMarks, secondsToNs } from "../../core/record.ts";
import { EncodedRecord } from "../../codecs/encoded_record.ts";
import { flatten } from "../../codecs/flatten.ts";
import { findTopLevelValue, readNumberAt, readStringAt, scanKey } from "../../codecs/msgpack_scan.ts";
import { followMpack, type FollowOptions, type FollowPosition } from "../../files/mpack_follow.ts";
import type { MpackTailConfig } from "./schema.ts";

/** How long `run()` waits, after following stopped, for the outputs to accept what was emitted. */
const ACK_WAIT_MS = 10_000;

/** Tuning of {@linkcode MpackTailInput} that is not configuration (tests use it). */
export interface MpackTailInputOptions {
  /** Longest wait in `run()` for outstanding acknowledgements once following stopped (default 10 s). */
  ackWaitMs?: number;
}

/** True for a value shaped like a saved {@linkcode Checkpoint}. */
function isCheckpoint(v: unknown): v is Checkpoint {
  if (typeof v !== "object" || v === null) return false;
  const p = v as Record<string, unknown>;
  if (typeof p.offset !== "number" || !Number.isSafeInteger(p.offset) || p.offset < 0) return false;
  if (p.outputs !== undefined && (typeof p.outputs !== "object" || p.outputs === null)) return false;
  if (p.file === undefined) return true;
  const f = p.file as Record<string, unknown> | null;
  return typeof f === "object" && f !== null && typeof f.path === "string" && typeof f.dev === "number" &&
    typeof f.ino === "number";
}

/** What the input saves as its checkpoint: the position, and the marks outputs left with it. */
interface Checkpoint extends FollowPosition {
  /** Each rewindable output's position just after the last record up to `offset` (see `AckToken.marks`). */
  outputs?: OutputMarks;
}

/**
 * Saves accepted positions without piling up writes: at most one save is in
 * flight, and when it ends only the newest accepted position is written next.
 * Acknowledgements may come out of order (outputs with different selections
 * and speeds): the checkpoint only moves to a batch once every earlier batch
 * was accepted too, so it never passes a record some output has not written.
 */
class CheckpointSaver {
  /** Sequence number of the last batch tracked. */
  #tracked = 0;
  /** Batches accepted (or given up) so far. */
  #settled = 0;
  /** The first batch not yet accepted. */
  #next = 1;
  /** Batches accepted ahead of `#next` (null: emit failed, no position). */
  readonly #early = new Map<number, { position: FollowPosition; marks?: OutputMarks } | null>();
  /** The newest mark of every output, carried forward while batches pass that some output did not select. */
  #marks: OutputMarks;
  #latest: Checkpoint | undefined;
  #saving: Promise<void> | undefined;
  #allAccepted: (() => void) | undefined;

  constructor(readonly key: string, readonly ctx: InputContext, readonly log: Logger) {
    this.#marks = {};
  }

  /** Starts from the marks of the checkpoint resumed from: outputs that get no record for a while keep theirs. */
  seed(marks: OutputMarks): void {
    this.#marks = { ...marks, ...this.#marks };
  }

  /** Registers one emitted batch; returns its `onAccepted`, which reads the outputs' marks off the records. */
  track(position: FollowPosition, records: readonly BusRecord[]): () => void {
    const seq = ++this.#tracked;
    let done = false;
    return () => {
      if (done) return; // the bus promises one call; be safe anyway
      done = true;
      // The bus gave the batch's records one acknowledgement token (those it let in, at least).
      let marks: OutputMarks | undefined;
      for (let i = 0; i < records.length; i++) {
        const token = records[i].ack;
        if (token) {
          marks = token.marks;
          break;
        }
      }
      this.#settle(seq, { position, marks });
    };
  }

  /** Forgets the last tracked batch, whose emit failed (it will never be accepted). */
  untrack(): void {
    this.#settle(this.#tracked, null);
  }

  #settle(seq: number, entry: { position: FollowPosition; marks?: OutputMarks } | null): void {
    this.#settled++;
    this.#early.set(seq, entry);
    let moved: FollowPosition | undefined;
    for (let e = this.#early.get(this.#next); e !== undefined; e = this.#early.get(this.#next)) {
      this.#early.delete(this.#next++);
      if (e === null) continue;
      moved = e.position;
      if (e.marks) this.#marks = { ...this.#marks, ...e.marks };
    }
    if (moved) {
      this.#latest = Object.keys(this.#marks).length > 0 ? { ...moved, outputs: this.#marks } : moved;
      this.#saving ??= this.#saveLoop();
    }
    if (this.#settled >= this.#tracked) this.#allAccepted?.();
  }

  async #saveLoop(): Promise<void> {
    while (this.#latest) {
      const p = this.#latest;
      this.#latest = undefined;
      try {
        await this.ctx.checkpoints.save(this.key, p);
      } catch (e) {
        this.log.warn("cannot save checkpoint", { file: p.file?.path, offset: p.offset, error: e });
      }
    }
    this.#saving = undefined; // no await since the loop test: no ack can slip in between
  }

  /** Waits (at most `ms`) until every emitted batch is accepted, then until the last save is written. */
  async drain(ms: number): Promise<void> {
    if (this.#settled < this.#tracked) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const all = new Promise<boolean>((resolve) => {
        this.#allAccepted = () => resolve(true);
        timer = setTimeout(() => resolve(false), ms);
      });
      const ok = await all;
      clearTimeout(timer);
      this.#allAccepted = undefined;
      if (!ok) {
        this.log.warn("outputs did not accept every batch in time; the checkpoint lags behind", {
          batches: this.#tracked - this.#settled,
          waited_ms: ms,
        });
      }
    }
    while (this.#saving) await this.#saving;
  }
}

/** A record's time from its time value: seconds as a number, or whole seconds as a bigint; else `fallback()`. */
function timeOf(t: unknown, fallback: () => bigint): bigint {
  if (typeof t === "number" && Number.isFinite(t)) return secondsToNs(t);
  if (typeof t === "bigint") return t * 1_000_000_000n;
  return fallback();
}

/** A record's stream from its stream-key value when that is a string; else the default. */
function streamOf(v: unknown, fallback: string, key: string | undefined): string {
  return key !== undefined && typeof v === "string" ? v : fallback;
}

/** The `mpack_tail` input. */
export class MpackTailInput implements Input {
  readonly #config: MpackTailConfig;
  readonly #ackWaitMs: number;

  /**
   * Creates the input; nothing is opened before {@linkcode MpackTailInput.run}.
   *
   * @param config the validated `[[inputs.mpack_tail]]` table
   * @param options tuning that is not configuration
   */
  constructor(config: MpackTailConfig, options: MpackTailInputOptions = {}) {
    this.#config = config;
    this.#ackWaitMs = options.ackWaitMs ?? ACK_WAIT_MS;
  }

  /** Follows the log until `ctx.signal` aborts; resolves once the last accepted position is saved. */
  async run(ctx: InputContext): Promise<void> {
    const cfg = this.#config;
    const log = ctx.log;
    const stats = ctx.stats;
    const source = ctx.name;
    const defaultStream = cfg.stream ?? ctx.name;
    const streamKey = cfg.stream_key;
    const timeKey = cfg.time_key;
    const flat = cfg.flatten;
    const timeScanKey = scanKey(timeKey);
    const streamScanKey = streamKey === undefined ? undefined : scanKey(streamKey);

    let from: FollowOptions["from"] = "start";
    let resumeFrom: FollowPosition | undefined;
    let marks: OutputMarks | undefined;
    if (cfg.from === "checkpoint") {
      const saved = await ctx.checkpoints.load<unknown>(ctx.name);
      if (isCheckpoint(saved)) {
        from = resumeFrom = { file: saved.file, offset: saved.offset };
        marks = saved.outputs;
      } else if (saved !== undefined) log.warn("ignoring a malformed checkpoint", { checkpoint: saved });
    } else from = cfg.from;

    try {
      await Deno.stat(cfg.path);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
      log.info("waiting for the path to appear", { path: cfg.path });
    }

    const saver = new CheckpointSaver(ctx.name, ctx, log);
    try {
      const events = followMpack(cfg.path, {
        follow: true,
        from,
        signal: ctx.signal,
        pollInterval: cfg.poll_interval,
        maxRecordBytes: cfg.max_record_bytes,
        tornAfter: cfg.torn_after,
        // Without flattening nothing here needs the decoded map: decode lazily, if an output asks.
        decode: flat,
      });
      for await (const ev of events) {
        if (ev.kind === "records") {
          const items = ev.items;
          const n = items.length;
          const records: BusRecord[] = new Array(n);
          let bytes = 0;
          let now: bigint | undefined; // one clock read per batch: its records were read at the same moment
          for (let i = 0; i < n; i++) {
            const it = items[i];
            const raw = it.raw;
            bytes += raw.length;
            if (flat) {
              const value = it.value;
              const data = flatten(value);
              records[i] = {
                stream: streamOf(value[streamKey!], defaultStream, streamKey),
                time: timeOf(value[timeKey], () => now ??= nowNs()),
                data,
                source,
                size: raw.length,
                // Flattened data no longer match the raw bytes, which then must not travel as their encoding;
                // a record that had nothing nested is unchanged and keeps them.
                encoded: data === value ? { msgpack: raw } : undefined,
              };
            } else {
              // Pass the bytes on undecoded; only `time` (and the stream key) are read from them in place.
              const tp = findTopLevelValue(raw, timeScanKey);
              const time = timeOf(tp < 0 ? undefined : readNumberAt(raw, tp), () => now ??= nowNs());
              let stream = defaultStream;
              if (streamScanKey) {
                const sp = findTopLevelValue(raw, streamScanKey);
                if (sp >= 0) stream = readStringAt(raw, sp) ?? defaultStream;
              }
              records[i] = new EncodedRecord(stream, time, raw, source);
            }
          }
          stats.records += n;
          stats.bytes += bytes;
          const onAccepted = saver.track({ file: ev.file, offset: ev.endOffset }, records);
          try {
            const p = ctx.emit(records, onAccepted);
            if (p !== undefined) await p;
          } catch (e) {
            saver.untrack();
            throw e;
          }
        } else if (ev.kind === "garbage") {
          stats.errors++;
          stats.count("garbage_bytes", ev.length);
          log.warn("skipping bytes that hold no record", {
            file: ev.file.path,
            offset: ev.start,
            length: ev.length,
            reason: ev.reason,
          });
        } else if (ev.reason === "open" && ev.from) {
          log.warn("checkpointed file not found or shorter than the checkpoint; reading from the start", {
            file: ev.to.path,
            checkpoint_file: ev.from.path,
            checkpoint_offset: resumeFrom?.offset,
          });
        } else if (ev.reason === "open") {
          const resumed = resumeFrom?.file !== undefined && resumeFrom.file.dev === ev.to.dev &&
            resumeFrom.file.ino === ev.to.ino;
          log.info("reading file", {
            file: ev.to.path,
            from: resumed ? `checkpoint offset ${resumeFrom?.offset}` : cfg.from === "end" ? "end" : "start",
          });
          // Only now is it sure that reading goes on at the checkpoint: before the first record, outputs cut
          // back what they wrote after it, since it comes again. (Had the file gone, they keep it all.)
          if (resumed && marks && ctx.resume) {
            await ctx.resume(marks);
            saver.seed(marks);
          }
        } else {
          log.info("switching file", { file: ev.to.path, reason: ev.reason, previous: ev.from?.path });
        }
      }
    } finally {
      await saver.drain(this.#ackWaitMs);
    }
  }
}

/** Creates the `mpack_tail` input from its validated config (the factory of the transport). */
export function createMpackTailInput(config: MpackTailConfig, _ctx: { log: Logger; dataDir: string }): Input {
  return new MpackTailInput(config);
}
