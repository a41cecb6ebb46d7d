/**
 * MCAP files (https://mcap.dev) written in chunks, without I/O: the encoder
 * hands back the bytes to append, so the caller decides when a chunk is
 * closed (the `mcap` output closes one at least every `flush_interval`, which
 * `@mcap/core`'s `McapWriter` cannot be told to do) and where the bytes go.
 * The records themselves are built by `@mcap/core`, except Message and
 * MessageIndex records, written here straight into one reused chunk buffer
 * (its `McapChunkBuilder` allocates an index entry, two bigints and a copy
 * per message, which a recorder of 100k+ messages/s feels); chunk indexes,
 * message indexes, statistics and summary offsets are kept here, so that
 * indexed readers (`McapIndexedReader`, Foxglove, `mcap info`) open the file.
 *
 * @module
 */
import { McapRecordBuilder, type McapTypes } from "npm:@mcap/core@^2.2.2";
import { ByteBuffer } from "./mpack_json.ts";
import lz4js from "npm:lz4js@^0.2.0";
import zlib from "node:zlib";

/** Chunk compressions the encoder writes and the readers read. */
export const MCAP_COMPRESSIONS = ["zstd", "lz4", "none"] as const;
/** One of {@linkcode MCAP_COMPRESSIONS}. */
export type McapCompression = typeof MCAP_COMPRESSIONS[number];

/** lz4js ships no types: the two functions used, as its README documents them. */
const lz4 = lz4js as unknown as {
  compress(data: Uint8Array): Uint8Array;
  decompress(data: Uint8Array, maxSize?: number): Uint8Array;
};

/** Decompressors of chunk records, for `McapStreamReader` and `McapIndexedReader`. */
export const MCAP_DECOMPRESS: McapTypes.DecompressHandlers = {
  zstd: (data) => new Uint8Array(zlib.zstdDecompressSync(data)),
  lz4: (data, size) => lz4.decompress(data, Number(size)),
};

/**
 * Level 1: a recorder must keep up (level 3 took twice the time for a 14 % smaller chunk of telemetry JSON; negative
 * levels were no faster and lost half the ratio). A 128 KiB window and a 4096-entry hash table instead of level 1's
 * 512 KiB and 8192 compress such a 1 MiB chunk about 35 % faster at the same ratio (matches in telemetry are within a
 * record or two) and fit the CPU caches.
 */
const ZSTD_OPTIONS = {
  params: {
    [zlib.constants.ZSTD_c_compressionLevel]: 1,
    [zlib.constants.ZSTD_c_windowLog]: 17,
    [zlib.constants.ZSTD_c_hashLog]: 12,
  },
};

/** Compresses a chunk's records; the result and the name MCAP records for it. */
export function compressChunk(kind: McapCompression, data: Uint8Array): { compression: string; data: Uint8Array } {
  switch (kind) {
    case "zstd":
      return { compression: "zstd", data: zlib.zstdCompressSync(data, ZSTD_OPTIONS) };
    case "lz4":
      return { compression: "lz4", data: lz4.compress(data) };
    default:
      return { compression: "", data };
  }
}

/** CRC-32 as MCAP uses it (zlib's, native). */
export function crc32(data: Uint8Array): number {
  return zlib.crc32(data);
}

/** A schema for {@linkcode McapEncoder.addChannel}. */
export interface McapSchemaInfo {
  /** Schema name. */
  name: string;
  /** Schema encoding, e.g. `jsonschema`. */
  encoding: string;
  /** Schema text as bytes. */
  data: Uint8Array;
}

/** Options of {@linkcode McapEncoder}. */
export interface McapEncoderOptions {
  /** Chunk compression (default `zstd`). */
  compression?: McapCompression;
  /** The header's profile (default empty: no profile). */
  profile?: string;
  /** The header's library (default `telebus`). */
  library?: string;
}

/**
 * Builds an MCAP file in order: {@linkcode McapEncoder.start}, channels and
 * messages (buffered in the open chunk), {@linkcode McapEncoder.flush} to
 * close the chunk, {@linkcode McapEncoder.end} for the summary and footer.
 * Each returns the bytes to append; nothing is written by the encoder.
 */
