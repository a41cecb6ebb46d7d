/**
 * Fuzz target: mflow messages from a ZeroMQ peer (codecs/mflow.ts). Header
 * frames that are random, damaged JSON or plausible headers of every htype,
 * followed by random or plausible data frames, through one decoder per
 * connection (so that per-connection state — raw-1.0 continuations, the
 * bsr_m-1.0 channel cache — is exercised too): the decoder throws nothing
 * but `MflowError`. Messages the encoders build decode back to the same data.
 */
import assert from "node:assert/strict";
import fc from "npm:fast-check@^4.10.2";
import { encodeArrayMessage, encodeMflow, jsonFrame, MflowDecoder, MflowError, mflowTypes } from "../codecs/mflow.ts";
import type { Dict } from "../core/record.ts";
import { expectOnly, fuzz, hostileBytes, mutated } from "./runner.ts";

const enc = new TextEncoder();
const DTYPES = ["uint8", "<u2", ">u2", "int32", "<f4", ">f8", "float64", "bool", "<c8", "S4", "<U2", "<M8[ns]", "i8"];

/** Header fields of every built-in htype, in plausible and implausible shapes. */
const header: fc.Arbitrary<Dict> = fc.record({
  htype: fc.oneof(fc.constantFrom(...mflowTypes(), "nope-1.0"), fc.string()),
  type: fc.oneof(fc.constantFrom(...DTYPES), fc.string({ maxLength: 6 })),
  shape: fc.oneof(
    fc.array(fc.oneof(fc.integer({ min: -1, max: 8 }), fc.constant(1e9)), { maxLength: 3 }),
    fc.integer({ min: -1, max: 16 }),
    fc.constant("x"),
  ),
  frame: fc.nat(),
  header_detail: fc.constantFrom("all", "basic", "none", "some"),
  hash: fc.constantFrom("a", "b"),
}, { requiredKeys: ["htype"] }) as fc.Arbitrary<Dict>;

/** A data frame: random bytes, or JSON of what the Dectris parts and bsr data headers hold. */
const jsonPart = fc.record({
  channels: fc.array(
    fc.record({
      name: fc.oneof(fc.string({ maxLength: 4 }), fc.integer()),
      type: fc.constantFrom("double", "string", "int8", "uint64", "float32", "bogus"),
      encoding: fc.constantFrom("big", "little"),
    }, { requiredKeys: [] }),
    { maxLength: 3 },
  ),
  encoding: fc.constantFrom("<", ">", "bs32-lz4<"),
  type: fc.constantFrom(...DTYPES),
  shape: fc.array(fc.integer({ min: -1, max: 4 }), { maxLength: 2 }),
}, { requiredKeys: [] });
const dataFrame = fc.oneof(
  fc.uint8Array({ maxLength: 64 }),
  hostileBytes(jsonPart.map((p) => enc.encode(JSON.stringify(p))), 128),
);
const typed = fc.oneof(
  fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 8 }).map((a) => Uint8Array.from(a)),
  fc.array(fc.integer({ min: -32768, max: 32767 }), { maxLength: 8 }).map((a) => Int16Array.from(a)),
  fc.array(fc.double({ noNaN: true }), { maxLength: 8 }).map((a) => Float64Array.from(a)),
  fc.array(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), { maxLength: 8 }).map((a) => BigUint64Array.from(a)),
);

/** Whole, valid messages of every built-in htype. */
const validMessage: fc.Arbitrary<Uint8Array[]> = fc.oneof(
  fc.tuple(typed, fc.nat()).map(([a, n]) => encodeArrayMessage([a], n)),
  fc.array(fc.uint8Array({ maxLength: 16 }), { maxLength: 3 }).map((data) =>
    encodeMflow({ header: { htype: "raw-1.0" }, data })
  ),
  fc.constantFrom("all", "basic", "none").map((detail) => {
    const d: Dict = { header: { htype: "dheader-1.0", header_detail: detail } };
    for (const k of ["part_2", "part_3", "part_5", "part_7"]) d[k] = { htype: k, x: 1 };
    for (const k of ["part_4_raw", "part_6_raw", "part_8_raw"]) d[k] = new Uint8Array(3);
    return encodeMflow(d);
  }),
  fc.tuple(fc.constantFrom("<u2", ">u2", "uint8"), fc.integer({ min: 0, max: 4 })).map(([type, n]) =>
    encodeMflow({
      header: { htype: "dimage-1.0" },
      part_2: { htype: "dimage_d-1.0", type, shape: [n], encoding: type.startsWith(">") ? ">" : "<" },
      part_3_raw: new Uint8Array(n * (type === "uint8" ? 1 : 2)),
      part_4: { htype: "dconfig-1.0" },
    })
  ),
  fc.array(fc.constantFrom("double", "int8", "uint64", "string"), { minLength: 1, maxLength: 3 }).map((types) => [
    jsonFrame({ htype: "bsr_m-1.0", hash: types.join() }),
    enc.encode(JSON.stringify({ channels: types.map((type, i) => ({ name: `c${i}`, type })) })),
    ...types.flatMap((t) => [new Uint8Array(t === "double" || t === "uint64" ? 8 : 1), new Uint8Array(16)]),
  ]),
  fc.constant(null).map(() => [jsonFrame({ htype: "dseries_end-1.0" })]),
);

