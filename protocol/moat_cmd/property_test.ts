/**
 * Property test: two endpoints joined by an in-memory pipe (through CBOR
 * bytes, with random delays) run random mixes of commands, streams both
 * ways, early exits (cancellation) and errors, in both directions at once.
 * Checked on the wire: every channel ends with exactly one final message
 * each way, nothing but flow credits is sent after a final, no id is reused before both finals,
 * and every operation finishes (nothing hangs).
 */
import assert from "node:assert/strict";
import { Endpoint, type Request } from "./endpoint.ts";
import { decodeHeader } from "./header.ts";
import { MoatError, RemoteError } from "./errors.ts";
import { decodeCbor, encodeCbor } from "../../codecs/cbor.ts";
import { prng } from "../../testing/mod.ts";
import { nextMacrotask } from "../../testing/mod.ts";

const tick = () => new Promise<void>((r) => queueMicrotask(r));
const macrotick = nextMacrotask;

async function jitter(rnd: () => number): Promise<void> {
  const n = Math.floor(rnd() * 3);
  for (let i = 0; i < n; i++) await tick();
}

function handler(rnd: () => number) {
  return async (req: Request): Promise<unknown> => {
    await jitter(rnd);
    switch (req.cmd) {
      case "val":
        return req.args[0];
      case "err":
        throw new RemoteError("ValueError", ["bad", req.args[0]]);
      case "code":
        throw new MoatError(-11);
      case "res":
        req.result("first");
        return "dropped";
      case "count": {
        const st = req.streamW("start");
        const n = req.args[0] as number;
        try {
          for (let i = 0; i < n; i++) {
            await st.send(i);
            await jitter(rnd);
          }
        } catch {
          return "stopped"; // the reader cancelled; this is dropped, the channel already ended
        }
        return ["done", n];
      }
      case "sum": {
        const st = req.streamR();
        const stopAt = rnd() < 0.3 ? Math.floor(rnd() * 5) : Infinity;
        let sum = 0, n = 0;
        for await (const [v] of st) {
          sum += v as number;
          if (++n >= stopAt) break; // leaving early cancels the writer
          await jitter(rnd);
        }
        return [sum, n];
      }
      case "rw": {
        const st = req.streamRW();
        for await (const item of st) await st.send(...item);
        return "rw done";
      }
      default:
        throw new MoatError(-11);
    }
  };
}

/** Wire checker: channels keyed by originator and id. */
class Checker {
  readonly state = new Map<string, { finals: Set<string> }>();
  readonly errors: string[] = [];
  see(from: "A" | "B", msg: unknown[]): void {
    const { id, flags } = decodeHeader(msg[0] as number);
    // id < 0: the sender's own channel (the receiver sees it as peer-opened); id > 0: the receiver's.
    const origin = id < 0 ? from : from === "A" ? "B" : "A";
    const key = `${origin}${Math.abs(id)}`;
    const credit = flags === 3 && msg.length === 2 && typeof msg[1] === "number" && msg[1] >= 0;
    let st = this.state.get(key);
    // A late credit (sent after the sender's final, crossing the peer's) may arrive after the channel ended.
    if (!st && credit) return;
    if (!st) {
      if (origin !== from) this.errors.push(`${from} sent ${JSON.stringify(msg)} on closed channel ${key}`);
      st = { finals: new Set() };
      this.state.set(key, st);
    }
    // Only flow credits may follow a final (a reader still reading after ending its own writes).
    if (st.finals.has(from) && !credit) {
      this.errors.push(`${from} sent ${JSON.stringify(msg)} after its final on ${key}`);
    }
    if ((flags & 1) === 0) st.finals.add(from);
    if (st.finals.size === 2) this.state.delete(key);
  }
}

