import assert from "node:assert/strict";
import { makeRecord } from "../../core/record.ts";
import { ChannelTable } from "./channels.ts";

const rec = (data: Record<string, unknown>) => makeRecord("s", 1n, data as never, "test");

Deno.test("foxglove channels: schemas Foxglove reads (one type per member); nulls and mixed members", () => {
  const t = new ChannelTable(10);
  const schema = () => JSON.parse(t.channels[0].schema);
  const first = t.place(rec({ v: 1, z: null, e: [], n: 2n }));
  assert.equal(first.change?.removed, undefined);
  // Only nulls, an empty array: left out until their type is known.
  assert.deepEqual(schema(), { type: "object", properties: { v: { type: "number" }, n: { type: "integer" } } });
  // A null where a number was (NaN prints as null): the same schema, no new channel.
  assert.equal(t.place(rec({ v: null, z: null, e: [], n: 3n })).change, undefined);
  // A type for z and items for e: a new channel with them.
  const wider = t.place(rec({ v: 2, z: "x", e: [1.5], n: 4 }));
  assert.equal(wider.change?.removed, first.channel!.channel.id);
  assert.deepEqual(schema().properties, {
    v: { type: "number" },
    z: { type: "string" },
    e: { type: "array", items: { type: "number" } },
    n: { type: "number" },
  });
  // z of a second kind: it leaves the schema (its values still come in the messages).
  t.place(rec({ v: 2, z: 5, e: [1.5], n: 4 }));
  assert.equal(schema().properties.z, undefined);
  assert.equal(t.channels.length, 1);
});

Deno.test("foxglove channels: at most max streams", () => {
  const t = new ChannelTable(1);
  assert.ok(t.place(makeRecord("a", 1n, {}, "x")).channel);
  assert.equal(t.place(makeRecord("b", 1n, {}, "x")).channel, undefined);
});
