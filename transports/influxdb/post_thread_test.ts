import assert from "node:assert/strict";
import { MockInflux } from "../../testing/mod.ts";
import { postOnce, PostThread } from "./post_thread.ts";

const body = (s: string) => new TextEncoder().encode(s);

Deno.test("post thread: posts from a worker; status, Retry-After, error text, gzip; the same answers as in this thread", async () => {
  const mock = new MockInflux();
  const thread = new PostThread();
  try {
    mock.script.push(
      { status: 204 },
      { status: 429, headers: { "retry-after": "3" }, body: { error: "slow down" } },
      { status: 204 },
    );
    const req = (text: string, gzip = false) => ({
      url: `${mock.url}/write?db=x`,
      headers: { "content-type": "text/plain", ...(gzip ? { "content-encoding": "gzip" } : {}) },
      body: body(text),
      gzip,
      timeoutMs: 5000,
    });
    const ok = await thread.post(req("m v=1 1"));
    assert.deepEqual(ok, { status: 204, retryAfter: null, text: "", bytes: 7 });
    const limited = await thread.post(req("m v=2 2"));
    assert.deepEqual(limited, { status: 429, retryAfter: "3", text: '{"error":"slow down"}', bytes: 7 });
    const zipped = await thread.post(req("m v=3 3\n".repeat(100), true));
    assert.ok("status" in zipped && zipped.status === 204 && zipped.bytes < 800, JSON.stringify(zipped));
    assert.deepEqual(mock.requests.map((r) => r.lines[0]), ["m v=1 1", "m v=2 2", "m v=3 3"]);
    assert.equal(mock.requests[2].lines.length, 101);
    assert.equal(thread.inFlight, 0);
    // The same function in this thread answers alike.
    mock.script.push({ status: 429, headers: { "retry-after": "3" }, body: { error: "slow down" } });
    assert.deepEqual(await postOnce(req("m v=2 2")), limited);
  } finally {
    thread.close();
    await mock.close();
  }
});

Deno.test("post thread: network errors and timeouts are answers, not exceptions; close answers what is pending", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const closedPort = (l.addr as Deno.NetAddr).port;
  l.close();
  const mock = new MockInflux();
  mock.respond = () => ({ status: 204, delay: 500 });
  const thread = new PostThread();
  try {
    const req = (url: string, timeoutMs = 5000) => ({
      url,
      headers: {},
      body: body("m v=1 1"),
      gzip: false,
      timeoutMs,
    });
    const refused = await thread.post(req(`http://127.0.0.1:${closedPort}/write`));
    assert.ok("error" in refused, JSON.stringify(refused));
    const timedOut = await thread.post(req(`${mock.url}/write`, 100));
    assert.ok("error" in timedOut && /time|abort/i.test(timedOut.error), JSON.stringify(timedOut));
    const pending = thread.post(req(`${mock.url}/write`));
    assert.equal(thread.inFlight, 1);
    thread.close();
    assert.deepEqual(await pending, { error: "the sending thread was closed" });
    assert.deepEqual(await thread.post(req(`${mock.url}/write`)), { error: "the sending thread is closed" });
  } finally {
    thread.close();
    await mock.close();
  }
});
