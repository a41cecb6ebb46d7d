/**
 * The libzmq binding against zeromq.js, both ways: multi-frame messages,
 * sizes counted, waits that wake up on data, and a close while a wait is
 * under way. libzmq5 must be installed (scripts/test.sh installs it): these
 * tests fail, not skip, without it.
 */
import assert from "node:assert/strict";
import * as zmq from "npm:zeromq@^6.5.0";
import { openFfiSocket } from "./zmq_ffi.ts";
import { receiveMessage } from "./zmq.ts";

const enc = new TextEncoder();

Deno.test("ffi: libzmq loads, and a zeromq.js PUSH reaches an FFI PULL (frames counted, wait returns)", async () => {
  const push = new zmq.Push({ linger: 0 });
  await push.bind("tcp://127.0.0.1:*");
  const pull = openFfiSocket({ type: "pull", connType: "connect", address: push.lastEndpoint!, queueSize: 100 }, true);
  assert.ok(pull, "libzmq5 could not be loaded");
  try {
    assert.equal(pull.tryReceiveSizes(), null, "nothing there yet");
    const sent = push.send([enc.encode("head"), new Uint8Array(1000), new Uint8Array(0)]);
    let got = pull.tryReceiveSizes();
    while (got === null) {
      assert.ok(await pull.wait("in"));
      got = pull.tryReceiveSizes();
    }
    await sent;
    assert.deepEqual({ ...got }, { first: 4, total: 1004 });
    assert.equal(pull.tryReceiveSizes(), null);
  } finally {
    pull.close();
    push.close();
  }
});

Deno.test("ffi: an FFI PUSH bound at a wildcard port reaches a zeromq.js PULL, frames intact", async () => {
  const push = openFfiSocket({
    type: "push",
    connType: "bind",
    address: "tcp://127.0.0.1:*",
    queueSize: 100,
    linger: 0,
  }, true);
  assert.ok(push, "libzmq5 could not be loaded");
  const endpoint = push.lastEndpoint;
  assert.match(endpoint ?? "", /^tcp:\/\/127\.0\.0\.1:\d+$/);
  const pull = new zmq.Pull({ linger: 0 });
  pull.connect(endpoint!);
  try {
    const body = new Uint8Array(70_000).map((_, i) => i % 251);
    for (let k = 0; k < 3; k++) {
      while (!push.trySend([enc.encode(`{"frame": ${k}}`), body])) assert.ok(await push.wait("out"));
    }
    for (let k = 0; k < 3; k++) {
      const m = await receiveMessage(pull);
      assert.ok(m);
      assert.equal(new TextDecoder().decode(m[0]), `{"frame": ${k}}`);
      assert.deepEqual(new Uint8Array(m[1]), body);
    }
  } finally {
    pull.close();
    push.close();
  }
});

Deno.test("ffi: close during a wait ends it, and a bad address says why", async () => {
  const pull = openFfiSocket({ type: "pull", connType: "bind", address: "tcp://127.0.0.1:*", queueSize: 10 }, true);
  assert.ok(pull);
  const waiting = pull.wait("in");
  pull.close();
  assert.equal(await waiting, false); // the socket is closed once the poll has returned

  assert.equal(pull.closed, true);
  assert.equal(await pull.wait("in"), false);
  assert.throws(
    () => openFfiSocket({ type: "pull", connType: "bind", address: "tcp://nonsense", queueSize: 10 }, true),
    /^Error: Unable to bind to tcp:\/\/nonsense: /,
  );
});

Deno.test("ffi: tryReceive copies every frame out (kept intact after the next receive), empty and 1 MiB frames included", async () => {
  const push = new zmq.Push({ linger: 0 });
  await push.bind("tcp://127.0.0.1:*");
  const pull = openFfiSocket({ type: "pull", connType: "connect", address: push.lastEndpoint!, queueSize: 100 }, true);
  assert.ok(pull, "libzmq5 could not be loaded");
  try {
    await push.send([enc.encode("one"), new Uint8Array(3000).fill(1), new Uint8Array(0)]);
    await push.send([enc.encode("two"), new Uint8Array(3000).fill(2)]);
    // A large frame is copied another way (a view of libzmq's bytes, sliced): it must be just as much a copy.
    const large = Uint8Array.from({ length: 1 << 20 }, (_, i) => i % 251);
    await push.send([large]);
    await push.send([new Uint8Array(1 << 20).fill(9)]);
    const take = async () => {
      for (;;) {
        const m = pull.tryReceive();
        if (m) return m;
        assert.ok(await pull.wait("in"));
      }
    };
    const first = await take();
    const second = await take();
    assert.deepEqual(first.map((f) => f.length), [3, 3000, 0]);
    assert.equal(new TextDecoder().decode(first[0]), "one");
    assert.ok(first[1].every((b) => b === 1), "the first message's frame was not overwritten by the second");
    assert.equal(new TextDecoder().decode(second[0]), "two");
    assert.ok(second[1].every((b) => b === 2));
    const [third] = await take();
    const [fourth] = await take();
    assert.deepEqual(third, large, "the large frame arrived intact and was not overwritten by the next one");
    assert.ok(fourth.every((b) => b === 9));
    assert.equal(pull.tryReceive(), null);
  } finally {
    pull.close();
    push.close();
  }
});

Deno.test("ffi: a SUB with an empty topic list takes every message, as zeromq.js's subscribe() does", async () => {
  const pub = new zmq.Publisher({ linger: 0 });
  await pub.bind("tcp://127.0.0.1:*");
  const sub = openFfiSocket({
    type: "sub",
    connType: "connect",
    address: pub.lastEndpoint!,
    queueSize: 100,
    topics: [],
  }, true);
  assert.ok(sub, "libzmq5 could not be loaded");
  try {
    // A subscription reaches the publisher some time after the connect: publish until a message comes through.
    let got: Uint8Array[] | null = null;
    for (let i = 0; i < 400 && got === null; i++) {
      await pub.send([enc.encode("any/topic"), enc.encode(String(i))]);
      await sub.wait("in", 25);
      got = sub.tryReceive();
    }
    assert.ok(got, "no message reached a SUB with topics = []");
    assert.equal(new TextDecoder().decode(got[0]), "any/topic");
  } finally {
    sub.close();
    pub.close();
  }
});
