/**
 * MessagePack key paths straight from the bytes, for `list` on large logs:
 * the leaf paths of a record (as mpacklog joins them with `/`) without
 * decoding it, on the interned keys of {@linkcode KeyTable}.
 *
 * @module
 */
import { keyId, KeyTable, nextMapSeq, readKey, useTable } from "./mpack_keys.ts";
import { skipValue } from "./msgpack_scan.ts";

/** Records larger than this are left to the decoder. */
const FAST_MAX_RECORD = 4 * 1024 * 1024;
const defaultKeys = new KeyTable();
// The walk's state lives in module variables (one record at a time, never re-entered).
let src: Uint8Array = new Uint8Array(0);
let keys: KeyTable = defaultKeys;

function u32(p: number): number {
  return ((src[p] << 24) >>> 0) + ((src[p + 1] << 16) | (src[p + 2] << 8) | src[p + 3]);
}

/** Starts a record in `b`; returns the offset of `b` in the buffer the walk reads (positions are shifted by it). */
function begin(b: Uint8Array, table: KeyTable): number {
  useTable(table);
  keys = table;
  if (src.buffer !== b.buffer) {
    src = new Uint8Array(b.buffer);
  }
  return b.byteOffset;
}

/**
 * A node of the tree of key paths met so far, as `list` keeps it: see
 * cli/list.ts. Declared here so that the byte walk can extend the tree.
 */
export interface PathNode {
  /** The path's text as mpacklog joins it. */
  path: string;
  /** True once this path was met as a leaf (and added to `seen`). */
  known: boolean;
  /** Children by key, created on first use. */
  children?: Map<string, PathNode>;
  /** The children by key id of a {@linkcode KeyTable} (a cache of `children`), and that table's generation. */
  byId?: (PathNode | undefined)[];
  /** The {@linkcode KeyTable.generation} `byId` belongs to. */
  byIdGeneration?: number;
}

function mapHeader(p: number): number {
  const t = src[p];
  if (t >= 0x80 && t <= 0x8f) return t & 0x0f;
  if (t === 0xde) return (src[p + 1] << 8) | src[p + 2];
  if (t === 0xdf) return u32(p + 1);
  return -1;
}

function mapBody(p: number): number {
  const t = src[p];
  return t <= 0x8f ? p + 1 : t === 0xde ? p + 3 : p + 5;
}

/** Leaf nodes met in the record being walked, not yet known: marked only once the whole record is read. */
const leaves: PathNode[] = [];

/**
 * The key skeleton of the last record the walk took whole, for
 * {@linkcode sameSkeleton}: in walk order, the raw bytes of every map header
 * and key, and 0xc1 (a byte MessagePack never uses) for every value that is
 * not a map. Records of one writer mostly repeat it.
 */
let skel = new Uint8Array(1024);
let skelLen = -1; // -1: none
let sp = 0;
/** The tree and set the skeleton's leaves were added to. */
let skelRoot: PathNode | undefined;
let skelSeen: Set<string> | undefined;

function skelPut(p: number, e: number): void {
  for (let i = p; i < e; i++) skel[sp++] = src[i];
}

function walkPaths(p: number, n: number, node: PathNode, depth: number): number {
  const children = node.children ??= new Map();
  let byId = node.byId;
  if (byId === undefined || node.byIdGeneration !== keys.generation) {
    byId = node.byId = [];
    node.byIdGeneration = keys.generation;
  }
  const seq = nextMapSeq();
  let prev = -1;
  for (let i = 0; i < n; i++) {
    const k0 = p;
    p = readKey(src, keys, p, depth, seq, prev);
    if (p < 0) return -1;
    skelPut(k0, p);
    prev = keyId;
    let child = byId[keyId];
    if (child === undefined) {
      const k = keys.text[keyId];
      child = children.get(k);
      if (child === undefined) {
        child = { path: node.path ? node.path + "/" + k : k, known: false };
        children.set(k, child);
      }
      byId[keyId] = child;
    }
    const m = mapHeader(p);
    if (m >= 0) {
      const body = mapBody(p);
      skelPut(p, body);
      p = walkPaths(body, m, child, depth + 1);
      if (p < 0) return -1;
      continue;
    }
    skel[sp++] = 0xc1;
    p = skipValue(src, p);
    if (!child.known) leaves.push(child);
  }
  return p;
}