export class McapEncoder {
  readonly #compression: McapCompression;
  readonly #header: McapTypes.Header;
  readonly #rb = new McapRecordBuilder();
  /** Builds the Schema and Channel records copied into a chunk. */
  readonly #side = new McapRecordBuilder();
  /** The open chunk's records, uncompressed. */
  readonly #chunk = new ByteBuffer(1 << 16);
  #chunkView = new DataView(this.#chunk.bytes.buffer);
  #chunkMessages = 0;
  #chunkStart = 0n;
  #chunkEnd = 0n;
  /** Message index of the open chunk per channel (by id): log times and offsets in the chunk, in order. */
  readonly #indexTimes: bigint[][] = [];
  readonly #indexOffsets: number[][] = [];
  /** Channels with messages in the open chunk, in order of their first. */
  readonly #chunkChannels: number[] = [];
  readonly #schemas: McapTypes.Schema[] = [];
  readonly #channels: McapTypes.Channel[] = [];
  /** Channels whose Schema and Channel records are not yet in the data section. */
  readonly #unwritten = new Set<number>();
  /** Next sequence number and message count of each channel (by id). */
  readonly #sequences: number[] = [];
  readonly #counts: number[] = [];
  /** Channels with messages, in order of their first (the order of the statistics' counts). */
  readonly #counted: number[] = [];
  readonly #chunkIndexes: McapTypes.ChunkIndex[] = [];
  #messages = 0;
  #start = 0n;
  #end = 0n;
  #position = 0n;
  #dataCrc = 0;

  /** Creates an encoder; nothing is produced before {@linkcode McapEncoder.start}. */
  constructor(options: McapEncoderOptions = {}) {
    this.#compression = options.compression ?? "zstd";
    this.#header = { profile: options.profile ?? "", library: options.library ?? "telebus" };
  }

