/**
 * Fuzz target: MessagePack as telebus decodes it from outside (zmq payloads,
 * Redis stream entries, streamer entries, `.mpack` records):
 * {@linkcode decodeMsgpack} throws nothing but `MsgpackError` on any bytes,
 * and records round-trip through encode and decode.
 */
import assert from "node:assert/strict";
import fc from "npm:fast-check@^4.10.2";
import { decodeMsgpack, decodeMsgpackMultiple, encodeMsgpack, MsgpackError } from "../codecs/msgpack.ts";
import { record, recordValue } from "./arbitraries.ts";
import { expectOnly, fuzz, hostileBytes } from "./runner.ts";

/** The value with Node Buffers (msgpackr's bin when Buffer exists) as plain Uint8Arrays. */
function plain(v: unknown): unknown {
  if (v instanceof Uint8Array) return v.constructor === Uint8Array ? v : new Uint8Array(v);
  if (Array.isArray(v)) return v.map(plain);
  if (v !== null && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

const valid = fc.oneof(record, recordValue).map((v) => encodeMsgpack(v));

Deno.test("fuzz msgpack: any bytes decode or throw MsgpackError", async () => {
  await fuzz("msgpack.decode", fc.tuple(hostileBytes(valid), fc.nat(), fc.nat()), ([bytes, a, b]) => {
    expectOnly(() => decodeMsgpack(bytes), [MsgpackError]);
    expectOnly(() => decodeMsgpackMultiple(bytes), [MsgpackError]);
    // A span of a larger buffer, as the stream reader decodes records in place.
    const start = a % (bytes.length + 1), end = start + b % (bytes.length - start + 1);
    expectOnly(() => decodeMsgpack(bytes, start, end), [MsgpackError]);
  });
});

Deno.test("fuzz msgpack: records round-trip, also in the middle of other bytes", async () => {
  await fuzz("msgpack.roundtrip", fc.tuple(record, fc.uint8Array({ maxLength: 8 })), ([r, junk]) => {
    const bytes = encodeMsgpack(r);
    assert.deepEqual(plain(decodeMsgpack(bytes)), r);
    const framed = new Uint8Array(junk.length + bytes.length + junk.length);
    framed.set(junk);
    framed.set(bytes, junk.length);
    framed.set(junk, junk.length + bytes.length);
    assert.deepEqual(plain(decodeMsgpack(framed, junk.length, junk.length + bytes.length)), r);
  });
});
