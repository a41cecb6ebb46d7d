/**
 * MoaT-Cmd payloads: positional arguments and the trailing keyword
 * dictionary, split and joined as moat-lib-cmd 0.3.3 does.
 *
 * @module
 */
import { isPlainDict } from "../../codecs/moat_values.ts";

/** A keyword-argument dictionary. */
export type Kw = Record<string, unknown>;

/** A message's payload split as MoaT does: `kw` is the last element when it is a dictionary. */
export interface Payload {
  /** Positional elements. */
  args: unknown[];
  /** Keyword arguments (the trailing dictionary), if any. */
  kw?: Kw;
}

/** Splits a payload (a message minus its header). */
export function splitPayload(p: readonly unknown[]): Payload {
  const last = p[p.length - 1];
  if (p.length > 0 && isPlainDict(last)) return { args: p.slice(0, -1), kw: last };
  return { args: p.slice() };
}

/** A reply list as 0.3.3's `cmd()` returns it: a trailing `{}` after a dictionary is stripped. */
export function replyList(p: readonly unknown[]): unknown[] {
  const n = p.length;
  if (n >= 2 && isEmptyDict(p[n - 1]) && isPlainDict(p[n - 2])) return p.slice(0, -1);
  return p.slice();
}

function isEmptyDict(v: unknown): boolean {
  return isPlainDict(v) && Object.keys(v).length === 0;
}

/** `msg_out`'s rule: kw is appended when given; with no kw and a dictionary last, `{}` is appended. */
export function withKw(payload: readonly unknown[], kw: Kw | undefined): unknown[] {
  if (kw !== undefined) return [...payload, kw];
  if (payload.length > 0 && isPlainDict(payload[payload.length - 1])) return [...payload, {}];
  return payload.slice();
}

/** A naked integer, as 0.4.x's "internal warnings" (flag 7) carry: a credit, or a code such as `-5`. */
export function isInternal(p: readonly unknown[]): boolean {
  return p.length === 1 && typeof p[0] === "number" && Number.isSafeInteger(p[0]);
}

/** A flow credit: a single non-negative integer in an S+E message. */
export function isCredit(p: readonly unknown[]): boolean {
  return p.length === 1 && typeof p[0] === "number" && Number.isSafeInteger(p[0]) && p[0] >= 0;
}

/** A short JSON-ish rendering of a value for an issue report (at most 200 characters). */
export function describe(v: unknown): string {
  try {
    const s = JSON.stringify(
      v,
      (_k, x) => typeof x === "bigint" ? x.toString() : x instanceof Uint8Array ? `<${x.length} bytes>` : x,
    );
    return s === undefined ? String(v) : s.length > 200 ? s.slice(0, 200) + "…" : s;
  } catch {
    return String(v);
  }
}
