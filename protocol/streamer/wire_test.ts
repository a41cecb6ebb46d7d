import assert from "node:assert/strict";
import {
  clientSid,
  compareEntryIds,
  offsetsHeaderValue,
  packEntries,
  parseCursor,
  parseEntryId,
  parsePullQuery,
  parsePushQuery,
  pullHeaderText,
  splitPush,
  StreamerProtocolError,
  streamKey,
} from "./wire.ts";

const cut = (h: unknown, sids: string[], text: string) =>
  splitPush(h, sids, text.length).map((p) => [p.sid, p.id, text.slice(p.start, p.end)]);

Deno.test("splitPush: end offsets, start offsets (first 0), pairs, triples", () => {
  assert.deepEqual(cut([5], ["cnt"], "hello"), [["cnt", null, "hello"]]);
  assert.deepEqual(cut([2, 5], ["a", "b"], "abcde"), [["a", null, "ab"], ["b", null, "cde"]]);
  assert.deepEqual(cut([0, 2], ["a", "b"], "abcde"), [["a", null, "ab"], ["b", null, "cde"]]);
  assert.deepEqual(cut([["cnt", 2], ["cnt", 5]], ["x"], "abcde"), [["cnt", null, "ab"], ["cnt", null, "cde"]]);
  assert.deepEqual(cut([["a", "5-1", 2], ["b", null, 5]], ["x"], "abcde"), [["a", "5-1", "ab"], ["b", null, "cde"]]);
});

Deno.test("splitPush: bad headers say what is wrong", () => {
  const bad = (h: unknown, sids: string[], len: number, re: RegExp) =>
    assert.throws(
      () => splitPush(h, sids, len),
      (e: Error) => e instanceof StreamerProtocolError && re.test(e.message),
    );
  bad([], ["a"], 3, /empty list/);
  bad({ a: 1 }, ["a"], 3, /must be a JSON list/);
  bad([3], ["a", "b"], 3, /1 offsets for 2 stream/);
  bad([2, 1], ["a", "b"], 3, /backwards/);
  bad([9], ["a"], 3, /past the frame/);
  bad([2], ["a"], 3, /covers 2 bytes but the frame has 3/);
  bad([["a"]], ["a"], 3, /pairs or/);
  bad([[1, 3]], ["a"], 3, /stream id must be/);
  bad([["a", 5, 3]], ["a"], 3, /entry id must be a string/);
  bad([["a", -1]], ["a"], 3, /end offset/);
});

Deno.test("pull header: cumulative END offsets, Starlette spacing; compact x-offsets; ASCII only", () => {
  const enc = new TextEncoder();
  const { triples, body } = packEntries([
    { sid: "cnt", id: "1-0", data: enc.encode("hello") },
    { sid: "cnt", id: "2-0", data: enc.encode("ab") },
    { sid: "é", id: "2-1", data: enc.encode("cde") },
  ]);
  assert.deepEqual(triples, [["cnt", "1-0", 5], ["cnt", "2-0", 7], ["é", "2-1", 10]]);
  assert.equal(new TextDecoder().decode(body), "helloabcde");
  assert.equal(pullHeaderText(triples), '[["cnt", "1-0", 5], ["cnt", "2-0", 7], ["\\u00e9", "2-1", 10]]');
  assert.equal(offsetsHeaderValue(triples.slice(0, 1)), '[["cnt","1-0",5]]');
  assert.equal(pullHeaderText([]), "[]");
});

Deno.test("ids and cursors", () => {
  assert.deepEqual(parseEntryId("1700000000000-3"), { ms: 1700000000000, seq: 3 });
  assert.deepEqual(parseEntryId("12"), { ms: 12, seq: 0 });
  assert.equal(parseEntryId("x-1"), undefined);
  assert.equal(parseEntryId("-"), undefined);
  assert.ok(compareEntryIds({ ms: 9, seq: 0 }, { ms: 10, seq: 0 }) < 0, "numeric, not lexicographic");
  assert.equal(parseCursor("$"), "$");
  assert.equal(parseCursor("-"), "-");
  assert.throws(() => parseCursor("soon"), /last_entry_id="soon"/);
});

Deno.test("queries: defaults of pull, GET and push; keys and client stream ids", () => {
  const q = (s: string) => new URLSearchParams(s);
  const pull = parsePullQuery("cnt", q(""), false);
  assert.deepEqual(
    [pull.cursor, pull.block, pull.count, pull.latest, pull.maxFps, pull.ack, pull.header, pull.keepDevice],
    ["$", 5000, 1, false, 0, false, true, false],
  );
  const get = parsePullQuery("a+b", q("latest=1&last_entry_id=0"), true);
  assert.deepEqual([get.sids, get.cursor, get.block, get.latest], [["a", "b"], { ms: 0, seq: 0 }, 500, true]);
  assert.equal(parsePullQuery("cnt", q(""), true).cursor, "-");
  assert.equal(parsePullQuery("cnt", q("device_id=*"), false).keepDevice, true);
  assert.throws(() => parsePullQuery("a+b", q("header=0&count=2"), false), /header=0 cannot/);
  assert.throws(() => parsePullQuery("a", q("count=x"), false), /count="x" is not a whole number/);
  assert.throws(() => parsePullQuery("a", q("latest=maybe"), false), /not a boolean/);
  assert.throws(() => parsePushQuery("a+b", q("header=0")), /need header=1/);
  assert.deepEqual(parsePushQuery("a", q("ack=true&device_id=d&prefix=p:")), {
    sids: ["a"],
    device: "d",
    prefix: "p:",
    header: true,
    ack: true,
  });
  assert.equal(streamKey({ device: "d", prefix: "p/" }, "s", true), "d:p/s");
  assert.equal(streamKey({ device: "d", prefix: "p/" }, "s", false), "p/s");
  assert.equal(clientSid("default:cnt", false, true), "cnt");
  assert.equal(clientSid("default:cnt", true, true), "default:cnt");
});
