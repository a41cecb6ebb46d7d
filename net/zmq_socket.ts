/**
 * The sockets of the daemon's `zmq` input and output, one interface over two
 * bindings: libzmq called directly through `Deno.dlopen` (net/zmq_ffi.ts,
 * Debian's `libzmq5`), the default where it loads, and zeromq.js (net/zmq.ts),
 * the fallback where libzmq is not installed or `TELEBUS_ZMQ=zeromq.js`.
 *
 * FFI: a batch is taken with `zmq_msg_recv(ZMQ_DONTWAIT)` into one reused
 * message object, each frame copied out into an array of its own (a record
 * keeps its frames); an idle socket waits in `zmq_poll` on one of the
 * runtime's threads (a `nonblocking` foreign call), woken by the data itself,
 * not by timers. A send is one `zmq_send` per frame with `ZMQ_DONTWAIT`; a
 * socket that cannot take it waits in `zmq_poll` likewise.
 *
 * @module
 */
import { type FfiSocket, type FfiSocketOptions, openFfiSocket } from "./zmq_ffi.ts";
import type { ReceiverOptions, ReceiveSocket, SenderOptions, SendSocket } from "./zmq.ts";

/** zeromq.js, loaded only when a socket falls back to it (it costs ~75 ms and ~14 MB to load). */
type ZeromqJs = typeof import("./zmq.ts");
let zeromqJs: Promise<ZeromqJs> | undefined;
const loadZeromqJs = () => zeromqJs ??= import("./zmq.ts");

/** The library that drives a socket. */
export type ZmqBinding = "ffi" | "zeromq.js";

/** A receiving socket of either binding. */
export interface ZmqReceiver {
  /** The library behind it. */
  readonly binding: ZmqBinding;
  /** True once closed. */
  readonly closed: boolean;
  /** The endpoint bound or connected (a `*` port resolved), or null. */
  readonly lastEndpoint: string | null;
  /**
   * Waits until a message is there, then hands `onMessage` that one and the
   * others already queued, at most `max` in all, each as frames the callee
   * keeps (plain `Uint8Array`s). Resolves false once the socket is closed.
   */
  receiveBatch(max: number, onMessage: (frames: Uint8Array[]) => void): Promise<boolean>;
  /** Closes the socket (nothing queued is delivered any more). */
  close(): void;
}

/** A sending socket of either binding. */
export interface ZmqSender {
  /** The library behind it. */
  readonly binding: ZmqBinding;
  /** True once closed. */
  readonly closed: boolean;
  /** The endpoint bound or connected (a `*` port resolved), or null. */
  readonly lastEndpoint: string | null;
  /**
   * Sends one message, waiting while the socket cannot take it for at most
   * `timeoutMs` (forever when undefined) and only until `signal` aborts.
   * True when sent — synchronously (a plain `true`) when the socket took it at
   * once; false when the time ran out, the signal aborted or the socket closed.
   */
  send(frames: Uint8Array[], timeoutMs?: number, signal?: AbortSignal): boolean | Promise<boolean>;
  /** Closes the socket; queued messages may go out for the linger it was opened with. */
  close(): void;
}

/** A batch of the FFI receiver ends once it holds this many bytes: large frames are not copied out 256 at a time. */
const BATCH_BYTES = 1 << 20;

let chosen: ZmqBinding | undefined;
const opened: Record<ZmqBinding, number> = { ffi: 0, "zeromq.js": 0 };

/** How many sockets each binding has opened in this process (tests check that the binding they ask for is used). */
export function socketsOpened(): Readonly<Record<ZmqBinding, number>> {
  return { ...opened };
}

/**
 * Makes every socket opened from now on use `binding` (`undefined`: the
 * default again, FFI where libzmq loads). For tests and benchmarks of both;
 * opening then fails when `ffi` is asked for and libzmq cannot be loaded.
 */
export function useZmqBinding(binding: ZmqBinding | undefined): void {
  chosen = binding;
}

/**
 * Opens a socket on the binding chosen: through FFI where libzmq loads (`ffi` wraps it), else zeromq.js (`js` opens
 * it); counted by binding.
 */
async function openOn<S extends ZmqReceiver | ZmqSender>(
  options: FfiSocketOptions,
  ffi: (sock: FfiSocket) => S,
  js: (zeromq: ZeromqJs) => Promise<S>,
): Promise<S> {
  let sock: S;
  const f = chosen === "zeromq.js" ? undefined : openFfiSocket(options, chosen === "ffi");
  if (f) sock = ffi(f);
  else if (chosen === "ffi") throw new Error("libzmq (libzmq.so.5) cannot be loaded: is libzmq5 installed?");
  else sock = await js(await loadZeromqJs());
  opened[sock.binding]++;
  return sock;
}

/** Opens a receiving socket: FFI where libzmq loads, else zeromq.js (options as net/zmq.ts's `openReceiver`). */
export function openZmqReceiver(address: string, o: ReceiverOptions): Promise<ZmqReceiver> {
  return openOn<ZmqReceiver>(
    { type: o.mode, connType: o.connType, address, queueSize: o.queueSize, topics: o.topics },
    (sock) => new FfiReceiver(sock),
    async (js) => new JsReceiver(await js.openReceiver(address, o), js),
  );
}

