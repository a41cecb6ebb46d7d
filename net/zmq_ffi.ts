/**
 * libzmq called directly through `Deno.dlopen` (Debian's `libzmq5`), for the
 * daemon's `zmq` input and output (through net/zmq_socket.ts) and the hot
 * loops of the `stats` and `generate` commands: a receive or send is one
 * foreign call per frame with ZMQ_DONTWAIT instead of a promise through
 * zeromq.js, and an idle socket waits in `zmq_poll` on one of the runtime's
 * threads instead of being polled with timers. Measured with
 * bench/zmq_throughput.ts (the daemon) and bench/zmq_ffi_probe.ts (bare loops).
 *
 * Only where libzmq loads ({@linkcode openFfiSocket} returns undefined
 * otherwise, and the callers use zeromq.js): the permission is the one
 * zeromq.js needs anyway (`--allow-ffi`).
 *
 * A socket is used from the main thread only; the one call that runs
 * elsewhere, `zmq_poll`, never overlaps another call on the same socket
 * (close waits for it: at most {@linkcode POLL_MS}).
 *
 * @module
 */

const SYMBOLS = {
  zmq_ctx_new: { parameters: [], result: "pointer" },
  zmq_socket: { parameters: ["pointer", "i32"], result: "pointer" },
  zmq_close: { parameters: ["pointer"], result: "i32" },
  zmq_connect: { parameters: ["pointer", "buffer"], result: "i32" },
  zmq_bind: { parameters: ["pointer", "buffer"], result: "i32" },
  zmq_setsockopt: { parameters: ["pointer", "i32", "buffer", "usize"], result: "i32" },
  zmq_getsockopt: { parameters: ["pointer", "i32", "buffer", "buffer"], result: "i32" },
  zmq_send: { parameters: ["pointer", "buffer", "usize", "i32"], result: "i32" },
  zmq_msg_init: { parameters: ["buffer"], result: "i32" },
  zmq_msg_recv: { parameters: ["buffer", "pointer", "i32"], result: "i32" },
  zmq_msg_data: { parameters: ["buffer"], result: "pointer" },
  zmq_msg_more: { parameters: ["buffer"], result: "i32" },
  zmq_msg_close: { parameters: ["buffer"], result: "i32" },
  zmq_errno: { parameters: [], result: "i32" },
  zmq_strerror: { parameters: ["i32"], result: "pointer" },
  zmq_poll: { parameters: ["buffer", "i32", "i64"], result: "i32", nonblocking: true },
} as const;

type Lib = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

const Z = {
  PUB: 1,
  SUB: 2,
  PUSH: 8,
  PULL: 7,
  SNDMORE: 2,
  DONTWAIT: 1,
  LINGER: 17,
  SNDHWM: 23,
  RCVHWM: 24,
  SUBSCRIBE: 6,
  LAST_ENDPOINT: 32,
  POLLIN: 1,
  POLLOUT: 2,
  EAGAIN: 11,
  EINTR: 4,
} as const;

/** Longest wait inside one `zmq_poll`: how late a close or an abort is noticed by a waiting socket. */
export const POLL_MS = 100;

let lib: Lib | undefined;
let ctx: Deno.PointerValue = null;
let tried = false;

/** True when `TELEBUS_ZMQ=zeromq.js` asks for zeromq.js (read only where the environment is readable already). */
export function zeromqJsRequested(): boolean {
  try {
    // TELEBUS_ZMQ=zeromq.js keeps the tools on zeromq.js (for comparison, or a broken libzmq). Read only when
    // allowed already: a permission prompt for it would be worse than the default.
    const env = { name: "env", variable: "TELEBUS_ZMQ" } as const;
    return Deno.permissions.querySync(env).state === "granted" && Deno.env.get("TELEBUS_ZMQ") === "zeromq.js";
  } catch {
    return false; // the default then
  }
}

/** libzmq's symbols, loaded once; undefined where it cannot be (not installed, no FFI permission, or disabled). */
function load(): Lib | undefined {
  return zeromqJsRequested() ? undefined : loadLibzmq();
}

/** libzmq's symbols whatever `TELEBUS_ZMQ` says; undefined where libzmq is not installed or FFI not allowed. */
function loadLibzmq(): Lib | undefined {
  if (tried) return lib;
  tried = true;
  try {
    // Likewise, no prompt for FFI: zeromq.js (which needs the same permission) reports a refusal better.
    if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return undefined;
    lib = Deno.dlopen("libzmq.so.5", SYMBOLS).symbols;
    ctx = lib.zmq_ctx_new(); // never terminated: that would wait for every socket's linger
  } catch {
    lib = undefined;
  }
  return lib;
}

