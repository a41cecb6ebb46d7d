/**
 * The `generator` input: synthetic robot telemetry at a set rate, so that a
 * daemon does something useful with no external server, and so that
 * benchmarks have a steady source.
 *
 * @module
 */
import type { Input, InputContext } from "../../core/transport.ts";
import type { BusRecord, Dict } from "../../core/record.ts";
import type { GeneratorConfig } from "./schema.ts";
import { sleep } from "../../core/async.ts";
import { mulberry32 } from "../../core/random.ts";

/** Names of the telemetry keys after `time` and `seq`, as a small wheeled robot reports them. */
const KEY_NAMES = [
  "x",
  "y",
  "yaw",
  "vx",
  "vy",
  "wz",
  "ax",
  "ay",
  "az",
  "gx",
  "gy",
  "gz",
  "batt_v",
  "batt_a",
  "temp",
  "wheel_l",
  "wheel_r",
  "mode",
];

/** How often the generator wakes up to emit what is due. */
const TICK_MS = 10;
/** Largest batch emitted at once when catching up or running flat out. */
const MAX_BATCH = 1000;

/** Builds one telemetry dictionary. Exported for benchmarks that need the same data. */
export function telemetryDict(seq: number, timeSeconds: number, keys: number, random: () => number): Dict {
  const d: Dict = { time: timeSeconds, seq };
  for (let k = 2; k < keys; k++) {
    const name = k - 2 < KEY_NAMES.length ? KEY_NAMES[k - 2] : `value_${k}`;
    // Smooth signals with sensor noise, so plots look like telemetry; full-precision floats, never whole,
    // so they stay float64 on the wire.
    d[name] = name === "mode"
      ? (seq % 100 < 90 ? "drive" : "idle")
      : 50 * Math.sin(seq * 0.004 * (1 + k / 4) + k) + (random() - 0.5);
  }
  return d;
}

/** Creates the input. */
export function createGeneratorInput(config: GeneratorConfig): Input {
  return {
    async run(ctx: InputContext): Promise<void> {
      const random = mulberry32(config.seed);
      const { streams, keys, rate } = config;
      const limit = config.count ?? Infinity;
      let seq = 0;
      const started = performance.now();
      let lastNs = 0n;
      const make = (n: number): BusRecord[] => {
        const out: BusRecord[] = new Array(n);
        const nowMs = performance.timeOrigin + performance.now();
        const ns = BigInt(Math.round(nowMs * 1000)) * 1000n;
        for (let i = 0; i < n; i++, seq++) {
          const data = telemetryDict(seq, nowMs / 1000, keys, random);
          // Every record gets its own time, at least 1 µs after the one before: records of one batch would
          // otherwise share it, and stores that keep one point per series and time (InfluxDB) lose all but one.
          lastNs = ns > lastNs ? ns : lastNs + 1000n;
          // Size is about 12 B per numeric key; exactness is not needed for queue accounting.
          out[i] = { stream: streams[seq % streams.length], time: lastNs, data, source: ctx.name, size: 12 * keys + 8 };
        }
        ctx.stats.records += n;
        ctx.stats.bytes += n * (12 * keys + 8);
        return out;
      };
      while (!ctx.signal.aborted && seq < limit) {
        let due: number;
        if (rate === 0) due = MAX_BATCH;
        else due = Math.floor(((performance.now() - started) / 1000) * rate) - seq;
        due = Math.min(due, MAX_BATCH, limit - seq);
        if (due > 0) {
          const p = ctx.emit(make(due));
          if (p) await p;
        }
        if (rate === 0) {
          // Yield to the event loop so outputs and timers run.
          await new Promise((r) => setTimeout(r, 0));
        } else if (due < MAX_BATCH) {
          await sleep(TICK_MS, ctx.signal);
        }
      }
      if (seq >= limit) ctx.log.info("generator finished", { records: seq });
    },
  };
}
