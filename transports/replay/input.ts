/**
 * The `replay` input: plays a recording into the bus at its original pace
 * (or faster, slower, or as fast as the outputs take it), from a start point,
 * once or in a loop, so that a recording drives the outputs as the robot did.
 *
 * @module
 */
import type { Input, InputContext } from "../../core/transport.ts";
import { type BusRecord, makeRecord, nowNs } from "../../core/record.ts";
import { sleep } from "../../core/async.ts";
import { globMatcher } from "../../core/glob.ts";
import { EncodedRecord } from "../../codecs/encoded_record.ts";
import { openRecording, type RecordingProblem, type RecordingRecord } from "../../codecs/recording.ts";
import type { ReplayConfig } from "./schema.ts";

/** Largest batch emitted at once (records due together, or running flat out). */
const MAX_BATCH = 1000;
/** A record less than this many ms ahead of its time goes out now: no timer for so short a wait. */
const EARLY_MS = 1;

/** Where the wall clock stands for a record time: the pace's anchor. */
interface Anchor {
  /** `performance.now()` of the anchor. */
  wall: number;
  /** The (shifted) record time played at `wall`. */
  time: bigint;
}

/** What one round over the recording played. */
interface Round {
  /** Records played. */
  played: number;
  /** Recorded time of the first and the last record played. */
  first?: bigint;
  last?: bigint;
}

/** The `replay` input. */
export class ReplayInput implements Input {
  readonly #config: ReplayConfig;

  /**
   * Creates the input; the recording is opened by {@linkcode ReplayInput.run}.
   *
   * @param config the validated `[[inputs.replay]]` table
   */
  constructor(config: ReplayConfig) {
    this.#config = config;
  }

  /** Plays the recording (again and again with `loop`) until its end or until `ctx.signal` aborts. */
  async run(ctx: InputContext): Promise<void> {
    const cfg = this.#config;
    const state = { shift: 0n, anchor: undefined as Anchor | undefined, played: 0 };
    for (let round = 0;; round++) {
      const r = await this.#round(ctx, round, state);
      state.played += r.played;
      if (ctx.signal.aborted) return;
      if (r.played === 0) {
        ctx.log.warn("nothing to replay: no record of the recording is selected", {
          file: cfg.path,
          start: cfg.start === undefined ? undefined : JSON.stringify(cfg.start),
          streams: cfg.streams?.join(","),
        });
        return;
      }
      if (!cfg.loop) break;
      // The next round follows the last record by one mean interval, so times keep increasing (and the pace
      // goes on unbroken).
      const span = r.last! - r.first!;
      const gap = r.played > 1 ? span / BigInt(r.played - 1) : 1_000_000_000n;
      state.shift += span + (gap > 0n ? gap : 1n);
    }
    ctx.log.info("replay finished", { file: cfg.path, records: state.played });
  }

  /** One pass over the recording, from `start` to its end. */
  async #round(
    ctx: InputContext,
    round: number,
    state: { shift: bigint; anchor?: Anchor },
  ): Promise<Round> {
    const cfg = this.#config;
    const signal = ctx.signal;
    const speed = cfg.speed;
    const select = globMatcher(cfg.streams);
    const out: Round = { played: 0 };
    let batch: BusRecord[] = [];
    const flush = async () => {
      if (batch.length === 0) return;
      const b = batch;
      batch = [];
      const p = ctx.emit(b);
      if (p) await p;
    };
    const records = openRecording(cfg.path, {
      stream: cfg.stream ?? ctx.name,
      streamKey: cfg.stream_key,
      timeKey: cfg.time_key,
      // Each round meets the same bad bytes: report and count them once.
      onProblem: round === 0 ? (p) => this.#problem(ctx, p) : undefined,
    });
    let from: bigint | undefined; // recorded time of the start point, known at the first record
    let seeking = cfg.start !== undefined;
    for await (const rec of records) {
      if (signal.aborted) break;
      if (seeking) {
        from ??= startTime(cfg, rec.time);
        if (rec.time < from) continue;
        seeking = false; // from here on, play on in file order (times need not rise strictly)
      }
      if (!select(rec.stream)) continue;
      if (cfg.time === "now" && round === 0 && out.played === 0) {
        state.shift = nowNs() - rec.time;
      }
      out.first ??= rec.time;
      out.last = rec.time;
      out.played++;
      const time = rec.time + state.shift;
      if (speed > 0) {
        // Each record's moment is fixed against the anchor on the monotonic clock: a late wake-up catches up
        // at once, and no error adds up.
        const anchor = state.anchor ??= { wall: performance.now(), time };
        const due = anchor.wall + Number(time - anchor.time) / 1e6 / speed;
        const wait = due - performance.now();
        if (wait >= EARLY_MS) {
          await flush();
          const left = due - performance.now();
          if (left >= EARLY_MS && !await sleep(left, signal)) break;
        }
      }
      batch.push(this.#record(ctx, rec, time));
      if (batch.length >= MAX_BATCH) {
        await flush();
        // Flat out, let the outputs and timers run between batches.
        if (speed === 0) await new Promise((r) => setTimeout(r, 0));
      }
    }
    if (!signal.aborted) await flush();
    return out;
  }

  /** The bus record of a recorded one, at `time`. */
  #record(ctx: InputContext, rec: RecordingRecord, time: bigint): BusRecord {
    // The recorded bytes travel as they are: `mpack_file` writes them unchanged, so replays are byte-identical.
    const r = rec.msgpack
      ? new EncodedRecord(rec.stream, time, rec.msgpack, ctx.name)
      : makeRecord(rec.stream, time, rec.data, ctx.name);
    ctx.stats.records++;
    ctx.stats.bytes += r.size;
    return r;
  }

  #problem(ctx: InputContext, p: RecordingProblem): void {
    ctx.stats.errors++;
    ctx.stats.count("garbage_bytes", p.length);
    ctx.log.warn(`${p.path}: ${p.length} bytes at offset ${p.offset} hold no record; skipped`, {
      file: p.path,
      offset: p.offset,
      length: p.length,
      reason: p.reason,
    });
  }
}

/** The recorded time where playing begins, given the time of the recording's first record. */
function startTime(cfg: ReplayConfig, first: bigint): bigint {
  const s = cfg.start!;
  if ("at_ms" in s) return BigInt(s.at_ms) * 1_000_000n;
  return first + BigInt(Math.round(s.after_ms * 1e6));
}

/** Creates the `replay` input from its validated config (the factory of the transport). */
export function createReplayInput(config: ReplayConfig): Input {
  return new ReplayInput(config);
}
