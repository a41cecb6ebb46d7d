/**
 * `convert IN OUT [--streams GLOB]…`: between `.mpack` logs and `.mcap`
 * recordings, by extension (either way, or one to the same kind to filter or
 * recompress). Records keep their maps (every key, `seq` included), their
 * times and their streams:
 *
 * - from `.mpack`: the stream is `--stream` (default: IN's name without its
 *   extension) or the string under `--stream-key`; the time is the number
 *   (seconds) under `--time-key` (default `time`), else the time before.
 * - to `.mcap`: one channel per stream; `--encoding json` (default; a JSON
 *   Schema per channel) or `msgpack` (the map's bytes as read, every value
 *   exact); log time = the record's time.
 * - to `.mpack`: each map as its MessagePack bytes (as read when they were
 *   MessagePack), with the stream under `--stream-key` when given.
 *
 * OUT is written beside (`OUT.part`) and renamed when complete.
 *
 * @module
 */
import { basename, extname } from "node:path";
import { parseOrUsage } from "./args.ts";
import { writeStderrLine } from "./dump.ts";
import type { Dict } from "../core/record.ts";
import { secondsToNs } from "../core/record.ts";
import { globMatcher } from "../core/glob.ts";
import { MpackStreamReader } from "../codecs/mpack_stream.ts";
import { encodeRecordMsgpack } from "../codecs/msgpack.ts";
import { toCompactJson } from "../codecs/json_compact.ts";
import { recordJsonSchema } from "../codecs/json_schema.ts";
import { MCAP_COMPRESSIONS, type McapCompression, McapEncoder } from "../codecs/mcap.ts";
import { readMcapRecords } from "../codecs/mcap_read.ts";

const USAGE = `usage: telebus convert IN OUT [--streams GLOB]… [options]

Converts between .mpack logs and .mcap recordings, by extension.
  --streams GLOB         only these streams (repeatable; * matches any run, / included)
  --stream NAME          stream of the records of an .mpack IN (default: IN's name without extension)
  --stream-key KEY       the stream is in this key of each .mpack map (read from IN, written to OUT)
  --time-key KEY         key of the time in seconds in an .mpack IN (default: time)
  --encoding E           json (default) or msgpack: message encoding of an .mcap OUT
  --compression C        zstd (default), lz4 or none: chunks of an .mcap OUT
  --force                replace OUT if it exists
  -h, --help             show this help`;

/** One record on its way through convert. */
interface Item {
  stream: string;
  time: bigint;
  data: Dict;
  /** The map's MessagePack bytes when the source had them. */
  msgpack?: Uint8Array;
}

/** How the records of IN are read. */
interface ReadOptions {
  stream: string;
  streamKey?: string;
  timeKey: string;
  warn(line: string): void;
}

async function* readMpack(path: string, o: ReadOptions): AsyncGenerator<Item> {
  const reader = new MpackStreamReader();
  let time = 0n;
  const file = await Deno.open(path, { read: true });
  const buf = new Uint8Array(1 << 20);
  try {
    for (let done = false; !done;) {
      const n = await file.read(buf);
      if (n === null) done = true;
      else reader.push(buf.slice(0, n));
      for (let it = done ? reader.finish() : reader.next(); it; it = reader.next()) {
        if (it.kind === "garbage") {
          o.warn(`${path}:${it.start}: skipped ${it.length} bytes (${it.reason})`);
          continue;
        }
        const data = it.value;
        const t = data[o.timeKey];
        if (typeof t === "number" && Number.isFinite(t)) time = secondsToNs(t);
        const s = o.streamKey === undefined ? undefined : data[o.streamKey];
        yield { stream: typeof s === "string" ? s : o.stream, time, data, msgpack: it.raw };
      }
    }
  } finally {
    file.close();
  }
}

async function* readMcap(path: string, o: ReadOptions): AsyncGenerator<Item> {
  for await (
    const r of readMcapRecords(path, (e) => {
      if (!e.complete) {
        o.warn(
          `${path}: the file ends without its summary${
            e.error ? ` (${e.error})` : ""
          }: read up to its last whole chunk`,
        );
      }
    })
  ) {
    yield { stream: r.stream, time: r.time, data: r.data, msgpack: r.encoding === "msgpack" ? r.raw : undefined };
  }
}

/** Writes records somewhere; `end` completes the file. */
interface Sink {
  add(item: Item): Promise<void>;
  end(): Promise<void>;
}

async function writeAll(file: Deno.FsFile, data: Uint8Array): Promise<void> {
  for (let off = 0; off < data.length;) off += await file.write(data.subarray(off));
}

const encoder = new TextEncoder();

