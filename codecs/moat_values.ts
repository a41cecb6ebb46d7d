/**
 * MoaT's values beyond plain data, as both its codecs (CBOR, codecs/cbor.ts;
 * its MessagePack variant, codecs/moat_msgpack.ts) decode and encode them:
 * {@linkcode Path}, {@linkcode MoatProxy}, {@linkcode MoatObject}, and
 * {@linkcode CborTag} for a tag neither knows.
 *
 * @module
 */

/** A MoaT `Path` (tag 39): a sequence of path elements such as `["sys", "ping"]`. */
export class Path {
  /**
   * Wraps the elements.
   *
   * @param elements the path's elements (strings, numbers, …)
   */
  constructor(readonly elements: readonly unknown[]) {}
  /** Shows the path as MoaT prints it (`:sys:ping`-like, joined by `.`). */
  toString(): string {
    return this.elements.map(String).join(".");
  }
}

/** A MoaT proxy (tag 32769): a name that stands for an object the peer knows. */
export class MoatProxy {
  /**
   * Wraps the name.
   *
   * @param name the proxy's name
   */
  constructor(readonly name: string) {}
}

/** A MoaT object or exception (tag 27): a class name, its arguments and optional keywords. */
export class MoatObject {
  /**
   * Wraps the parts.
   *
   * @param name class name, e.g. `ValueError`
   * @param args positional arguments
   * @param kw keyword arguments, if any
   */
  constructor(readonly name: string, readonly args: readonly unknown[], readonly kw?: Record<string, unknown>) {}
}

/** A tag this codec does not know: kept as tag number and value, and written back unchanged. */
export class CborTag {
  /**
   * Wraps tag and value.
   *
   * @param tag the tag number
   * @param value the tagged value
   */
  constructor(readonly tag: number, readonly value: unknown) {}
}

/** True for a plain dictionary (not an array, bytes, date or tagged value). */
export function isPlainDict(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== "object") return false;
  const p = Object.getPrototypeOf(v);
  return p === Object.prototype || p === null;
}
