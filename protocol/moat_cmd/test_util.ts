/**
 * Test helpers: two endpoints joined by an in-memory pipe that goes through
 * real CBOR bytes, with a log of every message each way.
 *
 * @module
 */
import { decodeCbor, encodeCbor } from "../../codecs/cbor.ts";
import type { Endpoint } from "./endpoint.ts";
import { nextMacrotask } from "../../testing/mod.ts";

/** Hex of bytes. */
export const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

/** Bytes of hex. */
export const unhex = (s: string): Uint8Array => new Uint8Array(s.match(/../g)!.map((x) => parseInt(x, 16)));

/** A pipe between two endpoints; `log` holds `"A>"`/`"B>"` plus the CBOR hex of each message in order. */
export interface Pipe {
  /** Every message, in the order it was taken from its sender. */
  log: string[];
  /** Stops pumping. */
  stop(): void;
  /** Resolves once neither side has anything left to send for a few turns of the event loop. */
  settle(): Promise<void>;
}

/** Joins `a` and `b`; `hook` may inspect (and veto by returning false) each message before delivery. */
export function pipe(a: Endpoint, b: Endpoint, hook?: (from: "A" | "B", msg: unknown[]) => void): Pipe {
  const log: string[] = [];
  let stopped = false;
  const pump = async (from: Endpoint, to: Endpoint, tag: "A" | "B") => {
    while (!stopped) {
      const m = await from.msgOut();
      if (!m || stopped) return;
      const bytes = encodeCbor(m);
      log.push(`${tag}>${hex(bytes)}`);
      const back = decodeCbor(bytes) as unknown[];
      hook?.(tag, back);
      to.msgIn(back);
    }
  };
  pump(a, b, "A");
  pump(b, a, "B");
  return {
    log,
    stop() {
      stopped = true;
    },
    async settle() {
      let quiet = 0;
      let last = -1;
      while (quiet < 5) {
        await nextMacrotask();
        if (log.length === last && a.backlog === 0 && b.backlog === 0) quiet++;
        else quiet = 0;
        last = log.length;
      }
    },
  };
}