  /** Bytes produced so far. */
  get position(): number {
    return Number(this.#position);
  }

  /** Uncompressed bytes of the open chunk. */
  get pendingBytes(): number {
    return this.#chunk.length;
  }

  /** Messages in the open chunk. */
  get pendingMessages(): number {
    return this.#chunkMessages;
  }

  /** Messages added so far. */
  get messages(): number {
    return this.#messages;
  }

  /** The magic and the header record. */
  start(): Uint8Array {
    this.#rb.writeMagic();
    this.#rb.writeHeader(this.#header);
    return this.#take();
  }

  /** Registers a channel (and its schema, if any); returns its id. Its records go into the next chunk. */
  addChannel(topic: string, messageEncoding: string, schema?: McapSchemaInfo, metadata?: Map<string, string>): number {
    let schemaId = 0;
    if (schema) {
      schemaId = this.#schemas.length + 1;
      this.#schemas.push({ id: schemaId, ...schema });
    }
    const id = this.#channels.length + 1;
    this.#channels.push({ id, schemaId, topic, messageEncoding, metadata: metadata ?? new Map() });
    this.#unwritten.add(id);
    this.#sequences[id] = 0;
    this.#counts[id] = 0;
    this.#indexTimes[id] = [];
    this.#indexOffsets[id] = [];
    return id;
  }

  /** Adds a message to the open chunk; `sequence` defaults to the channel's count of messages. */
  addMessage(channelId: number, logTime: bigint, data: Uint8Array, sequence?: number): void {
    if (this.#unwritten.has(channelId)) {
      this.#unwritten.delete(channelId);
      const channel = this.#channels[channelId - 1];
      if (channel.schemaId !== 0) this.#side.writeSchema(this.#schemas[channel.schemaId - 1]);
      this.#side.writeChannel(channel);
      this.#appendChunk(this.#side.buffer);
      this.#side.reset();
    }
    const seq = sequence ?? this.#sequences[channelId];
    this.#sequences[channelId] = (seq + 1) >>> 0;
    const c = this.#chunk;
    const offset = c.length;
    if (this.#indexTimes[channelId].length === 0) this.#chunkChannels.push(channelId);
    this.#indexTimes[channelId].push(logTime);
    this.#indexOffsets[channelId].push(offset);
    // Message record: opcode, content length, channel id, sequence, log time, publish time, data.
    c.reserve(MESSAGE_HEAD + data.length);
    if (c.bytes.buffer !== this.#chunkView.buffer) this.#chunkView = new DataView(c.bytes.buffer);
    const v = this.#chunkView;
    v.setUint8(offset, OP_MESSAGE);
    // The u64 length as two u32 (no bigint per message); a message is far below 4 GiB.
    v.setUint32(offset + 1, MESSAGE_HEAD - 9 + data.length, true);
    v.setUint32(offset + 5, 0, true);
    v.setUint16(offset + 9, channelId, true);
    v.setUint32(offset + 11, seq >>> 0, true);
    v.setBigUint64(offset + 15, logTime, true);
    v.setBigUint64(offset + 23, logTime, true);
    c.bytes.set(data, offset + MESSAGE_HEAD);
    c.length = offset + MESSAGE_HEAD + data.length;
    if (this.#chunkMessages === 0 || logTime < this.#chunkStart) this.#chunkStart = logTime;
    if (this.#chunkMessages === 0 || logTime > this.#chunkEnd) this.#chunkEnd = logTime;
    this.#chunkMessages++;
    if (this.#messages === 0 || logTime < this.#start) this.#start = logTime;
    if (this.#messages === 0 || logTime > this.#end) this.#end = logTime;
    this.#messages++;
    if (this.#counts[channelId]++ === 0) this.#counted.push(channelId);
  }

  #appendChunk(bytes: Uint8Array): void {
    const c = this.#chunk;
    c.reserve(bytes.length);
    c.bytes.set(bytes, c.length);
    c.length += bytes.length;
  }

  /** The MessageIndex records of the open chunk (one per channel in it), emptying the indexes. */
  #messageIndexes(indexStart: bigint): { bytes: Uint8Array; offsets: Map<number, bigint> } {
    let size = 0;
    for (const id of this.#chunkChannels) size += 1 + 8 + 2 + 4 + 16 * this.#indexTimes[id].length;
    const bytes = new Uint8Array(size);
    const v = new DataView(bytes.buffer);
    const offsets = new Map<number, bigint>();
    let o = 0;
    for (const id of this.#chunkChannels) {
      const times = this.#indexTimes[id], at = this.#indexOffsets[id];
      offsets.set(id, indexStart + BigInt(o));
      v.setUint8(o, OP_MESSAGE_INDEX);
      v.setBigUint64(o + 1, BigInt(2 + 4 + 16 * times.length), true);
      v.setUint16(o + 9, id, true);
      v.setUint32(o + 11, 16 * times.length, true);
      o += 15;
      for (let i = 0; i < times.length; i++, o += 16) {
        v.setBigUint64(o, times[i], true);
        v.setUint32(o + 8, at[i], true); // an offset in a chunk buffer: below 4 GiB
        v.setUint32(o + 12, 0, true);
      }
      times.length = 0;
      at.length = 0;
    }
    this.#chunkChannels.length = 0;
    return { bytes, offsets };
  }

  /** Closes the open chunk: the Chunk record and its message indexes (empty when the chunk is). */
  flush(): Uint8Array {
    if (this.#chunkMessages === 0) return new Uint8Array(0);
    const raw = this.#chunk.bytes.subarray(0, this.#chunk.length);
    return this.#closeChunk(raw, compressChunk(this.#compression, raw));
  }

  #closeChunk(raw: Uint8Array, { compression, data }: { compression: string; data: Uint8Array }): Uint8Array {
    const chunkStartOffset = this.#position;
    const chunkLength = this.#rb.writeChunk({
      messageStartTime: this.#chunkStart,
      messageEndTime: this.#chunkEnd,
      uncompressedSize: BigInt(raw.length),
      uncompressedCrc: crc32(raw),
      compression,
      records: data,
    });
    const chunk = this.#take();
    const index = this.#messageIndexes(chunkStartOffset + chunkLength);
    this.#count(index.bytes);
    this.#chunkIndexes.push({
      messageStartTime: this.#chunkStart,
      messageEndTime: this.#chunkEnd,
      chunkStartOffset,
      chunkLength,
      messageIndexOffsets: index.offsets,
      messageIndexLength: BigInt(index.bytes.length),
      compression,
      compressedSize: BigInt(data.byteLength),
      uncompressedSize: BigInt(raw.length),
    });
    this.#chunk.length = 0;
    this.#chunkMessages = 0;
    const out = new Uint8Array(chunk.length + index.bytes.length);
    out.set(chunk);
    out.set(index.bytes, chunk.length);
    return out;
  }

  /** Closes the open chunk and writes DataEnd, the summary (schemas, channels, statistics, chunk indexes), its offsets and the footer. */
  end(): Uint8Array {
    const last = this.flush();
    const rb = this.#rb;
    // The data section's CRC covers everything before DataEnd.
    rb.writeDataEnd({ dataSectionCrc: this.#dataCrc });
    const dataEnd = this.#take();
    const summaryStart = this.#position;
    const offsets: McapTypes.SummaryOffset[] = [];
    const group = (opcode: number, write: () => void) => {
      const before = BigInt(rb.length);
      write();
      const length = BigInt(rb.length) - before;
      if (length > 0n) offsets.push({ groupOpcode: opcode, groupStart: summaryStart + before, groupLength: length });
    };
    group(OP_SCHEMA, () => this.#schemas.forEach((s) => rb.writeSchema(s)));
    group(OP_CHANNEL, () => this.#channels.forEach((c) => rb.writeChannel(c)));
    group(OP_STATISTICS, () =>
      rb.writeStatistics({
        messageCount: BigInt(this.#messages),
        schemaCount: this.#schemas.length,
        channelCount: this.#channels.length,
        attachmentCount: 0,
        metadataCount: 0,
        chunkCount: this.#chunkIndexes.length,
        messageStartTime: this.#start,
        messageEndTime: this.#end,
        channelMessageCounts: new Map(this.#counted.map((id) => [id, BigInt(this.#counts[id])])),
      }));
    group(OP_CHUNK_INDEX, () => this.#chunkIndexes.forEach((c) => rb.writeChunkIndex(c)));
    const summaryOffsetStart = summaryStart + BigInt(rb.length);
    for (const o of offsets) rb.writeSummaryOffset(o);
    // The footer's CRC covers the summary and the footer's own offsets (spec: "Footer").
    const footerHead = new Uint8Array(1 + 8 + 8 + 8);
    const view = new DataView(footerHead.buffer);
    footerHead[0] = OP_FOOTER;
    view.setBigUint64(1, 8n + 8n + 4n, true);
    view.setBigUint64(9, summaryStart, true);
    view.setBigUint64(17, summaryOffsetStart, true);
    const summaryCrc = crc32Update(crc32Update(0, rb.buffer), footerHead);
    rb.writeFooter({ summaryStart, summaryOffsetStart, summaryCrc });
    rb.writeMagic();
    const tail = this.#take();
    const out = new Uint8Array(last.length + dataEnd.length + tail.length);
    out.set(last);
    out.set(dataEnd, last.length);
    out.set(tail, last.length + dataEnd.length);
    return out;
  }

  /** The builder's bytes (a copy), counted into the position and the data section's CRC. */
  #take(): Uint8Array {
    const b = this.#rb.buffer; // already a copy
    this.#rb.reset();
    this.#count(b);
    return b;
  }

  /** Counts bytes produced into the position and the data section's CRC. */
  #count(b: Uint8Array): void {
    this.#position += BigInt(b.length);
    this.#dataCrc = crc32Update(this.#dataCrc, b);
  }
}

const OP_MESSAGE = 0x05;
const OP_MESSAGE_INDEX = 0x07;
/** Bytes of a Message record before its data: opcode, length, channel id, sequence, log and publish time. */
const MESSAGE_HEAD = 1 + 8 + 2 + 4 + 8 + 8;
const OP_SCHEMA = 0x03;
const OP_CHANNEL = 0x04;
const OP_CHUNK_INDEX = 0x08;
const OP_STATISTICS = 0x0b;
const OP_FOOTER = 0x02;

/** Continues a CRC-32 over more bytes. */
function crc32Update(crc: number, data: Uint8Array): number {
  return zlib.crc32(data, crc);
}