const enc = new TextEncoder();
const cstr = (s: string) => enc.encode(s + "\0");
const int32 = (v: number) => new Uint8Array(new Int32Array([v]).buffer);

/** Frames from this size up are copied by `ArrayBuffer.prototype.slice` (see {@linkcode copyFrame}). */
const LARGE_FRAME = 256 * 1024;

/**
 * A copy of a received frame's `n` bytes at `data`. Small frames go through `copyInto`; a large one through a view of
 * libzmq's bytes and `slice`, which copies ~3× faster for 1 MiB (measured: ~80 against ~250 µs, best of 7 rounds), so
 * that receiving 1 MiB messages is not held back by the copy.
 */
function copyFrame(data: Deno.PointerValue, n: number): Uint8Array {
  if (n === 0 || data === null) return new Uint8Array(0);
  if (n < LARGE_FRAME) {
    const f = new Uint8Array(n);
    Deno.UnsafePointerView.copyInto(data, f);
    return f;
  }
  return new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(data, n).slice(0));
}

function lastError(l: Lib): Error {
  const e = l.zmq_errno();
  const p = l.zmq_strerror(e);
  return new Error(p ? Deno.UnsafePointerView.getCString(p) : `errno ${e}`);
}

/** Socket types. */
export type FfiSocketType = "pull" | "sub" | "push" | "pub";

/** Options of {@linkcode openFfiSocket}. */
export interface FfiSocketOptions {
  /** Socket type. */
  type: FfiSocketType;
  /** `bind` or `connect` `address`. */
  connType: "bind" | "connect";
  /** The address. */
  address: string;
  /** The high-water mark of the direction the socket uses (mflow's `queue_size`). */
  queueSize: number;
  /** Ms queued messages may still go out after close (senders). */
  linger?: number;
  /** SUB prefixes (default: everything). */
  topics?: readonly string[];
}

/** What a receive counted: the first frame's size and the bytes of all frames. */
export interface FrameSizes {
  /** Bytes of frame 0 (m_stats skips messages whose first frame is empty). */
  first: number;
  /** Bytes of every frame. */
  total: number;
}

/**
 * A ZeroMQ socket driven through libzmq's C API. Throws
 * `Unable to <connType> to <address>: <why>` as mflow says it.
 */
export class FfiSocket {
  readonly #lib: Lib;
  #sock: Deno.PointerValue;
  #closed = false;
  #polling: Promise<unknown> | undefined;
  readonly #msg = new Uint8Array(64); // zmq_msg_t
  readonly #item = new Uint8Array(16); // zmq_pollitem_t: socket, fd, events, revents
  readonly #received: FrameSizes = { first: 0, total: 0 };

