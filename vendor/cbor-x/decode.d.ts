// Types for the parts of cbor-x's decode.js that telebus uses (written here: the package's own declarations
// re-export from its index.d.ts, which needs Node's stream types).

/** Decoder options (the subset telebus sets). */
export interface Options {
  mapsAsObjects?: boolean;
  useRecords?: boolean;
  copyBuffers?: boolean;
}

/** A tag extension: how to decode the value under `tag`. */
export interface Extension {
  tag: number;
  decode(item: unknown): unknown;
}

/** A CBOR decoder. */
export class Decoder {
  constructor(options?: Options);
  decode(bytes: Uint8Array): unknown;
  decodeMultiple(bytes: Uint8Array, forEach?: (value: unknown) => unknown): unknown[] | void;
}

/** A tagged value with no registered extension. */
export class Tag {
  constructor(value: unknown, tag: number);
  value: unknown;
  tag: number;
}

/** Registers a tag decoder for every decoder (cbor-x keeps them globally). */
export function addExtension(extension: Extension): void;
