/**
 * What an {@linkcode Endpoint} is made with: its options, the handler that
 * answers the peer's commands, and the kinds of bad input it reports.
 *
 * @module
 */
import type { Request } from "./handles.ts";

/** A command as sent: a string (moat-lib-cmd 0.3.3) or a path (moat-lib-rpc). */
export type Command = string | readonly unknown[];

/** Kinds of bad input an endpoint reports through {@linkcode EndpointOptions.onIssue}. */
export type IssueKind =
  | "not_a_list"
  | "bad_header"
  | "unknown_channel"
  | "after_final"
  | "queue_overflow"
  | "unexpected";

/**
 * What a reader does with a stream item while its queue is full: `wait` (stop reading the connection until
 * the consumer takes one; nothing is lost) or `drop` (drop it, count it, warn the peer with `-5`).
 */
export type Overflow = "wait" | "drop";

/** Options of an {@linkcode Endpoint}. */
export interface EndpointOptions {
  /** Called for every channel the peer opens; without one, commands are answered with `-11` as 0.3.3 does. */
  handler?: Handler;
  /** Items a reader buffers per stream (default 42, as 0.3.3). */
  queue?: number;
  /** Send flow credits as a reader and warning `-5` on loss (default true; false for 0.3.3 peers). */
  credits?: boolean;
  /** A full reader queue: `wait` (default; back-pressure through {@linkcode Endpoint.admit}) or `drop`. */
  overflow?: Overflow;
  /** Send commands as path arrays, as moat-lib-rpc (default false: a string, as 0.3.3). */
  pathCommands?: boolean;
  /** Outgoing messages buffered before stream senders and {@linkcode Endpoint.ready} wait (default 64). */
  outQueue?: number;
  /** Called for bad input (which is dropped); the transport logs and counts it. */
  onIssue?: (kind: IssueKind, detail: string) => void;
}

/** Runs one command the peer sent; its return value is the reply unless a final was already sent. */
export type Handler = (req: Request) => unknown;
