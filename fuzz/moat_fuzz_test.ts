/**
 * Fuzz target: MoaT-Cmd from a peer — the byte-stream framings (back-to-back
 * CBOR or MoaT's MessagePack variant, SerialPacker frames), the codecs
 * themselves, and the endpoint that gets the decoded messages. On any bytes
 * in any chunks: the stream decoders never throw (bad bytes are reported as
 * issues), `decodeCbor` throws only `CborError`, `decodeMoatMsgpackAt` only
 * `MsgpackIncomplete`/`MsgpackError`, the endpoint never throws; and
 * messages round-trip through both codecs and through serial frames.
 */
import assert from "node:assert/strict";
import fc from "npm:fast-check@^4.10.2";
import { CborError, decodeCbor, encodeCbor } from "../codecs/cbor.ts";
import { decodeMoatMsgpackAt, encodeMoatMsgpack, MsgpackError, MsgpackIncomplete } from "../codecs/moat_msgpack.ts";
import { isPlainDict, MoatObject, MoatProxy, Path } from "../codecs/moat_values.ts";
import { CborStreamDecoder, encodeSerialFrame, type FrameIssue, SerialDecoder } from "../protocol/moat_cmd/framing.ts";
import { streamDecoder } from "../protocol/moat_cmd/framing.ts";
import { Endpoint } from "../protocol/moat_cmd/endpoint.ts";
import { concat, expectOnly, fuzz, hostileBytes, splitAt } from "./runner.ts";

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * A value MoaT carries: plain data, big integers (the MessagePack variant has no negative ones beyond 64 bits:
 * `minBig`), and its Path, proxy and object classes.
 */
const moatValueFrom = (minBig: bigint): fc.Arbitrary<unknown> =>
  fc.letrec<{ value: unknown }>((tie) => ({
    value: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      fc.maxSafeInteger(),
      fc.bigInt({ min: minBig, max: 1n << 70n }).filter((b) => b > MAX_SAFE || b < -MAX_SAFE),
      fc.double(),
      fc.string(),
      fc.boolean(),
      fc.constant(null),
      fc.uint8Array({ maxLength: 16 }),
      fc.array(tie("value"), { maxLength: 4 }),
      fc.dictionary(fc.string({ maxLength: 8 }).filter((k) => k !== "__proto__"), tie("value"), {
        maxKeys: 4,
        noNullPrototype: true,
      }),
      fc.array(fc.oneof(fc.string({ maxLength: 6 }), fc.nat()), { maxLength: 4 }).map((e) => new Path(e)),
      fc.string({ maxLength: 8 }).map((n) => new MoatProxy(n)),
      // On the wire an object is `[name, *args, {kw}?]`: a last argument that is a map would read back as keywords.
      fc.tuple(fc.string({ minLength: 1, maxLength: 8 }), fc.array(tie("value"), { maxLength: 3 }))
        .filter(([, a]) => !isPlainDict(a[a.length - 1]))
        .map(([n, a]) => new MoatObject(n, a)),
    ),
  })).value;

const moatValue = moatValueFrom(-(1n << 70n));

/** A MoaT message: `[header, ...payload]`. */
const messageOf = (value: fc.Arbitrary<unknown>) =>
  fc.tuple(fc.integer({ min: -40, max: 40 }), fc.array(value, { maxLength: 4 })).map(([h, p]) => [h, ...p]);
const message = messageOf(moatValue);
const mpMessage = messageOf(moatValueFrom(-(1n << 63n)));

const cborStream = fc.array(message, { maxLength: 5 }).map((ms) => concat(...ms.map((m) => encodeCbor(m))));
const msgpackStream = fc.array(mpMessage, { maxLength: 5 }).map((ms) => concat(...ms.map((m) => encodeMoatMsgpack(m))));
const cuts = fc.array(fc.nat(), { maxLength: 6 });

/** Decodes `chunks` with a stream decoder; returns messages and issues. */
function runStream(
  make: (onIssue: (i: FrameIssue) => void) => { push(c: Uint8Array): unknown[]; end(): void },
  chunks: Uint8Array[],
): { messages: unknown[]; issues: FrameIssue[] } {
  const issues: FrameIssue[] = [];
  const d = make((i) => issues.push(i));
  const messages: unknown[] = [];
  for (const c of chunks) messages.push(...d.push(c));
  d.end();
  return { messages, issues };
}