/**
 * The end of the map body at `p` (`n` entries) when its keys and nesting are
 * the skeleton's from `sp` on, else -1: then the record has no path the
 * skeleton's record did not have, and nothing to add.
 */
function sameSkeleton(p: number, n: number): number {
  const b = src;
  const s = skel;
  for (let i = 0; i < n; i++) {
    const t = b[p];
    let len: number;
    if (t >= 0xa0 && t <= 0xbf) len = 1 + (t & 0x1f);
    else if (t === 0xd9) len = 2 + b[p + 1];
    else if (t === 0xda) len = 3 + ((b[p + 1] << 8) | b[p + 2]);
    else return -1;
    if (sp + len > skelLen) return -1;
    for (let j = 0; j < len; j++) if (s[sp + j] !== b[p + j]) return -1;
    sp += len;
    p += len;
    const v = b[p];
    if (v === 0xcb) {
      if (s[sp++] !== 0xc1) return -1;
      p += 9;
      continue;
    }
    const m = mapHeader(p);
    if (m < 0) {
      if (s[sp++] !== 0xc1) return -1;
      p = skipValue(b, p);
      continue;
    }
    const body = mapBody(p);
    if (sp + body - p > skelLen) return -1;
    for (let j = p; j < body; j++) if (s[sp++] !== b[j]) return -1;
    p = sameSkeleton(body, m);
    if (p < 0) return -1;
  }
  return p;
}

/**
 * For `list`: appends to `newPaths` the leaf paths of the record at `b[p, e)`
 * not in `seen`, adding them to `seen` and to the tree at `root`, as
 * `collectNewPaths` of cli/list.ts does for the decoded record. Returns false,
 * with `seen`, `newPaths` and every node's `known` untouched, when the record
 * needs the decoder (the tree may have gained nodes, which the decoded walk
 * would create alike). The bytes must have passed the `.mpack` reader's
 * structural check.
 */
export function collectRecordPaths(
  b: Uint8Array,
  p: number,
  e: number,
  root: PathNode,
  seen: Set<string>,
  newPaths: string[],
  table: KeyTable = defaultKeys,
): boolean {
  if (e - p > FAST_MAX_RECORD) return false;
  const base = begin(b, table);
  p += base;
  e += base;
  const n = mapHeader(p);
  if (n < 0) return false;
  const body = mapBody(p);
  // The same keys as the last record taken whole: all its leaves are in `seen` already (which only grows).
  if (skelLen >= 0 && root === skelRoot && seen === skelSeen) {
    sp = 0;
    let same = body - p <= skelLen;
    for (let j = p; same && j < body; j++) same = skel[sp++] === src[j];
    if (same && sameSkeleton(body, n) === e && sp === skelLen) return true;
  }
  // The skeleton is at most as long as the record: keys and headers are copied, and a 1-byte marker stands for
  // each other value (at least 1 byte).
  if (skel.length < e - p) skel = new Uint8Array(Math.max(e - p, skel.length * 2));
  skelLen = -1;
  sp = 0;
  skelPut(p, body);
  leaves.length = 0;
  const end = walkPaths(body, n, root, 0);
  if (end !== e) {
    leaves.length = 0;
    return false;
  }
  skelLen = sp;
  skelRoot = root;
  skelSeen = seen;
  for (let i = 0; i < leaves.length; i++) {
    const node = leaves[i];
    node.known = true;
    if (!seen.has(node.path)) {
      seen.add(node.path);
      newPaths.push(node.path);
    }
  }
  leaves.length = 0;
  return true;
}
