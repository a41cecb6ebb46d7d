/**
 * Helpers of the zmq tests: a recording input context, an output context,
 * and the mflow fixtures.
 *
 * @module
 */
import { MemoryCheckpointStore } from "../../core/checkpoint.ts";
import { createLogger } from "../../core/log.ts";
import type { BusRecord } from "../../core/record.ts";
import { PartStats } from "../../core/stats.ts";
import type { InputContext, OutputContext } from "../../core/transport.ts";
import { socketsOpened, useZmqBinding, type ZmqBinding } from "../../net/zmq_socket.ts";

/** Both bindings of the zmq transport (net/zmq_socket.ts): libzmq through FFI, and zeromq.js. */
export const BINDINGS: readonly ZmqBinding[] = ["ffi", "zeromq.js"];

/**
 * Registers `fn` as one test per binding (named `name [binding]`); each
 * fails unless its sockets were opened with that binding, and only that one
 * (FFI fails, not skips, where libzmq5 is missing).
 */
export function testBothBindings(name: string, fn: (binding: ZmqBinding) => Promise<void>): void {
  for (const binding of BINDINGS) {
    Deno.test(`${name} [${binding}]`, async () => {
      const before = socketsOpened();
      useZmqBinding(binding);
      try {
        await fn(binding);
      } finally {
        useZmqBinding(undefined);
      }
      const after = socketsOpened();
      for (const b of BINDINGS) {
        const n = after[b] - before[b];
        if (b === binding ? n === 0 : n !== 0) throw new Error(`${n} sockets opened with ${b}, testing ${binding}`);
      }
    });
  }
}

/** An input context that keeps what the input emits and logs. */
export class TestInputContext {
  /** Emitted records, in order. */
  readonly records: BusRecord[] = [];
  /** Log lines. */
  readonly lines: string[] = [];
  /** The input's counters. */
  readonly stats = new PartStats("input", "zin", "zmq");
  /** Aborting it stops the input. */
  readonly ac = new AbortController();
  /** The context to hand to `run`. */
  readonly ctx: InputContext;
  /** When set, `emit` returns it (back-pressure). */
  block: Promise<void> | undefined;

  /** Creates the context. */
  constructor(name = "zin") {
    this.ctx = {
      name,
      emit: (records) => {
        this.records.push(...records);
        return this.block;
      },
      signal: this.ac.signal,
      log: createLogger(`input.${name}`, { level: "debug", write: (l) => this.lines.push(l) }),
      stats: this.stats,
      checkpoints: new MemoryCheckpointStore(),
      http: { route: () => {} },
    };
  }
}

/** An output context that keeps the log lines. */
export function testOutputContext(name = "zout"): { ctx: OutputContext; lines: string[]; stats: PartStats } {
  const lines: string[] = [];
  const stats = new PartStats("output", name, "zmq");
  const ctx: OutputContext = {
    name,
    log: createLogger(`output.${name}`, { level: "debug", write: (l) => lines.push(l) }),
    stats,
    dataDir: "/nonexistent",
    http: { route: () => {} },
  };
  return { ctx, lines, stats };
}

/** The mflow fixtures made by the original (testdata/mflow). */
export const MFLOW_FIXTURES = new URL("../../testdata/mflow/", import.meta.url).pathname;

/** The messages of frames.jsonl: htype and frames (with their SNDMORE flags). */
export function fixtureMessages(): { htype: string; frames: Uint8Array[]; more: boolean[] }[] {
  const text = Deno.readTextFileSync(MFLOW_FIXTURES + "frames.jsonl");
  return text.trim().split("\n").map((l) => {
    const m = JSON.parse(l) as { htype: string; frames: [string, boolean][] };
    return {
      htype: m.htype,
      frames: m.frames.map(([f]) => Uint8Array.from(atob(f), (c) => c.charCodeAt(0))),
      more: m.frames.map(([, more]) => more),
    };
  });
}