/** A valid message with some frames damaged, dropped or repeated. */
const damagedMessage = fc.tuple(validMessage, fc.array(fc.tuple(fc.nat(), fc.nat(2)), { minLength: 1, maxLength: 3 }))
  .chain(([frames, edits]) => {
    const out = [...frames];
    const damaged = edits.map(([at, what]) => {
      const i = at % out.length;
      if (what === 0) return mutated(fc.constant(out[i])).map((f) => [i, f] as const);
      return fc.constant([i, what === 1 ? null : out[i]] as const);
    });
    return fc.tuple(...damaged).map((changes) => {
      const result = [...out];
      for (const [i, f] of changes) {
        if (i >= result.length) continue; // an earlier edit dropped that frame
        if (f === null) result.splice(i, 1);
        else if (f === result[i]) result.splice(i, 0, f);
        else result[i] = f;
      }
      return result.length ? result : out;
    });
  });

const randomMessage = fc.tuple(
  hostileBytes(header.map((h) => jsonFrame(h)), 256),
  fc.array(dataFrame, { maxLength: 9 }),
).map(([h, rest]) => [h, ...rest]);
const message = fc.oneof(randomMessage, validMessage, damagedMessage, damagedMessage);

Deno.test("fuzz mflow: any messages through one decoder throw only MflowError", async () => {
  const outcomes: Record<string, number> = {};
  await fuzz("mflow.decode", fc.array(message, { minLength: 1, maxLength: 4 }), (messages) => {
    const decoder = new MflowDecoder();
    for (const frames of messages) {
      const r = expectOnly(() => decoder.decode(frames), [MflowError]);
      const k = "error" in r ? (r.error as MflowError).kind : `ok ${r.value.htype}`;
      outcomes[k] = (outcomes[k] ?? 0) + 1;
    }
  });
  // The fuzzer gets past the header: every htype decodes sometimes, and every kind of error shows up.
  for (const k of [...mflowTypes().map((t) => `ok ${t}`), "bad_header", "unknown_htype", "frame_count", "bad_part"]) {
    assert.ok(outcomes[k] > 0, `no case ended as ${k}: ${JSON.stringify(outcomes)}`);
  }
});

Deno.test("fuzz mflow: encoded messages decode back (array-1.0, raw-1.0, dimage-1.0, dseries_end-1.0)", async () => {
  await fuzz(
    "mflow.roundtrip",
    fc.tuple(typed, fc.nat(), fc.array(fc.uint8Array(), { maxLength: 3 })),
    ([a, n, raw]) => {
      const decoder = new MflowDecoder();
      const arr = decoder.decode(encodeArrayMessage([a], n));
      assert.deepEqual((arr.data.data as unknown[])[0], a.length === 0 ? null : a);
      assert.equal((arr.data.header as Dict).frame, n);
      const rawData = { header: { htype: "raw-1.0", frame: n }, data: raw };
      assert.deepEqual(decoder.decode(encodeMflow(rawData)).data, rawData);
      const image = {
        header: { htype: "dimage-1.0", series: n },
        part_2: { htype: "dimage_d-1.0", frame: n },
        part_3_raw: raw[0] ?? new Uint8Array(0),
        part_4: { htype: "dconfig-1.0", real_time: n },
      };
      assert.deepEqual(decoder.decode(encodeMflow(image)).data, image);
      const end = { header: { htype: "dseries_end-1.0", series: n } };
      assert.deepEqual(decoder.decode(encodeMflow(end)).data, end);
    },
  );
});
