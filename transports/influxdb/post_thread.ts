/**
 * HTTP POSTs, in this thread or from a worker thread.
 *
 * Deno drives `fetch`'s I/O on the thread of the JavaScript that called it:
 * while the output encodes the next batch (milliseconds of CPU), the request
 * in flight is neither sent on nor its answer read, so encoding and sending
 * cannot overlap in one thread (measured: slower than not overlapping at all).
 * A {@linkcode PostThread} runs the requests (and their gzip) on a worker, so
 * the output encodes batch n + 1 while batch n is on its way.
 *
 * The worker is started from a `data:` URL holding {@linkcode postOnce}'s
 * source: it needs no read permission for a module file, and `deno compile`
 * needs no `--include` for it (workers from files are not embedded
 * otherwise). It inherits the daemon's permissions (`--allow-net`).
 *
 * @module
 */

/** One POST. */
export interface PostRequest {
  /** Where to. */
  url: string;
  /** Request headers. */
  headers: Record<string, string>;
  /** The body (transferred to the worker: do not use it after posting). */
  body: Uint8Array;
  /** Gzip the body first (the headers say so already). */
  gzip: boolean;
  /** Request timeout in ms. */
  timeoutMs: number;
}

/** The answer to a POST: a status with what the caller reads of it, or the error that prevented one. */
export type PostAnswer =
  | {
    /** HTTP status. */
    status: number;
    /** The `Retry-After` header, if any. */
    retryAfter: string | null;
    /** The body of an answer that is not 2xx (first 64 KiB); empty otherwise. */
    text: string;
    /** Bytes sent (after gzip). */
    bytes: number;
  }
  | {
    /** Why no answer came (network error, timeout). */
    error: string;
  };

/** Sends one POST; the output's writer calls this through {@linkcode PostThread} or directly. */
export type Poster = (request: PostRequest) => Promise<PostAnswer>;

/**
 * Sends one POST in this thread; never throws. Self-contained on purpose (no
 * imports, no module-level names): its source is also the worker's.
 */
export async function postOnce(request: PostRequest): Promise<PostAnswer> {
  try {
    let body = request.body;
    if (request.gzip) {
      const zipped = new Blob([body as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new CompressionStream("gzip"));
      body = new Uint8Array(await new Response(zipped).arrayBuffer());
    }
    const res = await fetch(request.url, {
      method: "POST",
      headers: request.headers,
      body: body as Uint8Array<ArrayBuffer>,
      signal: AbortSignal.timeout(request.timeoutMs),
    });
    let text = "";
    if (res.ok) await res.body?.cancel();
    else text = (await res.text().catch(() => "")).slice(0, 64 * 1024);
    return { status: res.status, retryAfter: res.headers.get("retry-after"), text, bytes: body.length };
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e) };
  }
}

/** The worker's whole program: postOnce, answering each `{id, request}` with `{id, answer}`. */
const WORKER_SOURCE = `const postOnce = ${postOnce.toString()};
self.onmessage = async (e) => {
  const { id, request } = e.data;
  self.postMessage({ id, answer: await postOnce(request) });
};
`;

interface WorkerAnswer {
  id: number;
  answer: PostAnswer;
}

/**
 * POSTs from one worker thread, several in flight if asked. A worker that
 * fails answers its pending requests with an error and is replaced on the
 * next request. {@linkcode PostThread.close} ends the thread (a live worker
 * keeps the process running).
 */
export class PostThread {
  #worker?: Worker;
  #nextId = 0;
  readonly #pending = new Map<number, (a: PostAnswer) => void>();
  #closed = false;

  /** Requests sent and not yet answered. */
  get inFlight(): number {
    return this.#pending.size;
  }

  /** Sends `request` from the worker (its body is transferred); resolves with the answer, never rejects. */
  post(request: PostRequest): Promise<PostAnswer> {
    if (this.#closed) return Promise.resolve({ error: "the sending thread is closed" });
    const worker = this.#worker ??= this.#start();
    const id = this.#nextId++;
    return new Promise((resolve) => {
      this.#pending.set(id, resolve);
      const buffer = request.body.buffer;
      // Transfer only a body that owns its whole buffer; a view into a larger one is copied.
      const whole = buffer instanceof ArrayBuffer && request.body.byteOffset === 0 &&
        request.body.byteLength === buffer.byteLength;
      worker.postMessage({ id, request }, whole ? [buffer] : []);
    });
  }

  /** Ends the thread; requests still pending are answered with an error. */
  close(): void {
    this.#closed = true;
    this.#fail("the sending thread was closed");
  }

  #start(): Worker {
    const worker = new Worker(`data:text/javascript,${encodeURIComponent(WORKER_SOURCE)}`, { type: "module" });
    worker.onmessage = (e: MessageEvent<WorkerAnswer>) => {
      const resolve = this.#pending.get(e.data.id);
      this.#pending.delete(e.data.id);
      resolve?.(e.data.answer);
    };
    worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      this.#fail(`the sending thread failed: ${e.message}`);
    };
    return worker;
  }

  #fail(message: string): void {
    this.#worker?.terminate();
    this.#worker = undefined;
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const resolve of pending) resolve({ error: message });
  }
}
