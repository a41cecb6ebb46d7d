/**
 * Errors of MoaT-Cmd: the single-integer codes of moat-lib-cmd, exceptions
 * as `[name, *args]`, and local protocol failures.
 *
 * @module
 */
import { MoatObject } from "../../codecs/cbor.ts";

/** Meanings of the single-integer error codes (§3.4 of the spec). */
export const ERROR_CODES: Readonly<Record<number, string>> = {
  [-1]: "unspecified / stop",
  [-2]: "cannot receive this stream",
  [-3]: "cancelled",
  [-4]: "no commands handled here",
  [-5]: "data lost (queue full)",
  [-6]: "must stream",
  [-7]: "error could not be encoded",
};

/** A MoaT error carried as a single integer (`-1` … `-7`, or `≤ -11` for an unknown command). */
export class MoatError extends Error {
  /**
   * Creates the error for `code`.
   *
   * @param code the integer sent on the wire
   */
  constructor(readonly code: number) {
    super(
      code <= -11
        ? `unknown command (path element ${-11 - code})`
        : `MoaT error ${code}: ${ERROR_CODES[code] ?? "unknown code"}`,
    );
    this.name = code <= -11 ? "NoCmd" : code === -3 ? "Cancelled" : "MoatError";
  }
}

/** An exception the peer raised, as `[name, ...args]` (0.3.3) or a tag-27 object (rpc). */
export class RemoteError extends Error {
  /**
   * Creates the error.
   *
   * @param remoteName the exception's class name on the peer, e.g. `ValueError`
   * @param args its arguments
   */
  constructor(readonly remoteName: string, readonly args: readonly unknown[]) {
    super(`${remoteName}: ${args.map((a) => typeof a === "string" ? a : safeJson(a)).join(", ")}`);
    this.name = "RemoteError";
  }
}

/** An error payload that is neither a code nor an exception: kept as the raw list. */
export class StreamError extends Error {
  /**
   * Creates the error.
   *
   * @param payload the message minus its header
   */
  constructor(readonly payload: readonly unknown[]) {
    super(`MoaT stream error ${safeJson(payload)}`);
    this.name = "StreamError";
  }
}

/** The connection ended (closed, or the transport failed) before the channel did. */
export class ConnectionClosed extends Error {
  /**
   * Creates the error.
   *
   * @param reason why the connection ended
   */
  constructor(reason = "connection closed") {
    super(reason);
    this.name = "ConnectionClosed";
  }
}

/** Maps the payload of an error message (the message minus its header) to an error. */
export function errorFromPayload(payload: readonly unknown[]): Error {
  if (payload.length === 1 && typeof payload[0] === "number" && Number.isInteger(payload[0])) {
    return new MoatError(payload[0]);
  }
  if (payload.length >= 1 && payload[0] instanceof MoatObject) {
    return new RemoteError(payload[0].name, payload[0].args);
  }
  if (payload.length >= 1 && typeof payload[0] === "string") return new RemoteError(payload[0], payload.slice(1));
  return new StreamError(payload);
}

/** The payload an error is sent as: its code, or `[name, ...args]` as 0.3.3 sends exceptions. */
export function payloadFromError(e: unknown): unknown[] {
  if (e instanceof MoatError) return [e.code];
  if (e instanceof RemoteError) return [e.remoteName, ...e.args];
  if (e instanceof StreamError) return [...e.payload];
  if (e instanceof Error) return [e.name, e.message];
  return ["Error", String(e)];
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v, (_k, x) => typeof x === "bigint" ? x.toString() : x) ?? String(v);
  } catch {
    return String(v);
  }
}
