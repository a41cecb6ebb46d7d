/**
 * Every long-running command stops on SIGINT and on SIGTERM, promptly and with exit code 0, with its peer absent
 * (a send or connect that waits forever) and present (data flowing, or a peer that stopped reading).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import * as zmq from "npm:zeromq@^6.5.0";
import { encodeMsgpack } from "../codecs/msgpack.ts";
import { Endpoint, type Request } from "../protocol/moat_cmd/endpoint.ts";
import { runConnection } from "../transports/moat_cmd/connection.ts";
import { receiveMessage } from "../net/zmq.ts";
import { letTimePass, until } from "../testing/mod.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const FOLDER = new URL("../testdata/mflow/dump", import.meta.url).pathname;
/** How long a command may take to exit after the signal. Generous for a loaded machine; the bug was forever. */
const EXIT_WITHIN_MS = 5000;
const SIGNALS = ["SIGINT", "SIGTERM"] as const;

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** A command running as a subprocess, its stdout and stderr collected as text. */
class Running {
  readonly child: Deno.ChildProcess;
  out = "";
  err = "";
  readonly #reading: Promise<unknown>;
  constructor(args: string[]) {
    this.child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", MAIN, ...args],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const collect = async (s: ReadableStream<Uint8Array>, add: (t: string) => void) => {
      for await (const t of s.pipeThrough(new TextDecoderStream())) add(t);
    };
    this.#reading = Promise.all([
      collect(this.child.stdout, (t) => this.out += t),
      collect(this.child.stderr, (t) => this.err += t),
    ]);
  }
  /** Waits until stdout or stderr matches. */
  async ready(re: RegExp): Promise<RegExpExecArray> {
    await until(`${re} (stdout ${this.out}, stderr ${this.err})`, () => re.test(this.out + this.err), 20_000);
    return re.exec(this.out + this.err)!;
  }
  /** Sends `sig` and returns the exit code; fails (and kills the process) when it does not exit in time. */
  async stop(sig: Deno.Signal): Promise<number> {
    this.child.kill(sig);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((r) => timer = setTimeout(() => r("late"), EXIT_WITHIN_MS));
    const status = await Promise.race([this.child.status, late]);
    clearTimeout(timer);
    if (status === "late") {
      this.child.kill("SIGKILL");
      await this.child.status;
      await this.#reading;
      throw new Error(`still running ${EXIT_WITHIN_MS} ms after ${sig}; stderr: ${this.err}`);
    }
    await this.#reading;
    return status.code;
  }
}

/** Starts the command, waits for `ready`, sends the signal and asserts a prompt exit 0. */
async function stopsCleanly(
  sig: Deno.Signal,
  args: string[],
  ready: RegExp,
  whileRunning?: (r: Running, m: RegExpExecArray) => Promise<void>,
): Promise<Running> {
  const r = new Running(args);
  try {
    const m = await r.ready(ready);
    await whileRunning?.(r, m);
  } catch (e) {
    r.child.kill("SIGKILL");
    await r.child.status;
    throw e;
  }
  assert.equal(await r.stop(sig), 0, `exit code after ${sig}; stderr: ${r.err}`);
  return r;
}

Deno.test("signals: generate without a peer (bound, and connecting) stops on SIGINT and SIGTERM", async () => {
  for (const sig of SIGNALS) {
    await stopsCleanly(sig, ["generate", "-a", "tcp://127.0.0.1:*"], /push bound at tcp:\/\/127\.0\.0\.1:\d+/);
  }
  const port = freePort();
  // Connecting, ZeroMQ queues up to the high-water mark (100 messages), then the send waits for the peer.
  await stopsCleanly("SIGINT", ["generate", "-a", `tcp://127.0.0.1:${port}`, "--connect", "-s", "0.001"], /push to/);
});

Deno.test("signals: generate with a peer that reads, and with one that stopped reading", async () => {
  for (const [sig, reads] of [["SIGINT", true], ["SIGTERM", false]] as const) {
    const pull = new zmq.Pull({ linger: 0, receiveHighWaterMark: 1 });
    try {
      let received = 0;
      const r = await stopsCleanly(
        sig,
        ["generate", "-a", "tcp://127.0.0.1:*", "-s", "0.01"],
        /bound at (tcp:\/\/\S+);/,
        async (_r, m) => {
          pull.connect(m[1]);
          await receiveMessage(pull);
          received++;
          // A reader keeps reading while the signal arrives; the other one leaves the sender at its high-water mark.
          if (reads) {
            (async () => {
              while (await receiveMessage(pull)) received++;
            })();
          }
          await until("messages flowing", () => reads ? received > 10 : true, 20_000);
        },
      );
      assert.match(r.err, /sent \d+ messages/);
    } finally {
      pull.close();
    }
  }
});

Deno.test("signals: replay --loop without a peer stops on SIGINT and SIGTERM", async () => {
  for (const sig of SIGNALS) {
    await stopsCleanly(sig, ["replay", FOLDER, "--loop", "-a", "tcp://127.0.0.1:*"], /push bound at/);
  }
});

