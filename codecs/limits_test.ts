import assert from "node:assert/strict";
import {
  checkRecordLimits,
  limitReasonOf,
  MAX_DEPTH,
  MAX_RECORD_BYTES,
  RecordLimitError,
  withinDepth,
} from "../core/limits.ts";
import { encodeMsgpack, encodeRecordMsgpack } from "./msgpack.ts";
import { encodeCbor } from "./cbor.ts";
import { MpackStreamReader } from "./mpack_stream.ts";
import { createLogger } from "../core/log.ts";
import { makeRecord } from "../core/record.ts";
import { EncodedRecord } from "./encoded_record.ts";
import { RecordRejects } from "../core/reject.ts";
import { PartStats, renderPrometheus } from "../core/stats.ts";

/** A record whose innermost value sits at `level` (lists nested below the record's dictionary). */
function at(level: number): Record<string, unknown> {
  let v: unknown = 1;
  for (let i = 1; i < level; i++) v = [v];
  return { v };
}

/** What telebus's `.mpack` reader makes of `bytes`: "record" or "garbage". */
function readBack(bytes: Uint8Array): string {
  const reader = new MpackStreamReader();
  reader.push(bytes);
  return reader.next()?.kind ?? reader.finish()?.kind ?? "nothing";
}

Deno.test("limits: the depth check and telebus's reader draw the line at the same level", () => {
  assert.equal(MAX_DEPTH, 100);
  for (const level of [1, 2, 99, 100]) {
    assert.equal(withinDepth(at(level)), true, `level ${level}`);
    assert.equal(readBack(encodeMsgpack(at(level) as never)), "record", `level ${level}`);
    assert.doesNotThrow(() => encodeRecordMsgpack(at(level) as never));
  }
  for (const level of [101, 102, 5000]) {
    assert.equal(withinDepth(at(level)), false, `level ${level}`);
    assert.equal(checkRecordLimits(at(level), 10), "too_deep");
    assert.throws(
      () => encodeRecordMsgpack(at(level) as never),
      (e) => e instanceof RecordLimitError && e.reason === "too_deep",
    );
  }
  // What the writers would produce without the check, the reader refuses: the reason for one limit.
  assert.equal(readBack(encodeMsgpack(at(101) as never)), "garbage");
  // Maps count as lists do; empty containers and typed arrays at the limit are fine.
  assert.equal(withinDepth({ a: { b: {} } }, 2), true);
  assert.equal(withinDepth({ a: { b: { c: 1 } } }, 2), false);
  assert.equal(withinDepth({ a: [new Float64Array(3)] }, 2), true);
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = cyclic;
  assert.equal(withinDepth(cyclic), false);
});

Deno.test("limits: reasons for what the encoders cannot write", () => {
  assert.throws(
    () => encodeRecordMsgpack({ big: 2n ** 64n }),
    (e) => e instanceof RecordLimitError && e.reason === "unencodable" && /too large/.test(e.message),
  );
  assert.equal(checkRecordLimits({ a: 1 }, MAX_RECORD_BYTES + 1), "too_large");
  assert.equal(checkRecordLimits({ a: 1 }, MAX_RECORD_BYTES), undefined);
  assert.equal(limitReasonOf(new RangeError("Maximum call stack size exceeded")), "too_deep");
  assert.equal(limitReasonOf(new Error("other")), "unencodable");
  // The MoaT codecs allow a record's depth plus a message's envelope, and say why they refuse more.
  assert.doesNotThrow(() => encodeCbor(["pub", "s", at(100)]));
  assert.throws(() => encodeCbor(at(200)), (e) => e instanceof RecordLimitError && e.reason === "too_deep");
});

Deno.test("RecordRejects: admits records within the limits, counts the rest per reason, logs once per reason", () => {
  const lines: string[] = [];
  const stats = new PartStats("input", "in", "zmq");
  const rejects = new RecordRejects(stats, createLogger("input.in", { level: "info", write: (l) => lines.push(l) }));
  const good = [makeRecord("a", 1n, { i: 0 }, "in"), makeRecord("b", 1n, { i: 1 }, "in")];
  assert.equal(rejects.admit(good), good, "nothing refused: the same array");
  const raw = new EncodedRecord("c", 1n, encodeMsgpack({ i: 2 }), "in");
  const kept = rejects.admit([
    good[0],
    makeRecord("deep/1", 1n, at(101) as never, "in"),
    raw,
    makeRecord("deep/2", 1n, at(300) as never, "in"),
    makeRecord("large", 1n, { i: 3 }, "in", MAX_RECORD_BYTES + 1),
    good[1],
  ]);
  assert.deepEqual(kept, [good[0], raw, good[1]]);
  assert.deepEqual(Object.fromEntries(stats.rejected), { too_deep: 2, too_large: 1 });
  assert.equal(stats.rejectedTotal, 3);
  assert.equal(lines.length, 2, lines.join("\n"));
  assert.match(lines[0], /record refused.*stream=deep\/1 reason=too_deep /);
  assert.match(lines[1], /stream=large reason=too_large /);
  const text = renderPrometheus([stats]);
  assert.match(text, /^telebus_input_rejected_total\{input="in",type="zmq",reason="too_deep"\} 2$/m);
  assert.match(text, /^telebus_input_rejected_total\{input="in",type="zmq",reason="too_large"\} 1$/m);
});