  /** @internal use {@linkcode openFfiSocket} */
  constructor(l: Lib, o: FfiSocketOptions) {
    this.#lib = l;
    const type = { pull: Z.PULL, sub: Z.SUB, push: Z.PUSH, pub: Z.PUB }[o.type];
    const s = l.zmq_socket(ctx, type);
    if (s === null) throw lastError(l);
    this.#sock = s;
    const sending = o.type === "push" || o.type === "pub";
    l.zmq_setsockopt(s, sending ? Z.SNDHWM : Z.RCVHWM, int32(o.queueSize), 4n);
    l.zmq_setsockopt(s, Z.LINGER, int32(sending ? o.linger ?? 1000 : 0), 4n);
    if (o.type === "sub") {
      // No topic at all means every message, as zeromq.js's `subscribe()` without arguments (and mflow) take it.
      for (const t of o.topics?.length ? o.topics : [""]) {
        const b = enc.encode(t);
        l.zmq_setsockopt(s, Z.SUBSCRIBE, b, BigInt(b.length));
      }
    }
    const rc = o.connType === "bind" ? l.zmq_bind(s, cstr(o.address)) : l.zmq_connect(s, cstr(o.address));
    if (rc !== 0) {
      const why = lastError(l).message;
      l.zmq_close(s);
      this.#closed = true;
      throw new Error(`Unable to ${o.connType} to ${o.address}: ${why}`);
    }
    new BigUint64Array(this.#item.buffer, 0, 1)[0] = BigInt(Deno.UnsafePointer.value(s));
    // One message object for every receive: zmq_msg_recv releases what it held before.
    l.zmq_msg_init(this.#msg);
  }

  /** True once closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The endpoint bound or connected last (a `*` port resolved). */
  get lastEndpoint(): string | null {
    if (this.#closed) return null;
    const buf = new Uint8Array(256);
    const len = new BigUint64Array([256n]);
    if (this.#lib.zmq_getsockopt(this.#sock, Z.LAST_ENDPOINT, buf, new Uint8Array(len.buffer)) !== 0) return null;
    const n = buf.indexOf(0);
    return new TextDecoder().decode(buf.subarray(0, n < 0 ? Number(len[0]) : n));
  }

  /**
   * Takes the next message if one is there, counting its frames' bytes
   * without copying them (the result is reused by the next call); null when
   * none is waiting.
   */
  tryReceiveSizes(): FrameSizes | null {
    return this.#receive(this.#countFrame) ? this.#received : null;
  }

  readonly #countFrame = (n: number, part: number) => {
    const r = this.#received;
    if (part === 0) r.first = n, r.total = 0;
    r.total += n;
  };

  /**
   * Takes the next message if one is there, each frame copied out of libzmq
   * into a new array the caller keeps; null when none is waiting.
   */
  tryReceive(): Uint8Array[] | null {
    const frames: Uint8Array[] = [];
    return this.#receive((n) => frames.push(copyFrame(this.#lib.zmq_msg_data(this.#msg), n))) ? frames : null;
  }

  /**
   * Receives the next message frame by frame into the reused message object, handing `frame` each frame's size and
   * index while the message object holds it; false when no message is waiting.
   */
  #receive(frame: (n: number, part: number) => void): boolean {
    const l = this.#lib;
    const msg = this.#msg;
    for (let part = 0;;) {
      const n = l.zmq_msg_recv(msg, this.#sock, part === 0 ? Z.DONTWAIT : 0);
      if (n < 0) {
        const e = l.zmq_errno();
        if (part === 0 && (e === Z.EAGAIN || e === Z.EINTR)) return false;
        if (e === Z.EINTR) continue;
        throw lastError(l);
      }
      frame(n, part++);
      if (!l.zmq_msg_more(msg)) return true;
      // the other frames of a message are there already: ZeroMQ delivers messages whole
    }
  }

  /** Sends one message if the socket takes it now; false when it would have to wait. */
  trySend(frames: readonly Uint8Array[]): boolean {
    const l = this.#lib;
    const last = frames.length - 1;
    for (let i = 0; i <= last; i++) {
      const f = frames[i];
      // Only the first frame can find the socket full; the rest of a message always goes.
      const flags = (i < last ? Z.SNDMORE : 0) | (i === 0 ? Z.DONTWAIT : 0);
      if (l.zmq_send(this.#sock, f, BigInt(f.length), flags) < 0) {
        const e = l.zmq_errno();
        if (i === 0 && (e === Z.EAGAIN || e === Z.EINTR)) return false;
        throw lastError(l);
      }
    }
    return true;
  }

  /**
   * Waits until the socket can receive (`in`) or send (`out`), for at most
   * `ms` (at most {@linkcode POLL_MS}). Returns false once the socket is closed.
   */
  async wait(direction: "in" | "out", ms: number = POLL_MS): Promise<boolean> {
    if (this.#closed) return false;
    new DataView(this.#item.buffer).setInt16(12, direction === "in" ? Z.POLLIN : Z.POLLOUT, true);
    const p = this.#lib.zmq_poll(this.#item, 1, BigInt(Math.max(0, Math.min(POLL_MS, Math.ceil(ms)))));
    this.#polling = p;
    try {
      await p;
    } finally {
      this.#polling = undefined;
    }
    return !this.#closed;
  }

  /** Closes the socket (once a wait in progress has returned); `linger` overrides the option first. */
  close(linger?: number): void {
    if (this.#closed) return;
    this.#closed = true;
    const s = this.#sock;
    const finish = () => {
      if (linger !== undefined) this.#lib.zmq_setsockopt(s, Z.LINGER, int32(linger), 4n);
      this.#lib.zmq_close(s);
      this.#lib.zmq_msg_close(this.#msg);
    };
    if (this.#polling) this.#polling.then(finish, finish);
    else finish();
  }
}

/**
 * Opens a socket through libzmq; undefined when libzmq cannot be loaded or
 * `TELEBUS_ZMQ=zeromq.js` (the caller uses zeromq.js). `force` ignores
 * `TELEBUS_ZMQ` (tests of both bindings).
 */
export function openFfiSocket(o: FfiSocketOptions, force = false): FfiSocket | undefined {
  const l = force ? loadLibzmq() : load();
  return l ? new FfiSocket(l, o) : undefined;
}
