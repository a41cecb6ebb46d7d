/**
 * `select`, `drop` and `rename`: keys by glob over their `a/b` paths, and stream names.
 *
 * @module
 */
import type { BusRecord, Dict } from "../core/record.ts";
import { globMatcher } from "../core/glob.ts";
import { isDict } from "../core/flatten.ts";
import type { z } from "npm:zod@^4.1.12";
import type { dropSchema, renameSchema, selectSchema } from "./schema.ts";
import { derive, dropRecords, type Processor, type ProcessorContext } from "./processor.ts";

/** The parsed `select` table. */
export type SelectConfig = z.output<typeof selectSchema>;
/** The parsed `drop` table. */
export type DropConfig = z.output<typeof dropSchema>;
/** The parsed `rename` table. */
export type RenameConfig = z.output<typeof renameSchema>;

/** The keys of `d` whose path matches (dictionaries that match kept whole); undefined when none. */
function selectKeys(d: Dict, match: (path: string) => boolean, prefix: string): Dict | undefined {
  let out: Dict | undefined;
  for (const k in d) {
    const path = prefix + k, v = d[k];
    if (match(path)) (out ??= {})[k] = v;
    else if (isDict(v)) {
      const sub = selectKeys(v, match, path + "/");
      if (sub !== undefined) (out ??= {})[k] = sub;
    }
  }
  return out;
}

/** `d` without the keys whose path matches; `d` itself when none does. */
function dropKeys(d: Dict, match: (path: string) => boolean, prefix: string): Dict {
  let out: Dict | undefined;
  let i = 0;
  for (const k in d) {
    const path = prefix + k, v = d[k];
    let keep: Dict[string] | undefined = v;
    if (match(path)) keep = undefined;
    else if (isDict(v)) {
      const sub = dropKeys(v, match, path + "/");
      // A dictionary emptied by the drop goes too.
      keep = sub !== v && Object.keys(sub).length === 0 ? undefined : sub;
    }
    if (keep !== v && out === undefined) {
      // The first change: copy the keys before it.
      out = {};
      let j = 0;
      for (const k2 in d) {
        if (j++ === i) break;
        out[k2] = d[k2];
      }
    }
    if (out !== undefined && keep !== undefined) out[k] = keep;
    i++;
  }
  return out ?? d;
}

/** Applies `change` to each record's data; records left empty are dropped; unchanged records pass as they are. */
function mapData(ctx: ProcessorContext, records: BusRecord[], change: (d: Dict) => Dict | undefined): BusRecord[] {
  const out: BusRecord[] = [];
  let dropped: BusRecord[] | undefined;
  for (const r of records) {
    const d = change(r.data);
    if (d === undefined || (d !== r.data && Object.keys(d).length === 0)) (dropped ??= []).push(r);
    else out.push(d === r.data ? r : derive(r, d));
  }
  if (dropped) dropRecords(ctx, dropped);
  return out;
}

/** Keeps only the keys that match. */
export class SelectProcessor implements Processor {
  readonly #match: (path: string) => boolean;

  /**
   * @param config the table
   * @param ctx the processor's context
   */
  constructor(config: SelectConfig, readonly ctx: ProcessorContext) {
    this.#match = globMatcher(config.keys.length ? config.keys : ["\0none"]);
  }

  /** The records with only the selected keys. */
  process(records: BusRecord[]): BusRecord[] {
    return mapData(this.ctx, records, (d) => {
      const s = selectKeys(d, this.#match, "");
      // Every top-level key kept whole: the record is unchanged.
      if (
        s !== undefined && Object.keys(s).length === Object.keys(d).length && Object.keys(s).every((k) => s[k] === d[k])
      ) {
        return d;
      }
      return s;
    });
  }
}

/** Removes the keys that match. */
export class DropProcessor implements Processor {
  readonly #match: (path: string) => boolean;

  /**
   * @param config the table
   * @param ctx the processor's context
   */
  constructor(config: DropConfig, readonly ctx: ProcessorContext) {
    this.#match = globMatcher(config.keys.length ? config.keys : ["\0none"]);
  }

  /** The records without the dropped keys. */
  process(records: BusRecord[]): BusRecord[] {
    return mapData(this.ctx, records, (d) => dropKeys(d, this.#match, ""));
  }
}

/** Renames keys and streams. */
export class RenameProcessor implements Processor {
  readonly #keys: Map<string, string>;
  readonly #streams: Map<string, string>;

  /**
   * @param config the table
   * @param ctx the processor's context
   */
  constructor(config: RenameConfig, readonly ctx: ProcessorContext) {
    this.#keys = new Map(Object.entries(config.keys ?? {}));
    this.#streams = new Map(Object.entries(config.streams ?? {}));
  }

  /** The records with their keys and streams renamed. */
  process(records: BusRecord[]): BusRecord[] {
    const out: BusRecord[] = [];
    for (const r of records) {
      const stream = this.#streams.get(r.stream) ?? r.stream;
      const data = this.#keys.size > 0 ? this.#renamed(r.data) : r.data;
      out.push(data === r.data && stream === r.stream ? r : derive(r, data, stream));
    }
    return out;
  }

  #renamed(d: Dict): Dict {
    let hit = false;
    for (const k in d) {
      if (this.#keys.has(k)) {
        hit = true;
        break;
      }
    }
    if (!hit) return d;
    const out: Dict = {};
    for (const k in d) out[this.#keys.get(k) ?? k] = d[k];
    return out;
  }
}
