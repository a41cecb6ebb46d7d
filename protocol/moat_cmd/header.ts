/**
 * MoaT-Cmd header integers (moat-lib-cmd 0.3.3, unchanged in moat-lib-rpc).
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
