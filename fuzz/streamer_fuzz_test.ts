/**
 * Fuzz target: what a streamer client sends (protocol/streamer/wire.ts,
 * transports/streamer/api.ts). A push socket's query, JSON header and binary
 * frame go through the same steps as `StreamerApi` takes them (query parse,
 * `JSON.parse`, `splitPush`, `store.add` with the header's ids): only
 * `StreamerProtocolError` (or the `SyntaxError` of a header that is not JSON,
 * which the API answers as such) comes out, and an accepted header cuts the
 * frame into entries that cover it exactly. POST bodies (multipart or not)
 * and pull/GET queries go to the real handler or parser: no exception, no
 * 5xx answer.
 */
import assert from "node:assert/strict";
import fc from "npm:fast-check@^4.10.2";
import {
  parsePullQuery,
  parsePushQuery,
  type PushPart,
  splitPush,
  StreamerProtocolError,
  streamKey,
} from "../protocol/streamer/wire.ts";
import { MemoryStreamStore } from "../transports/streamer/store.ts";
import { StreamerApi } from "../transports/streamer/api.ts";
import { type StoreConfig, streamerOutputSchema } from "../transports/streamer/schema.ts";
import { createLogger } from "../core/log.ts";
import { CASE_TIME_LIMIT_MS, expectOnly, expectOnlyAsync, fuzz, FUZZ_RUNS, hostileText } from "./runner.ts";

type Outcome<T> = { value: T } | { error: Error };

function split(header: unknown, sids: readonly string[], length: number): Outcome<PushPart[]> {
  return expectOnly(() => splitPush(header, sids, length), [StreamerProtocolError]);
}

const sid = fc.oneof(fc.constantFrom("a", "b", "cnt", "a+b", "x:y", "*"), fc.string({ maxLength: 6 }));
const queryValue = fc.oneof(
  fc.constantFrom("0", "1", "true", "no", "", "*", "$", "-", "0-0", "1-1", "-5", "1e3", "NaN", "default"),
  fc.string({ maxLength: 6 }),
);
const query = fc.dictionary(
  fc.constantFrom(
    "header",
    "ack",
    "device_id",
    "prefix",
    "count",
    "block",
    "latest",
    "last_entry_id",
    "max_fps",
    "keep_device_id_in_stream_id",
    "x",
  ),
  queryValue,
  { maxKeys: 5 },
).map((d) => new URLSearchParams(d));

/** Push headers: offsets, pairs and triples as redis-streamer clients send them, and their damaged forms. */
const headerValue = fc.oneof(
  fc.array(fc.oneof(fc.nat({ max: 40 }), fc.constant(-1), fc.double()), { maxLength: 4 }),
  fc.array(fc.tuple(sid, fc.nat({ max: 40 })), { maxLength: 4 }),
  fc.array(
    fc.tuple(
      sid,
      fc.oneof(fc.constant(null), fc.constantFrom("1-1", "2-*", "*", "0-0", "x", "99999999999999999-0")),
      fc.nat({ max: 40 }),
    ),
    { maxLength: 4 },
  ),
  fc.jsonValue({ maxDepth: 3 }),
);
const headerText = hostileText(headerValue.map((h) => JSON.stringify(h)), 256);

/** A push that fits together: stream ids of the path, and frames whose header matches their length (in every form). */
const coherentPush = fc.tuple(
  fc.uniqueArray(fc.constantFrom("a", "b", "c"), { minLength: 1, maxLength: 3 }),
  fc.array(
    fc.tuple(
      fc.array(fc.nat({ max: 12 }), { minLength: 3, maxLength: 3 }),
      fc.constantFrom("ends", "starts", "pairs", "triples"),
      fc.array(fc.oneof(fc.constant(null), fc.constantFrom("*", "5-*", "0-0", "3-1")), { minLength: 3, maxLength: 3 }),
      fc.integer({ min: -2, max: 2 }),
    ),
    { minLength: 1, maxLength: 4 },
  ),
  fc.nat(),
).map(([sids, frames, base]) => ({
  path: sids.join("+"),
  frames: frames.map(([sizes, form, ids, skew], n): [string, number] => {
    const lens = sids.map((_, i) => sizes[i]);
    const ends = lens.map((_, i) => lens.slice(0, i + 1).reduce((a, b) => a + b, 0));
    const total = ends[ends.length - 1];
    const id = (i: number) => ids[i] ?? `${base + n * 10 + i + 1}-0`;
    const header = form === "ends"
      ? ends
      : form === "starts"
      ? [0, ...ends.slice(0, -1)]
      : form === "pairs"
      ? sids.map((s, i) => [s, ends[i]])
      : sids.map((s, i) => [s, id(i), ends[i]]);
    // Most frames have the length their header says; some are a byte or two off.
    return [JSON.stringify(header), Math.max(0, total + (skew === 2 || skew === -2 ? skew : 0))];
  }),
}));

