/**
 * `deno bench` of the hot paths: decoding a `.mpack` stream, encoding a
 * record (MessagePack, InfluxDB line protocol), checking a record against the
 * codecs' limits, sizing a record for queue accounting, bus fan-out through queues, JSON for `dump`. Each bench handles
 * 1000 20-key telemetry records (~260 B each), so ops/s × 1000 = records/s.
 *
 *   deno bench -A bench/
 */
import { MpackStreamReader } from "../codecs/mpack_stream.ts";
import { encodeMsgpack, encodeRecordMsgpack } from "../codecs/msgpack.ts";
import { withinDepth } from "../core/limits.ts";
import { toJson } from "../codecs/json.ts";
import { Bus, OutputAttachment } from "../core/bus.ts";
import { estimateSize, makeRecord } from "../core/record.ts";
import { encodeRecord } from "../codecs/line_protocol.ts";
import { PartStats } from "../core/stats.ts";
import { createLogger } from "../core/log.ts";
import { telemetry } from "./fixtures.ts";

const dicts = telemetry(1000);
const encoded = dicts.map((d) => encodeMsgpack(d));
const stream = new Uint8Array(encoded.reduce((n, b) => n + b.length, 0));
{
  let o = 0;
  for (const b of encoded) stream.set(b, o), o += b.length;
}

function readAll(decode: boolean): number {
  const r = new MpackStreamReader({ decode });
  let n = 0;
  for (let o = 0; o < stream.length; o += 65536) {
    r.push(stream.subarray(o, o + 65536));
    for (let it = r.next(); it; it = r.next()) n++;
  }
  return n;
}

Deno.bench("decode: .mpack stream → records (decoded)", { group: "decode", baseline: true }, () => {
  readAll(true);
});
Deno.bench("decode: .mpack stream → records (checked, decoded lazily)", { group: "decode" }, () => {
  readAll(false);
});

Deno.bench("encode: record → MessagePack", { group: "encode" }, () => {
  for (const d of dicts) encodeMsgpack(d);
});

Deno.bench("encode: record → MessagePack within the limits (depth check + encode + size check)", {
  group: "encode",
}, () => {
  for (const d of dicts) encodeRecordMsgpack(d);
});

Deno.bench("limits: depth check of a decoded record (what an input's admission adds)", { group: "encode" }, () => {
  for (const d of dicts) withinDepth(d);
});

Deno.bench("json: record → NDJSON line (python style)", { group: "encode" }, () => {
  for (const d of dicts) toJson(d, { style: "python" });
});

const records = dicts.map((d, i) => makeRecord("robot/telemetry", 1_700_000_000_000_000_000n + BigInt(i), d, "bench"));
Deno.bench("line protocol: record → line (the mode key as a tag)", { group: "encode" }, () => {
  for (const r of records) encodeRecord(r, { tagKeys: ["mode"] });
});

Deno.bench("size: estimate a record's size for queue accounting", { group: "encode" }, () => {
  for (const d of dicts) estimateSize(d);
});

const log = createLogger("bench", { level: "error", write() {} });
Deno.bench("bus: emit 1000 records to 3 outputs and drain", { group: "bus" }, async () => {
  const bus = new Bus();
  const attachments: OutputAttachment[] = [];
  for (let i = 0; i < 3; i++) {
    const a = new OutputAttachment(
      `o${i}`,
      { write: () => {}, close: () => Promise.resolve() },
      {
        whenFull: "block",
        queueRecords: 10000,
        queueBytes: 64 << 20,
        batchRecords: 1000,
      },
      new PartStats("output", `o${i}`, "bench"),
      log,
    );
    bus.attach(a);
    a.start();
    attachments.push(a);
  }
  const records = dicts.map((d) => makeRecord("robot/telemetry", 1n, d, "bench", 260));
  let accepted = false;
  await bus.emit(records, () => accepted = true);
  await Promise.all(attachments.map((a) => a.drainAndClose()));
  if (!accepted) throw new Error("not accepted");
});
