/**
 * A one-line progress bar on stderr for long reads of a log file: bytes read
 * of the total, percentage and records per second. It is only ever drawn on a
 * terminal, so redirected stderr stays free of control characters.
 *
 * @module
 */

/** Files smaller than this are read too fast for a bar to be worth drawing. */
export const PROGRESS_MIN_BYTES = 32 * 1024 * 1024;

/** Minimum time between two redraws (about 10 per second). */
const REDRAW_MS = 100;
const BAR_WIDTH = 30;
const MIB = 1024 * 1024;

const encoder = new TextEncoder();

/** Options of {@linkcode startProgress}. */
export interface ProgressOptions {
  /** Size of the file in bytes. */
  total: number;
  /** A followed file has no end, so no bar is drawn. */
  follow: boolean;
  /** Draw even when the file is small (tests); never overrides the terminal check. */
  minBytes?: number;
}

/** A progress bar drawn on stderr; every method is cheap enough to call per batch of records. */
export class ProgressBar {
  #total: number;
  #bytes = 0;
  #records = 0;
  #started = performance.now();
  #lastDraw = 0;
  #shown = false;

  /**
   * Creates a bar; nothing is drawn before the first update.
   * @param total the number of bytes that makes 100 %
   */
  constructor(total: number) {
    this.#total = Math.max(1, total);
  }

  /** Records progress and redraws at most every 100 ms. `bytes` is the absolute offset read so far. */
  update(bytes: number, records: number): void {
    this.#bytes = bytes;
    this.#records = records;
    const now = performance.now();
    if (now - this.#lastDraw < REDRAW_MS) return;
    this.#lastDraw = now;
    this.#draw(now);
  }

  /** Erases the bar (before other output on the terminal); the next update draws it again. */
  clear(): void {
    if (!this.#shown) return;
    this.#shown = false;
    this.#lastDraw = 0; // redraw at the next update
    writeStderr("\r\x1b[K");
  }

  /** Erases the bar for good. */
  finish(): void {
    this.clear();
    this.#lastDraw = Infinity;
  }

  #draw(now: number): void {
    const fraction = Math.min(1, this.#bytes / this.#total);
    const filled = Math.round(fraction * BAR_WIDTH);
    const seconds = Math.max(0.001, (now - this.#started) / 1000);
    const rate = Math.round(this.#records / seconds);
    const line = `\r[${"#".repeat(filled)}${".".repeat(BAR_WIDTH - filled)}] ${(fraction * 100).toFixed(1)}% ` +
      `${(this.#bytes / MIB).toFixed(1)}/${(this.#total / MIB).toFixed(1)} MiB ${rate} records/s\x1b[K`;
    this.#shown = true;
    writeStderr(line);
  }
}

function writeStderr(text: string): void {
  try {
    const bytes = encoder.encode(text);
    let n = 0;
    while (n < bytes.length) n += Deno.stderr.writeSync(bytes.subarray(n));
  } catch {
    // A progress bar is never worth failing for.
  }
}

/**
 * Starts a bar when it is useful: stderr is a terminal, the file is larger
 * than {@linkcode PROGRESS_MIN_BYTES} (or `minBytes`) and not being followed.
 * Returns undefined otherwise.
 */
export function startProgress(options: ProgressOptions): ProgressBar | undefined {
  if (options.follow || options.total < (options.minBytes ?? PROGRESS_MIN_BYTES)) return undefined;
  let terminal = false;
  try {
    terminal = Deno.stderr.isTerminal();
  } catch {
    terminal = false;
  }
  return terminal ? new ProgressBar(options.total) : undefined;
}
