/**
 * Checkpoints: small JSON documents saved atomically (write, fsync, rename)
 * under `data_dir/checkpoints/`, one per input.
 *
 * @module
 */
import { join } from "node:path";

/** Reads and saves checkpoints by key. */
export interface CheckpointStore {
  /** The saved value, or undefined when there is none. */
  load<T>(key: string): Promise<T | undefined>;
  /** Saves a value atomically: after a crash either the old or the new value is there. */
  save(key: string, value: unknown): Promise<void>;
}

function safeKey(key: string): string {
  return key.replace(/[^A-Za-z0-9._-]/g, "_");
}

/** A checkpoint store in `dir` (created on first save). */
export class FileCheckpointStore implements CheckpointStore {
  /**
   * Creates a store in a folder.
   *
   * @param dir the folder that holds the checkpoint files
   */
  constructor(readonly dir: string) {}

  /** The file that holds `key`. */
  pathOf(key: string): string {
    return join(this.dir, `${safeKey(key)}.json`);
  }

  /** The saved value, or undefined when there is none. */
  async load<T>(key: string): Promise<T | undefined> {
    try {
      return JSON.parse(await Deno.readTextFile(this.pathOf(key))) as T;
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return undefined;
      throw e;
    }
  }

  /** Saves a value atomically (write, fsync, rename). */
  async save(key: string, value: unknown): Promise<void> {
    await Deno.mkdir(this.dir, { recursive: true });
    const path = this.pathOf(key);
    const tmp = `${path}.tmp`;
    const f = await Deno.open(tmp, { write: true, create: true, truncate: true });
    try {
      await f.write(new TextEncoder().encode(JSON.stringify(value)));
      await f.sync();
    } finally {
      f.close();
    }
    await Deno.rename(tmp, path);
  }
}

/** A checkpoint store in memory, for the library and tests. */
export class MemoryCheckpointStore implements CheckpointStore {
  readonly #values = new Map<string, string>();
  /** The saved value, or undefined when there is none. */
  load<T>(key: string): Promise<T | undefined> {
    const v = this.#values.get(key);
    return Promise.resolve(v === undefined ? undefined : JSON.parse(v) as T);
  }
  /** Saves a value. */
  save(key: string, value: unknown): Promise<void> {
    this.#values.set(key, JSON.stringify(value));
    return Promise.resolve();
  }
}
