/**
 * The torn-record scenario of issue 11: a writer crashed in the middle of a
 * record (a 1 MiB binary field cut after 100 bytes), then a new writer
 * appended records after the cut. Shared by the reader, follower, input and
 * command-line tests.
 *
 * @module
 */
import { encodeMsgpack } from "../codecs/msgpack.ts";
import { concat } from "./bytes.ts";
import { randomBytes } from "./prng.ts";

/** One record of the new writer, about 66 bytes like the measurement in the issue. */
export function telemetryRecord(seq: number): Uint8Array {
  return encodeMsgpack({
    time: 1_700_000_000 + seq / 100,
    seq,
    name: "robot/arm/joint_3/angle",
    value: seq / 7,
    ok: true,
  });
}

/** The parts of a torn log, in file order. */
export interface TornLog {
  /** Whole records written before the crash (seq 0, 1, 2). */
  before: Uint8Array;
  /** The first bytes of the record the crashed writer was writing. */
  torn: Uint8Array;
  /** The records the new writer appended (seq 1000, 1001, …). */
  after: Uint8Array;
  /** The seq of every whole record, in order. */
  seqs: number[];
}

/**
 * Builds the scenario: 3 whole records, `cutAfter` bytes of a record whose
 * binary field holds `binBytes` random bytes, then `records` records of a
 * new writer. With the defaults (20,000 records, about 1.3 MB) the new
 * records outrun the torn field's declared length; with fewer than about
 * 16,000 they end inside it.
 */
export function tornLog(
  options: { binBytes?: number; cutAfter?: number; records?: number; seed?: number } = {},
): TornLog {
  const { binBytes = 1 << 20, cutAfter = 100, records = 20_000, seed = 11 } = options;
  const before = concat(...[0, 1, 2].map(telemetryRecord));
  const big = encodeMsgpack({ time: 1_700_000_000.5, seq: -1, image: randomBytes(binBytes, seed) });
  const torn = big.slice(0, cutAfter);
  const seqs = [0, 1, 2];
  const parts: Uint8Array[] = [];
  for (let i = 0; i < records; i++) {
    parts.push(telemetryRecord(1000 + i));
    seqs.push(1000 + i);
  }
  return { before, torn, after: concat(...parts), seqs };
}
