/**
 * Map keys of MessagePack records interned once per distinct key, for the
 * byte walks of {@linkcode appendRecordJson} and {@linkcode collectRecordPaths}:
 * a log whose records share their keys costs a hash lookup per key.
 *
 * The reader's state (the key read last, the duplicate-key stamps) lives in
 * module variables: the walks read one record at a time, never re-entered, and
 * passing that state around costs more than the work per key.
 *
 * @module
 */
import { type JsonOptions, toJson } from "./json.ts";

const PYTHON: JsonOptions = { style: "python" };
const KEY_TEXT = new TextEncoder();
const NO_JSON = new Uint8Array(0);
/** Distinct keys kept before the table starts over (bounds its memory on logs with ever new keys). */
export const MAX_KEYS = 16384;
/** Keys longer than this are not interned: the record is left to the decoder. */
const MAX_KEY_BYTES = 256;
const SLOTS = 32768; // a power of two, twice MAX_KEYS
const ARENA_BYTES = 1 << 20;

let generations = 0;
const INDEX_LIKE = /^(?:0|[1-9][0-9]*)$/;
const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Map keys seen so far, by their bytes: each gets a small id, its text and its
 * JSON form (`"key": `). Keys that a decoded JavaScript object would reorder
 * or rename, or that are not well-formed UTF-8, are marked unusable.
 */
export class KeyTable {
  #slots = new Int32Array(SLOTS); // id + 1; 0 is empty
  #hash = new Int32Array(MAX_KEYS);
  #start = new Int32Array(MAX_KEYS);
  #len = new Int32Array(MAX_KEYS);
  #arena = new Uint8Array(ARENA_BYTES);
  #arenaUsed = 0;
  /** Number of keys interned. */
  count = 0;
  /** JSON form of each key, with the separator after it (`"key": `). */
  readonly json: Uint8Array[] = [];
  /** Text of each key. */
  readonly text: string[] = [];
  /** 1 when the key can take the fast path. */
  readonly usable = new Uint8Array(MAX_KEYS);
  /** Set when the table is full: {@linkcode KeyTable.clear} must run before the next record. */
  full = false;

  /**
   * Tells the table's ids apart from those of other tables and of its own
   * past (before {@linkcode KeyTable.clear}): unique among all tables.
   */
  generation: number = ++generations;

  /** Forgets every key (between records only: ids of the current record would be reused). */
  clear(): void {
    this.generation = ++generations;
    this.#slots.fill(0);
    this.#next.fill(0);
    this.#arenaUsed = 0;
    this.count = 0;
    this.json.length = 0;
    this.text.length = 0;
    this.full = false;
  }

  /** For each key id + 1 (0: a map's first key), the id + 1 of the key that followed it last time. */
  #next = new Int32Array(MAX_KEYS + 1);

  /**
   * {@linkcode KeyTable.id} for a key that follows the key `prev` (-1 for the
   * first key of a map): records of one writer repeat their keys in the same
   * order, so the key that followed `prev` last time is compared first, and
   * the hash is computed only when it is another one.
   */
  idAfter(prev: number, b: Uint8Array, s: number, len: number): number {
    const guess = this.#next[prev + 1] - 1;
    if (guess >= 0 && this.#len[guess] === len) {
      const arena = this.#arena;
      let a = this.#start[guess];
      let i = s;
      const e = s + len;
      while (i < e && arena[a] === b[i]) a++, i++;
      if (i === e) return guess;
    }
    const id = this.id(b, s, len);
    if (id >= 0) this.#next[prev + 1] = id + 1;
    return id;
  }

  /** The id of the key `b[s, s + len)`, interning it; -1 when the table is full or the key too long. */
  id(b: Uint8Array, s: number, len: number): number {
    if (len > MAX_KEY_BYTES) return -1;
    let h = 0x811c9dc5 ^ len;
    const e = s + len;
    for (let i = s; i < e; i++) h = Math.imul(h ^ b[i], 16777619);
    const mask = SLOTS - 1;
    const arena = this.#arena;
    for (let slot = h & mask;; slot = (slot + 1) & mask) {
      const v = this.#slots[slot];
      if (v === 0) return this.#add(b, s, len, h, slot);
      const id = v - 1;
      if (this.#hash[id] !== h || this.#len[id] !== len) continue;
      let a = this.#start[id];
      let i = s;
      while (i < e && arena[a] === b[i]) a++, i++;
      if (i === e) return id;
    }
  }

  #add(b: Uint8Array, s: number, len: number, h: number, slot: number): number {
    if (this.count >= MAX_KEYS || this.#arenaUsed + len > ARENA_BYTES) {
      this.full = true;
      return -1;
    }
    const id = this.count++;
    this.#arena.set(b.subarray(s, s + len), this.#arenaUsed);
    this.#start[id] = this.#arenaUsed;
    this.#arenaUsed += len;
    this.#len[id] = len;
    this.#hash[id] = h;
    this.#slots[slot] = id + 1;
    let text = "";
    let ok = true;
    try {
      text = utf8.decode(b.subarray(s, s + len));
    } catch {
      ok = false; // not UTF-8: the decoder's replacement characters decide
    }
    // Array indices come first in a JavaScript object whatever their place in the record; msgpackr renames
    // __proto__.
    if (ok && ((INDEX_LIKE.test(text) && Number(text) < 4294967295) || text === "__proto__")) ok = false;
    this.text.push(text);
    // The key as JSON text, with ": " after it, as toJson prints it (used only when the key is usable).
    this.json.push(ok ? KEY_TEXT.encode(toJson(text, PYTHON) + ": ") : NO_JSON);
    this.usable[id] = ok ? 1 : 0;
    return id;
  }
}

/** The id of the key {@linkcode readKey} read last (read it right after the call). */
export let keyId = -1;
/** Per nesting depth, the number of the map that last used each key id (duplicate keys). */
const stamps: Int32Array[] = [];
let mapSeq = 0;

/**
 * Reads the map key at `b[p]` of the map numbered `seq` at `depth`, following the key `prev` of the same map, in
 * `keys`: sets {@linkcode keyId} and returns the position of its value, or -1 when the record needs the decoder
 * (a key that is not short text, not interned, or a duplicate).
 */
export function readKey(b: Uint8Array, keys: KeyTable, p: number, depth: number, seq: number, prev: number): number {
  const t = b[p];
  let s: number;
  let len: number;
  if (t >= 0xa0 && t <= 0xbf) s = p + 1, len = t & 0x1f;
  else if (t === 0xd9) s = p + 2, len = b[p + 1];
  else if (t === 0xda) s = p + 3, len = (b[p + 1] << 8) | b[p + 2];
  else return -1; // str 32 keys and keys that are not text: the decoder's business
  const id = keys.idAfter(prev, b, s, len);
  if (id < 0 || keys.usable[id] === 0) return -1;
  const stamp = stamps[depth] ??= new Int32Array(MAX_KEYS);
  if (stamp[id] === seq) return -1; // a duplicate key: the decoded object keeps one, in the first one's place
  stamp[id] = seq;
  keyId = id;
  return s + len;
}

/** A new map number for {@linkcode readKey}'s duplicate check. */
export function nextMapSeq(): number {
  if (mapSeq >= 0x7ffffff0) {
    mapSeq = 0;
    for (const s of stamps) s?.fill(0);
  }
  return ++mapSeq;
}

/** Starts a record's walk on `table`: a full table starts over, and with it the duplicate check. */
export function useTable(table: KeyTable): void {
  if (table.full) {
    table.clear();
    for (const s of stamps) s?.fill(0);
  }
}
