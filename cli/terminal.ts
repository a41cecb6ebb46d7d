/**
 * A full-screen view on a terminal for `tap --format table` and `top`: the
 * alternate screen, redrawn in place, left as it was on exit; quitting on
 * `q`, Ctrl-C or SIGTERM. And aligned text columns, for the terminal and for
 * plain output alike.
 *
 * @module
 */

const encoder = new TextEncoder();

/** Writes all of `text` to stdout; false when the reader has gone (a closed pipe). */
export function writeOut(text: string): boolean {
  const bytes = encoder.encode(text);
  try {
    let n = 0;
    while (n < bytes.length) n += Deno.stdout.writeSync(bytes.subarray(n));
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.BrokenPipe) return false;
    throw e;
  }
}

/** Lays out rows as columns padded to their widest cell (the last column is not padded). */
export function columns(rows: readonly (readonly string[])[], rightAligned: ReadonlySet<number> = new Set()): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => widths[i] = Math.max(widths[i] ?? 0, c.length));
  return rows.map((r) =>
    r.map((c, i) => {
      if (rightAligned.has(i)) return c.padStart(widths[i]);
      return i === r.length - 1 ? c : c.padEnd(widths[i]);
    }).join("  ").trimEnd()
  );
}

/** The terminal's size, or a usual one when it cannot be asked. */
function consoleSize(): { columns: number; rows: number } {
  try {
    const size = Deno.consoleSize();
    // A terminal that was never given a size (some pseudo-terminals) reports 0 × 0.
    if (size.columns > 0 && size.rows > 0) return size;
  } catch {
    // not a terminal: the usual size below
  }
  return { columns: 120, rows: 40 };
}

/** The alternate screen of a terminal, redrawn whole at each `draw`. */
export class Screen {
  #on = false;

  /** Switches to the alternate screen and hides the cursor. */
  open(): void {
    this.#on = true;
    writeOut("\x1b[?1049h\x1b[?25l");
  }

  /** Replaces the screen's content by `lines`, each cut to the terminal's width, as many as fit. */
  draw(lines: readonly string[]): void {
    const { columns, rows } = consoleSize();
    const shown = lines.length > rows
      ? [...lines.slice(0, rows - 1), `… ${lines.length - rows + 1} more lines`]
      : lines;
    // \r\n: the terminal may be in a mode that does not turn \n into a carriage return too.
    writeOut("\x1b[H" + shown.map((l) => l.slice(0, columns) + "\x1b[K").join("\r\n") + "\x1b[J");
  }

  /** Shows the cursor and goes back to the normal screen, as it was. */
  close(): void {
    if (!this.#on) return;
    this.#on = false;
    writeOut("\x1b[?25h\x1b[?1049l");
  }
}

/**
 * Calls `quit` on SIGINT or SIGTERM, and, when `keys` and stdin is a terminal, on `q` (stdin then in cbreak mode:
 * keys arrive unechoed, Ctrl-C still signals). Returns the function that undoes all of it.
 */
export function onQuit(quit: () => void, keys = false): () => void {
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  for (const s of signals) Deno.addSignalListener(s, quit);
  let raw = false;
  if (keys && Deno.stdin.isTerminal()) {
    try {
      Deno.stdin.setRaw(true, { cbreak: true });
      raw = true;
      (async () => {
        const buf = new Uint8Array(16);
        for (;;) {
          const n = await Deno.stdin.read(buf).catch(() => null);
          if (n === null) return;
          // q, Q, or Ctrl-C should the terminal deliver it as a byte
          if (buf.subarray(0, n).some((b) => b === 0x71 || b === 0x51 || b === 0x03)) return quit();
        }
      })();
    } catch {
      // not a terminal after all: signals only
    }
  }
  return () => {
    for (const s of signals) Deno.removeSignalListener(s, quit);
    if (raw) {
      try {
        Deno.stdin.setRaw(false);
      } catch {
        // the terminal has gone
      }
    }
  };
}
