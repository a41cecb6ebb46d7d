/**
 * Helpers of the mpack_file output tests: a temporary folder with an output
 * context whose log lines are kept, records and acknowledgement groups, and
 * reading back what the files hold.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createLogger } from "../../core/log.ts";
import { type AckToken, type BusRecord, type Dict, makeRecord, secondsToNs } from "../../core/record.ts";
import { PartStats } from "../../core/stats.ts";
import type { OutputContext } from "../../core/transport.ts";
import { decodeMsgpackMultiple } from "../../codecs/msgpack.ts";
import { type MpackFileMark, MpackFileOutput } from "./output.ts";
import { mpackFileSchema } from "./schema.ts";

/** mpacklog's test vector 1 as hex: `{"foo": 1, "something": "else"}`. */
export const VECTOR_1 = "82a3666f6f01a9736f6d657468696e67a4656c7365";
/** mpacklog's test vector 2 as hex. */
export const VECTOR_2 =
  "84a474696d65cb3fe0000000000000a16182a1629301cb4004000000000000c0a163c3a16ecb7ff8000000000000a362696ec4020102";

/** A test harness: a temp dir, a context whose log lines are kept, and cleanup. */
export async function withEnv(fn: (env: Env) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "mpack_file_test_" });
  const lines: string[] = [];
  const outputs: MpackFileOutput[] = [];
  const stats = new PartStats("output", "out", "mpack_file");
  const ctx: OutputContext = {
    name: "out",
    log: createLogger("output.out", { level: "debug", write: (l) => lines.push(l) }),
    stats,
    dataDir: dir,
    http: { route() {} },
  };
  const env: Env = {
    dir,
    lines,
    stats,
    ctx,
    async open(cfg) {
      const out = await MpackFileOutput.open(mpackFileSchema.parse(cfg), ctx);
      outputs.push(out);
      return out;
    },
  };
  try {
    await fn(env);
  } finally {
    for (const o of outputs) await o.close().catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
}

/** What a test gets from {@linkcode withEnv}. */
export interface Env {
  /** The temporary folder. */
  dir: string;
  /** The output's log lines. */
  lines: string[];
  /** The output's counters. */
  stats: PartStats;
  /** The output context. */
  ctx: OutputContext;
  /** Opens an output with `cfg` (closed after the test). */
  open(cfg: Record<string, unknown>): Promise<MpackFileOutput>;
}

/** A record of `data`. */
export function rec(data: Dict, stream = "s", seconds = 1, source = "test"): BusRecord {
  return makeRecord(stream, secondsToNs(seconds), data, source);
}

/** Records `from`..`to`-1 of input `source` as one acknowledgement group, as the bus makes them. */
export function group(from: number, to: number, source = "test"): { records: BusRecord[]; token: AckToken } {
  const token: AckToken = { pending: to - from, done: () => {} };
  const records = Array.from({ length: to - from }, (_, k) => {
    const r = rec({ i: from + k, pad: "p".repeat(20) }, "s", 1, source);
    r.ack = token;
    return r;
  });
  return { records, token };
}

/** This output's mark on a group. */
export function markOf(token: AckToken): MpackFileMark {
  const m = token.marks?.out as MpackFileMark | undefined;
  assert.ok(m, "the output marked the group");
  return m;
}

/** The `i` of every record in the files, in the order given. */
export async function indices(...paths: string[]): Promise<number[]> {
  const out: number[] = [];
  for (const p of paths) {
    for (const v of decodeMsgpackMultiple(await Deno.readFile(p))) out.push((v as Dict).i as number);
  }
  return out;
}

/** The numbers `from` … `to - 1`. */
export const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, k) => from + k);

/** The names of the files in `dir`, sorted. */
export async function listFiles(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) if (e.isFile) names.push(e.name);
  return names.sort();
}