const push = fc.oneof(
  fc.tuple(sid, fc.array(fc.tuple(headerText, fc.nat({ max: 48 })), { minLength: 1, maxLength: 4 })).map((
    [path, frames],
  ) => ({ path, frames })),
  coherentPush,
  coherentPush.chain((p) =>
    fc.tuple(fc.constant(p), fc.nat(p.frames.length - 1), hostileText(fc.constant(p.frames[0][0]), 64))
      .map(([q, i, text]) => ({
        path: q.path,
        frames: q.frames.map((f, j): [string, number] => j === i ? [text, f[1]] : f),
      }))
  ),
);

Deno.test("fuzz streamer: push query, header and frame give entries that cover the frame, or a protocol error", async () => {
  const seen = { badQuery: 0, notJson: 0, badHeader: 0, stored: 0, refused: 0 };
  await fuzz(
    "streamer.push",
    fc.tuple(push, fc.oneof(query, fc.constant(new URLSearchParams()))),
    async ([{ path, frames }, q]) => {
      const store = new MemoryStreamStore({ maxStreams: 4, maxlen: 8 });
      const opts = expectOnly(() => parsePushQuery(path, q), [StreamerProtocolError]);
      if ("error" in opts) return void seen.badQuery++;
      for (const [text, length] of frames) {
        const header: Outcome<unknown> = expectOnly<unknown>(() => JSON.parse(text), [SyntaxError]);
        if ("error" in header) {
          seen.notJson++;
          continue;
        }
        const parts = split(header.value, opts.value.sids, length);
        if ("error" in parts) {
          seen.badHeader++;
          continue;
        }
        let at = 0;
        for (const p of parts.value) {
          // === rather than Object.is: a header may say -0, which is offset 0.
          assert.ok(p.start === at, `entries leave a gap or overlap: ${p.start} after ${at}`);
          assert.ok(p.end >= p.start);
          at = p.end;
        }
        assert.equal(at, length, "entries do not cover the frame");
        const bytes = new Uint8Array(length);
        for (const p of parts.value) {
          const key = streamKey(opts.value, p.sid, true);
          const added = await expectOnlyAsync(() => store.add(key, bytes.slice(p.start, p.end), { id: p.id }), [
            StreamerProtocolError,
          ]);
          if ("value" in added) seen.stored++;
          else seen.refused++;
        }
      }
      await store.close();
    },
  );
  // Every step is reached: bad queries, bad JSON, bad headers, stored entries and ids the store refuses.
  for (const [k, n] of Object.entries(seen)) assert.ok(n > 0, `no case reached ${k}: ${JSON.stringify(seen)}`);
});

Deno.test("fuzz streamer: pull and GET queries parse or throw StreamerProtocolError", async () => {
  await fuzz("streamer.pull_query", fc.tuple(sid, query, fc.boolean()), ([path, q, http]) => {
    expectOnly(() => parsePullQuery(path, q, http), [StreamerProtocolError]);
  });
});

const CONFIG: StoreConfig = {
  ...(streamerOutputSchema.parse({}) as unknown as StoreConfig),
  store: "fuzz",
  maxlen: 8,
  max_stream_bytes: 4096,
  max_streams: 8,
  max_message_bytes: 64,
  max_clients: 4,
  max_buffered: 4096,
};
const info = { remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 1 } } as unknown as Deno.ServeHandlerInfo;