async function caller(ep: Endpoint, rnd: () => number, ops: number): Promise<void> {
  const tasks: Promise<void>[] = [];
  for (let i = 0; i < ops; i++) {
    const kind = Math.floor(rnd() * 8);
    const n = Math.floor(rnd() * 12);
    tasks.push((async () => {
      await jitter(rnd);
      switch (kind) {
        case 0:
          assert.deepEqual(await ep.cmd("val", [n]), [n]);
          break;
        case 1: {
          const e = await ep.cmd("err", [n]).catch((e) => e);
          assert.ok(e instanceof RemoteError && e.remoteName === "ValueError");
          break;
        }
        case 2: {
          const e = await ep.cmd(rnd() < 0.5 ? "code" : "nope").catch((e) => e);
          assert.ok(e instanceof MoatError && e.code === -11);
          break;
        }
        case 3:
          assert.deepEqual(await ep.cmd("res"), ["first"]);
          break;
        case 4: {
          // Read all, or leave early (cancel).
          const st = await ep.streamR("count", [n]);
          const stopAt = rnd() < 0.3 ? 1 + Math.floor(rnd() * n) : Infinity;
          const got: unknown[] = [];
          for await (const [v] of st) {
            got.push(v);
            if (got.length >= stopAt) break;
            await jitter(rnd);
          }
          assert.deepEqual(got, [...Array(Math.min(n, stopAt)).keys()]);
          if (stopAt === Infinity) assert.deepEqual(st.final?.payload, [["done", n]]);
          break;
        }
        case 5: {
          const st = await ep.streamW("sum");
          let sent = 0;
          try {
            for (; sent < n; sent++) await st.send(sent);
            st.end();
          } catch (e) {
            assert.ok(e instanceof MoatError && e.code === -3, `writer stopped by a cancel, got ${e}`);
          }
          const r = await st.done().catch((e) => e);
          if (Array.isArray(r)) {
            const [sum, count] = r[0] as number[];
            assert.equal(sum, count ? (count * (count - 1)) / 2 : 0);
          } else assert.ok(r instanceof MoatError && r.code === -3);
          break;
        }
        case 6: {
          const st = await ep.streamRW("rw");
          const back: unknown[] = [];
          const reading = (async () => {
            for await (const [v] of st) back.push(v);
          })();
          for (let k = 0; k < n; k++) await st.send(k);
          st.end();
          await reading;
          assert.deepEqual(back, [...Array(n).keys()]);
          assert.deepEqual(st.final?.payload, ["rw done"]);
          break;
        }
        default:
          await macrotick();
      }
    })());
  }
  await Promise.all(tasks);
}

Deno.test("property: random interleavings end every channel once each way, reuse no id early, never hang", async () => {
  const TRIALS = 250;
  let messages = 0;
  for (let trial = 0; trial < TRIALS; trial++) {
    const rnd = prng(trial + 1);
    const queue = 1 + Math.floor(rnd() * 6);
    const issues: string[] = [];
    const onIssue = (k: string, d: string) => issues.push(`${k}: ${d}`);
    const outQueue = 1 + Math.floor(rnd() * 8);
    const a = new Endpoint({ handler: handler(prng(trial + 1000)), queue, outQueue, onIssue });
    const b = new Endpoint({ handler: handler(prng(trial + 2000)), queue, outQueue: 4, onIssue });
    const check = new Checker();
    let stopped = false;
    const pump = async (from: Endpoint, to: Endpoint, tag: "A" | "B") => {
      while (!stopped) {
        const m = await from.msgOut();
        if (!m) return;
        const back = decodeCbor(encodeCbor(m)) as unknown[];
        check.see(tag, back);
        messages++;
        if (rnd() < 0.3) await tick();
        // As the transports do: hold the message (and all behind it) while its reader's queue is full.
        for (let room = to.admit(back); room; room = to.admit(back)) await room;
        to.msgIn(back);
      }
    };
    pump(a, b, "A");
    pump(b, a, "B");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, rej) => {
      timer = setTimeout(() => rej(new Error(`trial ${trial} hung`)), 2000);
    });
    try {
      await Promise.race([
        Promise.all([caller(a, prng(trial + 3000), 8), caller(b, prng(trial + 4000), 8)]),
        timeout,
      ]).catch((e) => {
        throw new Error(`trial ${trial}: ${e.stack}\nissues: ${issues.join("\n")}`);
      });
      // Let the last finals cross.
      for (let i = 0; i < 20 && (a.openChannels || b.openChannels || a.backlog || b.backlog); i++) await macrotick();
    } finally {
      clearTimeout(timer);
    }
    assert.deepEqual(check.errors, [], `trial ${trial}`);
    // Both sides honour credits, so no reader ever overflows and nothing is dropped.
    assert.deepEqual(issues, [], `trial ${trial}`);
    assert.equal(check.state.size, 0, `trial ${trial}: channels left open on the wire: ${[...check.state.keys()]}`);
    assert.equal(a.openChannels + b.openChannels, 0, `trial ${trial}: endpoints still hold channels`);
    stopped = true;
    a.close();
    b.close();
  }
  assert.ok(messages > 10_000, `only ${messages} messages`);
});
