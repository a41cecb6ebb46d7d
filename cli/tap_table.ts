/**
 * `tap --format table`: the newest value of every key of every stream seen,
 * as aligned columns (stream, its newest record's time and count, key,
 * value). Bounded: past `MAX_STREAMS` streams the least recently updated one
 * makes room.
 *
 * @module
 */
import { toJson } from "../codecs/json.ts";
import { flatten } from "../codecs/flatten.ts";
import type { Dict } from "../core/record.ts";
import { columns } from "./terminal.ts";

export type { Dict, Value } from "../core/record.ts";

/** A record as tap received it. */
export interface TapRecord {
  /** Its stream. */
  stream: string;
  /** Nanoseconds since the epoch. */
  time: bigint;
  /** Its dictionary. */
  data: Dict;
}

/** Streams kept; a daemon with more shows the most recently updated ones. */
const MAX_STREAMS = 1000;
/** Longest value shown; longer ones are cut with `…`. */
const MAX_VALUE = 80;

interface StreamRow {
  time: bigint;
  count: number;
  values: Dict;
}

/** The newest values by stream. */
export class TapTable {
  readonly #streams = new Map<string, StreamRow>();
  #records = 0;
  #forgotten = 0;
  /** True when a record arrived since the last `lines`. */
  changed = false;

  /** Takes the newest record of its stream. */
  add(r: TapRecord): void {
    const s = this.#streams.get(r.stream);
    const count = (s?.count ?? 0) + 1;
    // Delete first, so the map's order is least recently updated first.
    this.#streams.delete(r.stream);
    if (this.#streams.size >= MAX_STREAMS) {
      this.#streams.delete(this.#streams.keys().next().value!);
      this.#forgotten++;
    }
    this.#streams.set(r.stream, { time: r.time, count, values: flatten(r.data) });
    this.#records++;
    this.changed = true;
  }

  /** The table as lines; with `footer`, a last line of totals and how to quit. */
  lines(footer = false): string[] {
    this.changed = false;
    const rows: string[][] = [["STREAM", "TIME", "RECORDS", "KEY", "VALUE"]];
    for (const stream of [...this.#streams.keys()].sort()) {
      const s = this.#streams.get(stream)!;
      const time = new Date(Number(s.time / 1_000_000n)).toISOString();
      let first = true;
      const keys = Object.keys(s.values);
      if (keys.length === 0) rows.push([stream, time, String(s.count), "", "{}"]);
      for (const k of keys) {
        let v = toJson(s.values[k], { style: "python" });
        if (v.length > MAX_VALUE) v = v.slice(0, MAX_VALUE - 1) + "…";
        rows.push(first ? [stream, time, String(s.count), k, v] : ["", "", "", k, v]);
        first = false;
      }
    }
    const out = columns(rows, new Set([2]));
    if (footer) {
      const more = this.#forgotten ? `, ${this.#forgotten} older streams not kept` : "";
      out.push("", `${this.#records} records, ${this.#streams.size} streams${more} — q or Ctrl-C quits`);
    }
    return out;
  }
}
