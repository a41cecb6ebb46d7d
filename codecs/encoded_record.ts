/**
 * The record that arrived as MessagePack bytes: core's {@linkcode LazyRecord}
 * decoded with mpacklog's MessagePack (codecs/msgpack.ts).
 *
 * @module
 */
import { type Dict, LazyRecord } from "../core/record.ts";
import { decodeMsgpack } from "./msgpack.ts";

/**
 * A record that arrived as MessagePack bytes (`encoded.msgpack`) and whose
 * dictionary is decoded only when something reads `data`. A tail → file
 * pipeline passes the bytes on and never decodes them.
 */
export class EncodedRecord extends LazyRecord {
  /** Decodes the bytes as one MessagePack map. */
  protected decode(bytes: Uint8Array): Dict {
    return decodeMsgpack(bytes) as Dict;
  }
}
