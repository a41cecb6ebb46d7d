/**
 * The disk spool of the `influxdb` output: batches of line protocol that could
 * not be delivered, one file per batch (`<seq>.lp`, 16-digit sequence), kept
 * in order in a folder under the daemon's `data_dir`, bounded in bytes.
 *
 * A batch is written to a temporary name, synced and renamed, so a crash
 * leaves either the whole batch or none of it. Files left by an earlier run
 * are picked up in order when the spool opens.
 *
 * @module
 */
import { join } from "node:path";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** One spooled batch. */
export interface SpooledBatch {
  /** Its sequence number (order of arrival). */
  seq: number;
  /** Its lines, newline-separated. */
  body: string;
}

/** A bounded folder of batches, oldest first. */
export class Spool {
  readonly #dir: string;
  readonly #max: number;
  /** Sequence numbers and sizes of the files, oldest first. */
  #entries: { seq: number; size: number }[] = [];
  #bytes = 0;
  #next = 1;

  private constructor(dir: string, max: number) {
    this.#dir = dir;
    this.#max = max;
  }

  /** Opens (creating) the folder and lists the batches an earlier run left. */
  static async open(dir: string, maxBytes: number): Promise<Spool> {
    const s = new Spool(dir, maxBytes);
    await Deno.mkdir(dir, { recursive: true });
    for await (const e of Deno.readDir(dir)) {
      if (!e.isFile) continue;
      const m = /^(\d{16})\.lp$/.exec(e.name);
      if (!m) {
        if (e.name.endsWith(".tmp")) await Deno.remove(join(dir, e.name)).catch(() => {});
        continue;
      }
      const size = (await Deno.stat(join(dir, e.name))).size;
      s.#entries.push({ seq: Number(m[1]), size });
      s.#bytes += size;
    }
    s.#entries.sort((a, b) => a.seq - b.seq);
    s.#next = (s.#entries.at(-1)?.seq ?? 0) + 1;
    return s;
  }

  /** The folder. */
  get dir(): string {
    return this.#dir;
  }

  /** Bytes spooled. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Batches spooled. */
  get batches(): number {
    return this.#entries.length;
  }

  /** No batch waits. */
  get empty(): boolean {
    return this.#entries.length === 0;
  }

  #path(seq: number): string {
    return join(this.#dir, String(seq).padStart(16, "0") + ".lp");
  }

  /** Writes a batch durably at the end; false (nothing written) when it would pass the size bound. */
  async append(body: string): Promise<boolean> {
    const bytes = encoder.encode(body);
    if (this.#bytes + bytes.length > this.#max) return false;
    const seq = this.#next++;
    const path = this.#path(seq);
    const tmp = path + ".tmp";
    const f = await Deno.open(tmp, { write: true, create: true, truncate: true });
    try {
      for (let i = 0; i < bytes.length;) i += await f.write(bytes.subarray(i));
      await f.syncData();
    } finally {
      f.close();
    }
    await Deno.rename(tmp, path);
    this.#entries.push({ seq, size: bytes.length });
    this.#bytes += bytes.length;
    return true;
  }

  /** The oldest batch, or undefined when the spool is empty. */
  async first(): Promise<SpooledBatch | undefined> {
    const e = this.#entries[0];
    if (!e) return undefined;
    return { seq: e.seq, body: decoder.decode(await Deno.readFile(this.#path(e.seq))) };
  }

  /** Removes a delivered batch. */
  async remove(seq: number): Promise<void> {
    const i = this.#entries.findIndex((e) => e.seq === seq);
    if (i < 0) return;
    const [e] = this.#entries.splice(i, 1);
    this.#bytes -= e.size;
    await Deno.remove(this.#path(seq)).catch(() => {});
  }

  /** Replaces a batch's lines (what is left of it after some were delivered or dropped). */
  async replace(seq: number, body: string): Promise<void> {
    const e = this.#entries.find((e) => e.seq === seq);
    if (!e) return;
    const bytes = encoder.encode(body);
    const path = this.#path(seq);
    await Deno.writeFile(path + ".tmp", bytes);
    await Deno.rename(path + ".tmp", path);
    this.#bytes += bytes.length - e.size;
    e.size = bytes.length;
  }
}
