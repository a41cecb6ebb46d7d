/**
 * MoaT-Cmd header integers (moat-lib-cmd 0.3.3; 0.4.x adds flag 7, see {@linkcode flag7Candidates}).
 * Every message is a list whose first element holds the sub-channel and two
 * flags. The code, not the README, is authoritative: the first command of a
 * connection is `0`, its reply `-4`.
 *
 * @module
 */

/** Flag bit 0: a stream start or continuation; clear on the final message of a direction. */
export const B_STREAM = 1;
/** Flag bit 1: an error when final; a warning or flow credit together with {@linkcode B_STREAM}. */
export const B_ERROR = 2;
/** moat-lib-cmd 0.4.x's flag value for an "internal warning" (credit or `-5`); see {@linkcode flag7Candidates}. */
export const B_WARNING_INTERNAL = 7;

/**
 * The wire header for channel `id` as this side knows it: `id > 0` is a channel
 * this side opened (sent as `(id-1) << 2`), `id < 0` one the peer opened
 * (sent as `id << 2`, which the peer decodes back to its own positive id).
 */
export function encodeHeader(id: number, flags: number): number {
  if (!Number.isSafeInteger(id) || id === 0) throw new RangeError(`bad MoaT channel id ${id}`);
  // Multiplication instead of `<<` keeps ids beyond 2^29 exact; the result equals the arithmetic shift.
  return (id > 0 ? (id - 1) * 4 : id * 4) + (flags & 3);
}

/** A decoded header: the channel as this side knows it (see {@linkcode encodeHeader}) and the flags. */
export interface Header {
  /** Positive: a reply on a channel this side opened. Negative: a channel the peer opened. */
  id: number;
  /** {@linkcode B_STREAM} and {@linkcode B_ERROR} bits. */
  flags: number;
}

/** Decodes a wire header: `j = -1 - (wire >> 2)`, plus one when `j >= 0`; flags are `wire & 3`. */
export function decodeHeader(wire: number): Header {
  if (!Number.isSafeInteger(wire)) throw new RangeError(`bad MoaT header ${String(wire)}`);
  const flags = ((wire % 4) + 4) % 4;
  let j = -1 - (wire - flags) / 4;
  if (j >= 0) j += 1;
  return { id: j, flags };
}

/**
 * Flag 7 (moat-lib-cmd 0.4.x's "internal warning": flow credits and `-5`, a naked integer) is sent as
 * `(k << 2) | 7`, where `k` is the sender's wire id (`id - 1` for a channel it opened, `id` for one the peer
 * opened). The third bit belongs to `k`, so the header says `k | 1`: right for odd `k`, one too high for even
 * `k`. A 0.3.3 decoder (and 0.4.x's own) reads it as flags 3 on `k | 1`, e.g. `7` (credit for the channel the
 * peer opened as its 1, `k = 0`) as the peer's channel 2, which this side calls −2 — hence "channel −2 with
 * the error bit". For a header whose low three bits are all set, this returns the two channels it may be for:
 * `[literal, other]`, `literal` being {@linkcode decodeHeader}'s reading (also what a 0.3.3 flag-3 header
 * means) and `other` the one below it (`wire − 4`). Otherwise undefined. The endpoint picks the one where it
 * writes items (a credit is for a writer), else the one open, else the literal one.
 */
export function flag7Candidates(wire: number): [number, number] | undefined {
  if (!Number.isSafeInteger(wire) || ((wire % 8) + 8) % 8 !== 7) return undefined;
  return [decodeHeader(wire).id, decodeHeader(wire - 4).id];
}