Deno.test("signals: replay into a peer that stopped reading, and split whose stream has no peer", async () => {
  const pull = new zmq.Pull({ linger: 0, receiveHighWaterMark: 1 });
  try {
    await stopsCleanly(
      "SIGTERM",
      ["replay", FOLDER, "--loop", "-a", "tcp://127.0.0.1:*"],
      /bound at (tcp:\/\/\S+);/,
      async (_r, m) => {
        pull.connect(m[1]);
        await receiveMessage(pull); // then no more: the sender fills its high-water mark and waits
      },
    );
  } finally {
    pull.close();
  }
  // split's stream connects to a port nobody listens on: it takes one message (queue_size 1), then waits for a peer.
  // Once split waits, it stops receiving, and its source can no longer send: that is how the test knows.
  const dir = await Deno.makeTempDir({ prefix: "signals_split_" });
  const source = new zmq.Push({ linger: 0, sendHighWaterMark: 1 });
  await source.bind("tcp://127.0.0.1:*");
  try {
    const config = join(dir, "split.json");
    await Deno.writeTextFile(
      config,
      JSON.stringify({
        source: { address: source.lastEndpoint, queue_size: 1 },
        streams: [{ address: `tcp://127.0.0.1:${freePort()}`, queue_size: 1 }],
      }),
    );
    const frames = [new TextEncoder().encode('{"htype": "raw-1.0"}'), new Uint8Array(64 * 1024)];
    for (const sig of SIGNALS) {
      await stopsCleanly(sig, ["split", "-c", config], /pull from/, async () => {
        let stuck = 0;
        await until("split to stop taking messages", async () => {
          if (source.writable) await source.send(frames), stuck = 0;
          else stuck++;
          return stuck >= 10; // not writable for 10 checks in a row (200 ms): split is not reading
        }, 20_000);
      });
    }
  } finally {
    source.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("signals: stats and record, with no peer and with one sending", async () => {
  const dir = await Deno.makeTempDir({ prefix: "signals_record_" });
  try {
    for (const sig of SIGNALS) {
      const port = freePort();
      await stopsCleanly(sig, ["stats", `tcp://127.0.0.1:${port}`], /pull from/);
      await stopsCleanly(sig, ["record", `tcp://127.0.0.1:${port}`, join(dir, `none_${sig}`)], /pull from/);
    }
    const push = new zmq.Push({ linger: 0 });
    await push.bind("tcp://127.0.0.1:*");
    const sending = new AbortController();
    const sender = (async () => {
      const frame = new TextEncoder().encode('{"htype": "raw-1.0"}');
      while (!sending.signal.aborted) {
        if (push.writable) await push.send([frame]).catch(() => {});
        await letTimePass(2); // a sender at 500 messages/s, not a synchronisation
      }
    })();
    try {
      await stopsCleanly("SIGINT", ["stats", push.lastEndpoint!, "-i", "0.05"], /Message rate:\s+[1-9]/);
      const folder = join(dir, "some");
      await stopsCleanly(
        "SIGTERM",
        ["record", push.lastEndpoint!, folder],
        /pull from/,
        () => until("recorded files", async () => (await Array.fromAsync(Deno.readDir(folder))).length > 3, 20_000),
      );
    } finally {
      sending.abort();
      await sender;
      push.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("signals: serve and dump -f stop on SIGINT and SIGTERM", async () => {
  const dir = await Deno.makeTempDir({ prefix: "signals_log_" });
  try {
    const log = join(dir, "a.mpack");
    await Deno.writeFile(log, encodeMsgpack({ n: 1 }));
    for (const sig of SIGNALS) {
      await stopsCleanly(sig, ["serve", log, "-p", String(freePort())], /reading file/);
      await stopsCleanly(sig, ["dump", "-f", log], /\{"n": 1\}/);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("signals: moat stream with a streaming peer, and with a peer that never answers", async () => {
  const handler = async (req: Request): Promise<unknown> => {
    const st = req.streamW();
    for (let i = 0;; i++) {
      await st.send(i);
      await letTimePass(10); // a peer streaming at 100 messages/s
    }
  };
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const ac = new AbortController();
  const conns: Promise<void>[] = [];
  const serving = (async () => {
    for await (const c of listener) conns.push(runConnection(c, new Endpoint({ handler }), { signal: ac.signal }));
  })().catch(() => {});
  try {
    for (const sig of SIGNALS) {
      await stopsCleanly(sig, ["moat", "stream", `127.0.0.1:${port}`, "forever"], /^\[3\]$/m);
    }
  } finally {
    ac.abort();
    listener.close();
    await serving;
    await Promise.allSettled(conns);
  }
  // A peer that accepts and never speaks: the stream never opens.
  const mute = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const c of mute) accepted.push(c);
  })().catch(() => {});
  try {
    for (const sig of SIGNALS) {
      const n = accepted.length;
      await stopsCleanly(
        sig,
        ["moat", "stream", `127.0.0.1:${(mute.addr as Deno.NetAddr).port}`, "forever", "--timeout", "600"],
        /$/,
        () => until("the connection", () => accepted.length > n, 20_000),
      );
    }
  } finally {
    mute.close();
    await accepting;
    for (const c of accepted) c.close();
  }
});
