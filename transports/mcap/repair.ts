/**
 * Finishing an MCAP file whose writer died before its footer: what is whole
 * (every complete chunk) is copied into a new, indexed file beside it, which
 * then replaces it (rename), so indexed readers open it.
 *
 * @module
 */
import { dirname } from "node:path";
import { type McapCompression, McapEncoder } from "../../codecs/mcap.ts";
import { type McapWalkEnd, walkMcap } from "../../codecs/mcap_read.ts";
import { syncDir } from "../../core/path_template.ts";

const MAGIC = new Uint8Array([0x89, 0x4d, 0x43, 0x41, 0x50, 0x30, 0x0d, 0x0a]);

/** True when the file ends with the MCAP magic (its footer was written). */
export async function hasFooter(path: string): Promise<boolean> {
  const file = await Deno.open(path, { read: true });
  try {
    const size = (await file.stat()).size;
    if (size < 2 * MAGIC.length) return false;
    const tail = new Uint8Array(MAGIC.length);
    await file.seek(size - MAGIC.length, Deno.SeekMode.Start);
    for (let at = 0; at < tail.length;) {
      const n = await file.read(tail.subarray(at));
      if (n === null) return false;
      at += n;
    }
    return tail.every((b, i) => b === MAGIC[i]);
  } finally {
    file.close();
  }
}

/** What {@linkcode finishTornMcap} did. */
export interface McapRepair {
  /** Messages kept. */
  messages: number;
  /** Bytes of the torn file. */
  tornBytes: number;
  /** Bytes of the finished file. */
  bytes: number;
  /** Why the walk stopped before the end of the bytes, if it did on an error. */
  error?: string;
}

/** Writes all of `data` to `file`. */
export async function writeAll(file: Deno.FsFile, data: Uint8Array): Promise<void> {
  for (let off = 0; off < data.length;) {
    const n = await file.write(data.subarray(off));
    if (n <= 0) throw new Error("write made no progress");
    off += n;
  }
}

/**
 * Rewrites a torn MCAP file (no footer) as a complete, indexed one with the same schemas, channels and messages
 * (log times and sequence numbers kept), up to its last whole chunk. Returns undefined when the file has its
 * footer already; throws, leaving the file as it is, when not one message of it can be read for an error (a
 * foreign file).
 */
export async function finishTornMcap(path: string, compression: McapCompression): Promise<McapRepair | undefined> {
  if (await hasFooter(path)) return undefined;
  const tornBytes = (await Deno.stat(path)).size;
  const tmp = `${path}.repair`;
  const out = await Deno.open(tmp, { write: true, create: true, truncate: true });
  const enc = new McapEncoder({ compression });
  let end: McapWalkEnd | undefined;
  try {
    await writeAll(out, enc.start());
    const schemas = new Map<number, { name: string; encoding: string; data: Uint8Array }>();
    const channels = new Map<number, number>();
    for await (const r of walkMcap(path, (e) => end = e)) {
      if (r.type === "Schema") schemas.set(r.id, { name: r.name, encoding: r.encoding, data: r.data });
      else if (r.type === "Channel") {
        channels.set(r.id, enc.addChannel(r.topic, r.messageEncoding, schemas.get(r.schemaId), r.metadata));
      } else if (r.type === "Message") {
        const ch = channels.get(r.channelId);
        if (ch === undefined) continue; // cannot be: a channel precedes its messages
        enc.addMessage(ch, r.logTime, r.data, r.sequence);
        if (enc.pendingBytes >= 1 << 20) await writeAll(out, enc.flush());
      }
    }
    await writeAll(out, enc.end());
    await out.syncData();
  } finally {
    out.close();
  }
  if (end?.error !== undefined && enc.messages === 0 && tornBytes > 0) {
    // Nothing of it could be read: it is not (or no longer) an MCAP file; leave it as it is.
    await Deno.remove(tmp);
    throw new Error(`${path} is not an MCAP file (${end.error}); left as it is`);
  }
  await Deno.rename(tmp, path);
  await syncDir(dirname(path));
  return { messages: enc.messages, tornBytes, bytes: enc.position, error: end?.error };
}
