/**
 * The commands' output: buffered stdout written in large chunks, and whole
 * lines on stderr.
 *
 * @module
 */
import { ByteBuffer } from "../codecs/mpack_json.ts";

const encoder = new TextEncoder();

/** Output is written once this many bytes are buffered: few, large writes. */
const CHUNK_BYTES = 256 * 1024;

/**
 * Buffered stdout: bytes are accumulated in one reused buffer and written in
 * large chunks. A closed pipe (EPIPE, e.g. `dump … | head`) is not an error:
 * {@linkcode StdoutWriter.closed} turns true and further output is dropped,
 * so the caller can stop quietly.
 */
export class StdoutWriter {
  /** The buffer; writers may append to it directly (see {@linkcode StdoutWriter.full}). */
  readonly sink: ByteBuffer = new ByteBuffer(CHUNK_BYTES * 2);
  #closed = false;
  /** Called before each write, e.g. to erase a progress bar drawn on the same terminal. */
  beforeWrite?: () => void;

  /** True once the reader of stdout has gone away. */
  get closed(): boolean {
    return this.#closed;
  }

  /** True when the buffer is full and {@linkcode StdoutWriter.flush} should be called. */
  get full(): boolean {
    return this.sink.length >= CHUNK_BYTES;
  }

  /** Appends text; returns true when the buffer is full and {@linkcode StdoutWriter.flush} should be called. */
  add(text: string): boolean {
    const sink = this.sink;
    // UTF-16 units become at most 3 UTF-8 bytes each.
    sink.reserve(text.length * 3);
    sink.length += encoder.encodeInto(text, sink.bytes.subarray(sink.length)).written;
    return sink.length >= CHUNK_BYTES;
  }

  /**
   * Writes everything buffered, handling partial writes. Synchronous: a
   * blocking write of a large chunk costs one system call, where an async
   * one also costs a trip through the runtime's thread pool.
   */
  flush(): void {
    const sink = this.sink;
    if (sink.length === 0) return;
    const bytes = sink.bytes.subarray(0, sink.length);
    try {
      if (this.#closed) return;
      this.beforeWrite?.();
      let n = 0;
      while (n < bytes.length) n += Deno.stdout.writeSync(bytes.subarray(n));
    } catch (err) {
      if (err instanceof Deno.errors.BrokenPipe) this.#closed = true;
      else throw err;
    } finally {
      sink.length = 0;
    }
  }
}

/** Writes one line on stderr at once (warnings, summaries). */
export function writeStderrLine(line: string): void {
  const bytes = encoder.encode(line + "\n");
  try {
    let n = 0;
    while (n < bytes.length) n += Deno.stderr.writeSync(bytes.subarray(n));
  } catch {
    // stderr is gone: nothing sensible is left to report to
  }
}