function mcapSink(file: Deno.FsFile, encoding: "json" | "msgpack", compression: McapCompression): Sink {
  const enc = new McapEncoder({ compression });
  const channels = new Map<string, number>();
  let started = false;
  return {
    async add(it) {
      if (!started) {
        started = true;
        await writeAll(file, enc.start());
      }
      let ch = channels.get(it.stream);
      if (ch === undefined) {
        ch = encoding === "json"
          ? enc.addChannel(it.stream, "json", {
            name: it.stream,
            encoding: "jsonschema",
            data: encoder.encode(JSON.stringify(recordJsonSchema(it.data, it.stream))),
          })
          : enc.addChannel(it.stream, "msgpack");
        channels.set(it.stream, ch);
      }
      const bytes = encoding === "json"
        ? encoder.encode(toCompactJson(it.data))
        : it.msgpack ?? encodeRecordMsgpack(it.data);
      enc.addMessage(ch, it.time < 0n ? 0n : it.time, bytes);
      if (enc.pendingBytes >= 1 << 20) await writeAll(file, enc.flush());
    },
    async end() {
      if (!started) await writeAll(file, enc.start());
      await writeAll(file, enc.end());
    },
  };
}

function mpackSink(file: Deno.FsFile, streamKey: string | undefined): Sink {
  let parts: Uint8Array[] = [];
  let length = 0;
  const flush = async () => {
    const buf = new Uint8Array(length);
    let o = 0;
    for (const p of parts) buf.set(p, o), o += p.length;
    parts = [];
    length = 0;
    await writeAll(file, buf);
  };
  return {
    async add(it) {
      let b: Uint8Array;
      if (streamKey !== undefined && it.data[streamKey] !== it.stream) {
        b = encodeRecordMsgpack({ [streamKey]: it.stream, ...it.data });
      } else b = it.msgpack ?? encodeRecordMsgpack(it.data);
      parts.push(b);
      length += b.length;
      if (length >= 1 << 20) await flush();
    },
    end: flush,
  };
}

function kindOf(path: string): "mpack" | "mcap" | undefined {
  const ext = extname(path).toLowerCase();
  return ext === ".mpack" ? "mpack" : ext === ".mcap" ? "mcap" : undefined;
}

/** Runs `convert` with the arguments after the command name; returns the exit code (0, 1 on failure, 2 on bad arguments). */
export async function convertCommand(args: string[]): Promise<number> {
  const a = parseOrUsage(args, {
    streams: { type: "string", multiple: true },
    stream: { type: "string" },
    "stream-key": { type: "string" },
    "time-key": { type: "string" },
    encoding: { type: "string" },
    compression: { type: "string" },
    force: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  }, USAGE);
  if (!a) return 2;
  if (a.values.help) {
    console.log(USAGE);
    return 0;
  }
  const bad = (msg: string) => (console.error(`telebus convert: ${msg}\n\n${USAGE}`), 2);
  if (a.positionals.length !== 2) return bad("IN and OUT are required");
  const [input, output] = a.positionals;
  const from = kindOf(input), to = kindOf(output);
  if (!from || !to) return bad("IN and OUT must end in .mpack or .mcap");
  const encoding = (a.values.encoding as string | undefined) ?? "json";
  if (encoding !== "json" && encoding !== "msgpack") return bad(`unknown encoding '${encoding}' (json or msgpack)`);
  const compression = (a.values.compression as string | undefined) ?? "zstd";
  if (!(MCAP_COMPRESSIONS as readonly string[]).includes(compression)) {
    return bad(`unknown compression '${compression}' (${MCAP_COMPRESSIONS.join(", ")})`);
  }
  const globs = (a.values as Record<string, unknown>).streams as string[] | undefined;
  const selected = globMatcher(globs);
  const streamKey = a.values["stream-key"] as string | undefined;
  const opts: ReadOptions = {
    stream: (a.values.stream as string | undefined) ?? basename(input, extname(input)),
    streamKey,
    timeKey: (a.values["time-key"] as string | undefined) ?? "time",
    warn: writeStderrLine,
  };
  if (!a.values.force) {
    try {
      await Deno.lstat(output);
      writeStderrLine(`telebus convert: '${output}' exists (--force replaces it)`);
      return 1;
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
  const part = `${output}.part`;
  let file: Deno.FsFile;
  try {
    file = await Deno.open(part, { write: true, create: true, truncate: true });
  } catch (e) {
    writeStderrLine(`telebus convert: cannot write '${part}': ${(e as Error).message}`);
    return 1;
  }
  let records = 0;
  const streams = new Set<string>();
  try {
    const sink = to === "mcap" ? mcapSink(file, encoding, compression as McapCompression) : mpackSink(file, streamKey);
    for await (const it of from === "mcap" ? readMcap(input, opts) : readMpack(input, opts)) {
      if (!selected(it.stream)) continue;
      await sink.add(it);
      records++;
      streams.add(it.stream);
    }
    await sink.end();
    await file.syncData();
  } catch (e) {
    file.close();
    await Deno.remove(part).catch(() => {});
    writeStderrLine(`telebus convert: ${(e as Error).message}`);
    return 1;
  }
  file.close();
  await Deno.rename(part, output);
  writeStderrLine(`telebus convert: ${records} records of ${streams.size} streams to ${output}`);
  return 0;
}
