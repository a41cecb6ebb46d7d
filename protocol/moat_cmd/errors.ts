/**
 * Errors of MoaT-Cmd: the single-integer codes of moat-lib-cmd, exceptions
 * as `[name, *args]`, and local protocol failures.
 *
 * @module
 */
import { MoatObject, Path } from "../../codecs/moat_values.ts";

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
   * @param message overrides the message derived from `code`
   */
  constructor(readonly code: number, message?: string) {
    super(
      message ??
        (code <= -11
          ? `unknown command (path element ${-11 - code})`
          : `MoaT error ${code}: ${ERROR_CODES[code] ?? "unknown code"}`),
    );
    this.name = code <= -11 ? "NoCmd" : code === -3 ? "Cancelled" : "MoatError";
  }
}

/**
 * An exception the peer raised: `[name, ...args]` (0.3.3), or an error object (0.4.x: CBOR tag 27,
 * MessagePack ext 5) — `_rErr` carries a class the peer does not proxy, and is shown as that class; a proxied
 * class (`_KyErr`, `_NPErr`, …) keeps its proxy name. The message is Python's way: `ValueError: boom 42`.
 */
export class RemoteError extends Error {
  /**
   * Creates the error.
   *
   * @param remoteName the exception's class name on the peer, e.g. `ValueError`
   * @param args its arguments
   */
  constructor(readonly remoteName: string, readonly args: readonly unknown[]) {
    const text = args.map((a) => typeof a === "string" ? a : safeJson(a)).join(" ");
    super(text ? `${remoteName}: ${text}` : remoteName);
    this.name = "RemoteError";
  }
}

/** Unknown command as 0.4.x reports it: `_KyErr(element, path, known)`, the missing element of the path. */
export class UnknownCommand extends MoatError {
  /**
   * Creates the error.
   *
   * @param element the path element the peer has no handler for
   * @param path the command path as the peer saw it
   * @param known the peer's subcommands at that point (may be empty)
   */
  constructor(readonly element: unknown, readonly path: readonly unknown[], readonly known: readonly unknown[]) {
    super(-11, `unknown command: ${describePath(path)}${path.length > 1 ? ` (no ${safeJson(element)})` : ""}`);
  }
}

function describePath(path: readonly unknown[]): string {
  return path.map((e) => typeof e === "string" ? e : safeJson(e)).join(".");
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
  if (payload.length >= 1 && payload[0] instanceof MoatObject) return errorFromObject(payload[0]);
  if (payload.length >= 1 && typeof payload[0] === "string") return new RemoteError(payload[0], payload.slice(1));
  return new StreamError(payload);
}

/** An error object (tag 27 / ext 5) as the error it stands for. */
function errorFromObject(o: MoatObject): Error {
  const a = o.args;
  if (o.name === "_rErr" && a.length >= 1 && typeof a[0] === "string") return new RemoteError(a[0], a.slice(1));
  if (o.name === "_KyErr" && a.length >= 2) {
    const path = a[1] instanceof Path ? a[1].elements : a[1];
    // 0.4.x's dispatcher raises KeyError(element, msg.cmd, known) for a command path it cannot resolve.
    if (Array.isArray(path) && path.some((e) => sameElement(e, a[0]))) {
      return new UnknownCommand(a[0], path, Array.isArray(a[2]) ? a[2] : []);
    }
  }
  return new RemoteError(o.name, a);
}

function sameElement(x: unknown, y: unknown): boolean {
  return x === y || (typeof x === "bigint" || typeof y === "bigint" ? String(x) === String(y) : false);
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
