/**
 * Test data for benchmarks: 20-key robot telemetry dictionaries (~270 B as
 * MessagePack), written as an mpacklog file.
 *
 * @module
 */
import { telemetryDict } from "../transports/generator/input.ts";
import { encodeMsgpack } from "../codecs/msgpack.ts";
import type { Dict } from "../core/record.ts";
import { mulberry32 } from "../core/random.ts";

/** `n` telemetry dictionaries with 20 keys each. */
export function telemetry(n: number, keys = 20): Dict[] {
  const random = mulberry32(42);
  const out: Dict[] = [];
  for (let i = 0; i < n; i++) out.push(telemetryDict(i, 1_700_000_000 + i / 1000, keys, random));
  return out;
}

/** Writes `n` records to `path` in 4 MiB chunks; returns the file size. */
export async function writeTelemetryLog(path: string, n: number, keys = 20): Promise<number> {
  const f = await Deno.open(path, { write: true, create: true, truncate: true });
  const random = mulberry32(42);
  let size = 0;
  let parts: Uint8Array[] = [];
  let partBytes = 0;
  const flush = async () => {
    const buf = new Uint8Array(partBytes);
    let o = 0;
    for (const p of parts) buf.set(p, o), o += p.length;
    for (let w = 0; w < buf.length;) w += await f.write(buf.subarray(w));
    size += buf.length;
    parts = [];
    partBytes = 0;
  };
  for (let i = 0; i < n; i++) {
    const b = encodeMsgpack(telemetryDict(i, 1_700_000_000 + i / 1000, keys, random));
    parts.push(b);
    partBytes += b.length;
    if (partBytes > 4 << 20) await flush();
  }
  await flush();
  f.close();
  return size;
}
