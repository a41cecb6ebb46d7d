/**
 * The error of MessagePack bytes that cannot be decoded, shared by the
 * mpacklog codec and MoaT's MessagePack variant.
 *
 * @module
 */

/** MessagePack bytes that are not a valid value; `offset` is where the value started. */
export class MsgpackError extends Error {
  /**
   * Creates the error.
   *
   * @param message what is wrong
   * @param offset the first byte of the value that failed to decode
   * @param options the underlying error, if any
   */
  constructor(message: string, readonly offset: number, options?: ErrorOptions) {
    super(message, options);
    this.name = "MsgpackError";
  }
}