/** A POST body: multipart with file and text parts (named `entries` or not), or anything else. */
const postBody = fc.oneof(
  fc.array(
    fc.tuple(
      fc.constantFrom("entries", "entries", "other"),
      fc.oneof(fc.string({ maxLength: 8 }), fc.uint8Array({ maxLength: 80 })),
      fc.option(fc.oneof(fc.constantFrom("a", "b", "a+b", "*"), fc.string({ maxLength: 6 }))),
    ),
    { maxLength: 4 },
  ).map((parts) => {
    const form = new FormData();
    for (const [name, value, file] of parts) {
      if (typeof value === "string" && file === null) form.append(name, value);
      else form.append(name, new Blob([value]), file ?? "");
    }
    return { body: form as BodyInit, type: undefined as string | undefined };
  }),
  fc.tuple(
    fc.uint8Array({ maxLength: 200 }),
    fc.constantFrom("multipart/form-data; boundary=x", "text/plain", undefined),
  )
    .map(([b, type]) => ({ body: b as BodyInit, type })),
);

Deno.test("fuzz streamer: POST bodies and paths never throw and never get a 5xx", async () => {
  const store = new MemoryStreamStore({ maxStreams: 8, maxlen: 8 });
  const api = new StreamerApi(store, CONFIG, createLogger("fuzz", { level: "error", write: () => {} }));
  const statuses = new Set<number>();
  try {
    await fuzz(
      "streamer.post",
      fc.tuple(fc.oneof(sid, fc.constantFrom("%zz", "a%2Fb", "", "/", "a/push")), query, postBody),
      async ([path, q, { body, type }]) => {
        q.delete("block");
        q.set("block", "1"); // a GET that finds nothing waits this long
        const url = `http://127.0.0.1/data/${path}?${q}`;
        const req = new Request(url, { method: "POST", body, headers: type ? { "content-type": type } : {} });
        const res = await api.handle(req, info);
        await res.body?.cancel();
        assert.ok(res.status < 500, `POST ${url} got ${res.status}`);
        statuses.add(res.status);
      },
    );
    // Both ends are reached: entries stored (200) and requests refused (4xx).
    assert.ok(statuses.has(200) && statuses.has(400), `statuses seen: ${[...statuses]}`);
  } finally {
    await api.close();
  }
});

/** Cases of the socket property: each opens a WebSocket (tens of ms), so a tenth of the others, at most 2000. */
const SOCKET_RUNS = Math.max(20, Math.min(Math.floor(FUZZ_RUNS / 10), 2000));

Deno.test("fuzz streamer: pushes over a real WebSocket are stored and acknowledged, or closed with a reason", async () => {
  const store = new MemoryStreamStore({ maxStreams: 64, maxlen: 8 });
  const api = new StreamerApi(store, CONFIG, createLogger("fuzz", { level: "error", write: () => {} }));
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req, info) => api.handle(req, info),
  );
  const codes = new Map<number, number>();
  try {
    await fuzz("streamer.push_socket", push, async ({ path, frames }) => {
      const ws = new WebSocket(`ws://127.0.0.1:${server.addr.port}/data/${encodeURIComponent(path)}/push?ack=1`);
      ws.binaryType = "arraybuffer";
      let acks = 0;
      let closed: CloseEvent | undefined;
      let wake = () => {};
      ws.onmessage = () => (acks++, wake());
      ws.onclose = (e) => (closed = e, wake());
      ws.onopen = () => wake();
      ws.onerror = () => {};
      const until = async (done: () => boolean) => {
        const deadline = Date.now() + CASE_TIME_LIMIT_MS;
        while (!done()) {
          const left = deadline - Date.now();
          if (left <= 0) throw new Error("no answer from the push socket in time");
          await new Promise<void>((r) => {
            const t = setTimeout(r, left);
            wake = () => (clearTimeout(t), r());
          });
        }
      };
      await until(() => ws.readyState !== WebSocket.CONNECTING);
      if (ws.readyState === WebSocket.OPEN) {
        for (const [text, length] of frames) {
          ws.send(text);
          ws.send(new Uint8Array(length));
        }
        await until(() => closed !== undefined || acks === frames.length);
        if (!closed) ws.close();
      }
      await until(() => closed !== undefined);
      const code = closed!.code;
      codes.set(code, (codes.get(code) ?? 0) + 1);
      // 1011 is the API's own failure; bad input is 1003 (wrong frame kind), 1007 (not JSON) or 1008 (bad header).
      assert.notEqual(code, 1011, `closed 1011: ${closed!.reason}`);
    }, SOCKET_RUNS);
  } finally {
    await api.close();
    await server.shutdown();
  }
  assert.ok(
    (codes.get(1005) ?? 0) + (codes.get(1000) ?? 0) > 0 && (codes.get(1008) ?? 0) > 0,
    JSON.stringify([...codes]),
  );
});
