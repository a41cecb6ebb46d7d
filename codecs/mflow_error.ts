/**
 * The error of an mflow message that cannot be decoded.
 *
 * @module
 */

/** What went wrong with a message; each kind is counted separately by the inputs. */
export type MflowErrorKind = "bad_header" | "unknown_htype" | "frame_count" | "frame_size" | "bad_part";

/** A message that cannot be decoded. The input counts it by `kind` and keeps running. */
export class MflowError extends Error {
  /**
   * Creates the error.
   *
   * @param kind what went wrong (a counter name)
   * @param message what exactly, for the log
   */
  constructor(readonly kind: MflowErrorKind, message: string) {
    super(message);
    this.name = "MflowError";
  }
}
