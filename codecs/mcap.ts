/**
 * MCAP files (https://mcap.dev) written in chunks, without I/O: the encoder
 * hands back the bytes to append, so the caller decides when a chunk is
 * closed (the `mcap` output closes one at least every `flush_interval`, which
 * `@mcap/core`'s `McapWriter` cannot be told to do) and where the bytes go.
 * The records themselves are built by `@mcap/core`; chunk indexes, message
 * indexes, statistics and summary offsets are kept here, so that indexed
 * readers (`McapIndexedReader`, Foxglove, `mcap info`) open the file.
 *
 * @module
 */
import { McapChunkBuilder, McapRecordBuilder, type McapTypes } from "npm:@mcap/core@^2.2.2";
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

/** Compresses a chunk's records; the result and the name MCAP records for it. */
export function compressChunk(kind: McapCompression, data: Uint8Array): { compression: string; data: Uint8Array } {
  switch (kind) {
    case "zstd":
      // Level 1: a recorder must keep up; the ratio differs little on telemetry.
      return {
        compression: "zstd",
        data: zlib.zstdCompressSync(data, { params: { [zlib.constants.ZSTD_c_compressionLevel]: 1 } }),
      };
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
  readonly #chunk = new McapChunkBuilder({ useMessageIndex: true });
  readonly #schemas: McapTypes.Schema[] = [];
  readonly #channels: McapTypes.Channel[] = [];
  /** Channels whose Schema and Channel records are not yet in the data section. */
  readonly #unwritten = new Set<number>();
  readonly #sequences = new Map<number, number>();
  readonly #chunkIndexes: McapTypes.ChunkIndex[] = [];
  readonly #counts = new Map<number, bigint>();
  #messages = 0n;
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
    return this.#chunk.byteLength;
  }

  /** Messages in the open chunk. */
  get pendingMessages(): number {
    return this.#chunk.numMessages;
  }

  /** Messages added so far. */
  get messages(): number {
    return Number(this.#messages);
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
    return id;
  }

  /** Adds a message to the open chunk; `sequence` defaults to the channel's count of messages. */
  addMessage(channelId: number, logTime: bigint, data: Uint8Array, sequence?: number): void {
    if (this.#unwritten.has(channelId)) {
      this.#unwritten.delete(channelId);
      const channel = this.#channels[channelId - 1];
      if (channel.schemaId !== 0) this.#chunk.addSchema(this.#schemas[channel.schemaId - 1]);
      this.#chunk.addChannel(channel);
    }
    const seq = sequence ?? this.#sequences.get(channelId) ?? 0;
    this.#sequences.set(channelId, (seq + 1) >>> 0);
    this.#chunk.addMessage({ channelId, sequence: seq >>> 0, logTime, publishTime: logTime, data });
    if (this.#messages === 0n || logTime < this.#start) this.#start = logTime;
    if (this.#messages === 0n || logTime > this.#end) this.#end = logTime;
    this.#messages++;
    this.#counts.set(channelId, (this.#counts.get(channelId) ?? 0n) + 1n);
  }

  /** Closes the open chunk: the Chunk record and its message indexes (empty when the chunk is). */
  flush(): Uint8Array {
    const chunk = this.#chunk;
    if (chunk.numMessages === 0) return new Uint8Array(0);
    const raw = chunk.buffer;
    const { compression, data } = compressChunk(this.#compression, raw);
    const chunkStartOffset = this.#position;
    const chunkLength = this.#rb.writeChunk({
      messageStartTime: chunk.messageStartTime,
      messageEndTime: chunk.messageEndTime,
      uncompressedSize: BigInt(raw.length),
      uncompressedCrc: crc32(raw),
      compression,
      records: data,
    });
    const indexStart = chunkStartOffset + chunkLength;
    const messageIndexOffsets = new Map<number, bigint>();
    let messageIndexLength = 0n;
    for (const index of chunk.indices) {
      messageIndexOffsets.set(index.channelId, indexStart + messageIndexLength);
      messageIndexLength += this.#rb.writeMessageIndex(index);
    }
    this.#chunkIndexes.push({
      messageStartTime: chunk.messageStartTime,
      messageEndTime: chunk.messageEndTime,
      chunkStartOffset,
      chunkLength,
      messageIndexOffsets,
      messageIndexLength,
      compression,
      compressedSize: BigInt(data.byteLength),
      uncompressedSize: BigInt(raw.length),
    });
    chunk.reset();
    return this.#take();
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
        messageCount: this.#messages,
        schemaCount: this.#schemas.length,
        channelCount: this.#channels.length,
        attachmentCount: 0,
        metadataCount: 0,
        chunkCount: this.#chunkIndexes.length,
        messageStartTime: this.#start,
        messageEndTime: this.#end,
        channelMessageCounts: this.#counts,
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

  /** The builder's bytes as a copy, counted into the position and the data section's CRC. */
  #take(): Uint8Array {
    const b = this.#rb.buffer.slice();
    this.#rb.reset();
    this.#position += BigInt(b.length);
    this.#dataCrc = crc32Update(this.#dataCrc, b);
    return b;
  }
}

const OP_SCHEMA = 0x03;
const OP_CHANNEL = 0x04;
const OP_CHUNK_INDEX = 0x08;
const OP_STATISTICS = 0x0b;
const OP_FOOTER = 0x02;

/** Continues a CRC-32 over more bytes. */
function crc32Update(crc: number, data: Uint8Array): number {
  return zlib.crc32(data, crc);
}