/** Opens a sending socket: FFI where libzmq loads, else zeromq.js (options as net/zmq.ts's `openSender`). */
export function openZmqSender(address: string, o: SenderOptions): Promise<ZmqSender> {
  return openOn<ZmqSender>(
    { type: o.mode, connType: o.connType, address, queueSize: o.queueSize, linger: o.linger },
    (sock) => new FfiSender(sock),
    async (js) => new JsSender(await js.openSender(address, o), js),
  );
}

class FfiReceiver implements ZmqReceiver {
  readonly binding: ZmqBinding = "ffi";
  constructor(readonly sock: FfiSocket) {}
  get closed(): boolean {
    return this.sock.closed;
  }
  get lastEndpoint(): string | null {
    return this.sock.lastEndpoint;
  }
  async receiveBatch(max: number, onMessage: (frames: Uint8Array[]) => void): Promise<boolean> {
    const s = this.sock;
    for (;;) {
      let n = 0, bytes = 0;
      while (n < max && bytes < BATCH_BYTES && !s.closed) {
        const m = s.tryReceive();
        if (m === null) break;
        onMessage(m);
        n++;
        for (let i = 0; i < m.length; i++) bytes += m[i].length;
      }
      if (s.closed) return false;
      if (n > 0) return true;
      if (!await s.wait("in")) return false;
    }
  }
  close(): void {
    this.sock.close();
  }
}

class FfiSender implements ZmqSender {
  readonly binding: ZmqBinding = "ffi";
  constructor(readonly sock: FfiSocket) {}
  get closed(): boolean {
    return this.sock.closed;
  }
  get lastEndpoint(): string | null {
    return this.sock.lastEndpoint;
  }
  send(frames: Uint8Array[], timeoutMs?: number, signal?: AbortSignal): boolean | Promise<boolean> {
    const s = this.sock;
    if (s.closed || signal?.aborted) return false;
    if (s.trySend(frames)) return true;
    if (timeoutMs !== undefined && timeoutMs <= 0) return false;
    return this.#sendWaiting(frames, timeoutMs, signal);
  }
  async #sendWaiting(frames: Uint8Array[], timeoutMs?: number, signal?: AbortSignal): Promise<boolean> {
    const s = this.sock;
    const deadline = timeoutMs === undefined ? Infinity : performance.now() + timeoutMs;
    for (;;) {
      // One zmq_poll waits POLL_MS (100 ms) at most: an abort or a close is seen that late at most.
      const left = deadline - performance.now();
      if (left <= 0) return false;
      if (!await s.wait("out", left)) return false;
      if (signal?.aborted) return false;
      if (s.trySend(frames)) return true;
    }
  }
  close(): void {
    this.sock.close();
  }
}

class JsReceiver implements ZmqReceiver {
  readonly binding: ZmqBinding = "zeromq.js";
  constructor(readonly sock: ReceiveSocket, readonly js: ZeromqJs) {}
  get closed(): boolean {
    return this.sock.closed;
  }
  get lastEndpoint(): string | null {
    return this.sock.lastEndpoint ?? null;
  }
  async receiveBatch(max: number, onMessage: (frames: Uint8Array[]) => void): Promise<boolean> {
    const s = this.sock;
    const first = await this.js.receiveMessage(s);
    if (!first) return false;
    onMessage(plain(first));
    // Take what is already queued without waiting (receive() directly: the socket says it has a message).
    for (let n = 1; n < max && !s.closed && s.readable; n++) {
      let more: Uint8Array[];
      try {
        more = await s.receive();
      } catch (e) {
        if (s.closed) break; // closed while this receive was under way
        throw e;
      }
      onMessage(plain(more));
    }
    return true;
  }
  close(): void {
    this.sock.close();
  }
}

/** zeromq.js gives Node Buffers; records hold plain Uint8Arrays (views, no copy), as every other input. */
function plain(buffers: Uint8Array[]): Uint8Array[] {
  const frames = new Array<Uint8Array>(buffers.length);
  for (let i = 0; i < buffers.length; i++) {
    const b = buffers[i];
    frames[i] = new Uint8Array(b.buffer, b.byteOffset, b.length);
  }
  return frames;
}

class JsSender implements ZmqSender {
  readonly binding: ZmqBinding = "zeromq.js";
  constructor(readonly sock: SendSocket, readonly js: ZeromqJs) {}
  get closed(): boolean {
    return this.sock.closed;
  }
  get lastEndpoint(): string | null {
    return this.sock.lastEndpoint ?? null;
  }
  send(frames: Uint8Array[], timeoutMs?: number, signal?: AbortSignal): Promise<boolean> {
    return this.js.sendMessage(this.sock, frames, timeoutMs, signal);
  }
  close(): void {
    this.sock.close();
  }
}
