/** `telebus moat call|stream` as a subprocess against a MoaT peer on loopback. */
import assert from "node:assert/strict";
import { Endpoint, type Request } from "../protocol/moat_cmd/endpoint.ts";
import { RemoteError } from "../protocol/moat_cmd/errors.ts";
import { runConnection } from "../transports/moat_cmd/connection.ts";
import { startDaemon } from "../start.ts";
import { createLogger } from "../core/log.ts";
import { encodeCbor } from "../codecs/cbor.ts";
import { CborStreamDecoder } from "../protocol/moat_cmd/framing.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

async function handler(req: Request): Promise<unknown> {
  switch (req.path.join(".")) {
    case "echo":
      return [req.args, req.kw];
    case "sys.ping":
      return "pong";
    case "count": {
      const st = req.streamW("start");
      for (let i = 0; i < (req.args[0] as number); i++) {
        await st.send({ i, big: 2n ** 60n, raw: new Uint8Array([1, 2]) });
      }
      return "done";
    }
    default:
      throw new RemoteError("KeyError", [req.cmd]);
  }
}

async function withPeer(fn: (port: number, codec: string) => Promise<void>, codec: "cbor" | "msgpack" = "cbor") {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const ac = new AbortController();
  const conns: Promise<void>[] = [];
  const serving = (async () => {
    for await (const c of listener) {
      conns.push(runConnection(c, new Endpoint({ handler }), { signal: ac.signal, codec }));
    }
  })().catch(() => {});
  try {
    await fn((listener.addr as Deno.NetAddr).port, codec);
  } finally {
    ac.abort();
    listener.close();
    await serving;
    await Promise.all(conns);
  }
}

async function telebus(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  return { code: out.code, stdout: new TextDecoder().decode(out.stdout), stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("cli: moat call prints the reply as JSON; arguments are JSON when they parse; --kw; --path", async () => {
  await withPeer(async (port) => {
    const r = await telebus("moat", "call", `127.0.0.1:${port}`, "echo", "42", "hello", '{"a":[1]}', "--kw", "k=1.5");
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), [[[42, "hello", { a: [1] }], { k: 1.5 }]]);
    const p = await telebus("moat", "call", `127.0.0.1:${port}`, "sys.ping", "--path");
    assert.deepEqual(JSON.parse(p.stdout), ["pong"]);
  });
});

Deno.test("cli: moat call prints the error as JSON and exits 1; a bad address is a usage error", async () => {
  await withPeer(async (port) => {
    const r = await telebus("moat", "call", `127.0.0.1:${port}`, "nope", "x");
    assert.equal(r.code, 1);
    assert.deepEqual(JSON.parse(r.stdout), { error: { name: "KeyError", args: ["nope"], message: "KeyError: nope" } });
  });
  const u = await telebus("moat", "call", "no-port", "x");
  assert.equal(u.code, 2);
  assert.match(u.stderr, /expected HOST:PORT/);
});

Deno.test("cli: moat stream prints each item as a JSON line (exact big ints, bytes as $bin), msgpack too", async () => {
  for (const codec of ["cbor", "msgpack"] as const) {
    await withPeer(async (port) => {
      const r = await telebus("moat", "stream", `127.0.0.1:${port}`, "count", "3", "--codec", codec);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.trim().split("\n");
      assert.deepEqual(lines, [0, 1, 2].map((i) => `[{"i":${i},"big":1152921504606846976,"raw":{"$bin":"AQI="}}]`));
      assert.match(r.stderr, /stream end: \["done"\]/);
    }, codec);
  }
});

Deno.test("cli: moat --token authenticates to a telebus MoaT server with a token; without it the call is refused", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  const dir = await Deno.makeTempDir();
  const d = await startDaemon({
    config: {
      daemon: { http: "off", data_dir: dir, token: "s3cret" },
      inputs: { moat_cmd: [{ listen: `127.0.0.1:${port}` }] },
      outputs: { moat_cmd: [{ listen: `127.0.0.1:${port}` }] },
    },
  }, { log: createLogger("test", { level: "error", write() {} }) });
  try {
    const pub = await telebus("moat", "call", `127.0.0.1:${port}`, "pub", "robot/x", '{"a":1}', "--token", "s3cret");
    assert.equal(pub.code, 0, pub.stderr);
    assert.deepEqual(JSON.parse(pub.stdout), [1]);
    const streams = await telebus("moat", "call", `127.0.0.1:${port}`, "streams", "--token", "s3cret");
    assert.deepEqual(JSON.parse(streams.stdout), [{ "robot/x": 1 }]);
    const refused = await telebus("moat", "call", `127.0.0.1:${port}`, "streams");
    assert.equal(refused.code, 1);
    assert.equal(JSON.parse(refused.stdout).error.name, "PermissionError");
    const wrong = await telebus("moat", "stream", `127.0.0.1:${port}`, "sub", "--token", "guess");
    assert.equal(wrong.code, 1);
    assert.deepEqual(JSON.parse(wrong.stdout), {
      error: { name: "PermissionError", args: ["wrong token"], message: "PermissionError: wrong token" },
    });
  } finally {
    await d.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * A stand-in for a moat-lib-cmd 0.4.11 server, replaying its bytes from issue 17: a `count` stream sent at
 * once (its own flag-7 credit, the start, the items, its final) without waiting for credits, and an error
 * object (tag 27 `_rErr`) for anything else.
 */
async function withV04Peer(fn: (port: number) => Promise<void>) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const served: Promise<void>[] = [];
  const serving = (async () => {
    for await (const c of listener) {
      served.push((async () => {
        const buf = new Uint8Array(4096);
        const n = await c.read(buf) ?? 0;
        const opener = new CborStreamDecoder(() => {}).push(buf.subarray(0, n))[0] as unknown[];
        const hex = (h: string) => Uint8Array.from(h.match(/../g)!.map((x) => parseInt(x, 16)));
        if (opener[1] === "count") {
          const parts: Uint8Array[] = [hex("822005"), hex("832265737461727418c8")];
          for (let i = 0; i < 200; i++) parts.push(encodeCbor([-3, i]));
          parts.push(hex("8223f6"));
          for (const p of parts) await c.write(p);
        } else await c.write(hex("8221d81b84655f724572726a56616c75654572726f7264626f6f6d182a"));
        try {
          while (await c.read(buf) !== null) { /* credits and finals */ }
        } catch { /* closed */ }
        c.close();
      })());
    }
  })().catch(() => {});
  try {
    await fn((listener.addr as Deno.NetAddr).port);
  } finally {
    listener.close();
    await serving;
    await Promise.all(served);
  }
}

Deno.test("cli: against moat-lib-cmd 0.4.11's bytes, a stream ignoring credits prints all 200 items", async () => {
  await withV04Peer(async (port) => {
    const r = await telebus("moat", "stream", `127.0.0.1:${port}`, "count", "200");
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split("\n").map((l) => JSON.parse(l)), [...Array(200).keys()].map((i) => [i]));
    assert.doesNotMatch(r.stderr, /dropped|queue full/);
  });
});

Deno.test("cli: an error object from moat-lib-cmd 0.4.11 is shown as ValueError: boom 42", async () => {
  await withV04Peer(async (port) => {
    const r = await telebus("moat", "call", `127.0.0.1:${port}`, "fail");
    assert.equal(r.code, 1);
    assert.deepEqual(JSON.parse(r.stdout), {
      error: { name: "ValueError", args: ["boom", 42], message: "ValueError: boom 42" },
    });
    assert.match(r.stderr, /ValueError: boom 42/);
  });
});