Deno.test("fuzz moat: the CBOR stream decoder never throws on any bytes in any chunks", async () => {
  await fuzz("moat.cbor_stream", fc.tuple(hostileBytes(cborStream), cuts), ([bytes, cut]) => {
    const r = runStream((on) => new CborStreamDecoder(on), splitAt(bytes, cut));
    for (const i of r.issues) {
      assert.ok(i.bytes >= 0 && i.bytes <= bytes.length, "an issue counts more bytes than came");
    }
  });
});

Deno.test("fuzz moat: the MessagePack stream decoder never throws on any bytes in any chunks", async () => {
  await fuzz("moat.msgpack_stream", fc.tuple(hostileBytes(msgpackStream), cuts), ([bytes, cut]) => {
    const r = runStream((on) => streamDecoder("msgpack", on), splitAt(bytes, cut));
    for (const i of r.issues) {
      assert.ok(i.bytes >= 0 && i.bytes <= bytes.length, "an issue counts more bytes than came");
    }
  });
});

Deno.test("fuzz moat: clean streams decode message for message in any chunks, with both codecs", async () => {
  await fuzz("moat.stream_roundtrip", fc.tuple(fc.array(mpMessage, { maxLength: 5 }), cuts), ([ms, cut]) => {
    const cbor = runStream((on) => new CborStreamDecoder(on), splitAt(concat(...ms.map((m) => encodeCbor(m))), cut));
    assert.deepEqual(cbor, { messages: ms, issues: [] });
    const mp = runStream(
      (on) => streamDecoder("msgpack", on),
      splitAt(concat(...ms.map((m) => encodeMoatMsgpack(m))), cut),
    );
    assert.deepEqual(mp, { messages: ms, issues: [] });
  });
});

Deno.test("fuzz moat: decodeCbor throws only CborError, decodeMoatMsgpackAt only its two errors", async () => {
  await fuzz("moat.codecs", fc.oneof(hostileBytes(cborStream), hostileBytes(msgpackStream)), (bytes) => {
    expectOnly(() => decodeCbor(bytes), [CborError]);
    for (let p = 0; p < bytes.length; p += 1 + (bytes[p] & 7)) {
      expectOnly(() => decodeMoatMsgpackAt(bytes, p), [MsgpackIncomplete, MsgpackError]);
    }
  });
});

Deno.test("fuzz moat: serial frames between console bytes come back exactly; bad bytes never throw", async () => {
  const console = fc.uint8Array({ maxLength: 12 }).map((b) => b.map((x) => x & 0x7f)); // ASCII console text
  const payload = fc.uint8Array({ minLength: 1, maxLength: 300 });
  await fuzz(
    "moat.serial",
    fc.tuple(fc.array(fc.tuple(console, payload), { maxLength: 4 }), fc.constantFrom(127, 300), cuts, fc.nat()),
    ([parts, max, cut, flip]) => {
      const fitting = parts.filter(([, p]) => p.length <= max);
      const bytes = concat(...fitting.flatMap(([c, p]) => [c, encodeSerialFrame(p, max)]));
      const issues: FrameIssue[] = [];
      const d = new SerialDecoder(max, (i) => issues.push(i));
      const frames: Uint8Array[] = [];
      for (const c of splitAt(bytes, cut)) frames.push(...d.push(c).frames);
      assert.deepEqual(frames, fitting.map(([, p]) => p));
      assert.deepEqual(issues, []);
      // One flipped bit anywhere: the parser goes on without an exception.
      if (bytes.length > 0) {
        const bad = bytes.slice();
        bad[flip % bad.length] ^= 1 << (flip % 8);
        const d2 = new SerialDecoder(max);
        for (const c of splitAt(bad, cut)) d2.push(c);
        d2.idle();
      }
    },
  );
});

Deno.test("fuzz moat: the endpoint takes any decoded message without throwing", async () => {
  await fuzz("moat.endpoint", fc.array(fc.oneof(message, moatValue), { maxLength: 6 }), async (msgs) => {
    const ep = new Endpoint({ handler: (req) => ["ok", ...req.args], onIssue: () => {} });
    for (const m of msgs) ep.msgIn(m);
    for (let i = 0; i < 4; i++) await Promise.resolve();
    ep.takeOut();
    ep.close();
  });
});
