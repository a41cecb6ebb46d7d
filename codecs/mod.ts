/**
 * Codecs: MessagePack (mpacklog's layout), the `.mpack` stream reader, JSON
 * for telemetry values, flattening, and the limits every codec shares.
 *
 * @module
 */
export * from "./msgpack.ts";
export * from "./encoded_record.ts";
export * from "./mpack_stream.ts";
export * from "./recording.ts";
export * from "./json.ts";
export * from "./flatten.ts";
export * from "./line_protocol.ts";
export * from "./line_protocol_parse.ts";
export * from "./moat_values.ts";
export * from "./cbor.ts";
export * from "./moat_msgpack.ts";
export * from "./mflow.ts";
export * from "../core/limits.ts";
export * from "./json_schema.ts";
