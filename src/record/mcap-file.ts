import { type FileHandle, open } from 'node:fs/promises';
import { type IWritable, McapWriter } from '@mcap/core';
import type { CompressChunk } from './codec.js';
import { channelMetadata, EVENTS_TOPIC, type PartKind, RAW_ENCODING, topicOf } from './convention.js';
import { inferSchema } from './schema.js';

/** Appends to an open file, tracking the position (the writer awaits each write). */
class FileWritable implements IWritable {
  private offset = 0n;
  constructor(private readonly fh: FileHandle) {}

  async write(buffer: Uint8Array): Promise<void> {
    let done = 0;
    while (done < buffer.byteLength) {
      const { bytesWritten } = await this.fh.write(buffer, done, buffer.byteLength - done, null);
      done += bytesWritten;
    }
    this.offset += BigInt(buffer.byteLength);
  }

  position(): bigint {
    return this.offset;
  }
}

export interface McapFileOptions {
  compressChunk: CompressChunk | undefined;
  chunkSize: number;
  library: string;
  /** Refuse to replace an existing file (open with O_EXCL). */
  exclusive: boolean;
}

const textEncoder = new TextEncoder();

/**
 * One MCAP file being written: channels are registered on first use (one per url, part and
 * quick flag; the JSON schema comes from the first param). Calls must be awaited one at a time
 * (McapWriter's rule); the recorder's queue does that.
 */
export class McapFile {
  private readonly channels = new Map<string, number>();
  private eventsChannel: number | undefined;
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    private readonly writable: FileWritable,
    private readonly writer: McapWriter,
  ) {}

  static async create(path: string, options: McapFileOptions): Promise<McapFile> {
    const fh = await open(path, options.exclusive ? 'wx' : 'w', 0o644);
    const writable = new FileWritable(fh);
    const writer = new McapWriter({
      writable,
      chunkSize: options.chunkSize,
      ...(options.compressChunk ? { compressChunk: options.compressChunk } : {}),
    });
    try {
      await writer.start({ profile: '', library: options.library });
    } catch (error) {
      await fh.close();
      throw error;
    }
    return new McapFile(path, fh, writable, writer);
  }

  /** Bytes on disk so far (the open chunk is not counted until it is written). */
  get size(): number {
    return Number(this.writable.position());
  }

  private async channel(url: string, kind: PartKind, quick: boolean, value: unknown): Promise<number> {
    const key = `${quick ? 'q' : 'n'}${kind}\u0000${url}`;
    const known = this.channels.get(key);
    if (known !== undefined) return known;
    let schemaId = 0;
    if (kind === 'param') {
      schemaId = await this.writer.registerSchema({
        name: url,
        encoding: 'jsonschema',
        data: textEncoder.encode(JSON.stringify(inferSchema(value, url))),
      });
    }
    const id = await this.writer.registerChannel({
      topic: topicOf(url, kind),
      messageEncoding: kind === 'param' ? 'json' : RAW_ENCODING,
      schemaId,
      metadata: channelMetadata(url, kind, quick),
    });
    this.channels.set(key, id);
    return id;
  }

  /** One part of a publish. `value` is the parsed param (for the schema of a new channel). */
  async addPart(
    url: string,
    kind: PartKind,
    quick: boolean,
    bytes: Uint8Array,
    logTime: bigint,
    publishTime: bigint,
    sequence: number,
    value?: unknown,
  ): Promise<void> {
    const channelId = await this.channel(url, kind, quick, value);
    await this.writer.addMessage({ channelId, sequence, logTime, publishTime, data: bytes });
  }

  /** A recorder event (connect, disconnect, drops) on the events topic. */
  async addEvent(event: Record<string, unknown>, logTime: bigint): Promise<void> {
    if (this.eventsChannel === undefined) {
      const schemaId = await this.writer.registerSchema({
        name: 'vsoa-recorder/event',
        encoding: 'jsonschema',
        data: textEncoder.encode(
          JSON.stringify({
            type: 'object',
            properties: {
              event: { type: 'string' },
              server: { type: 'string' },
              dropped: { type: 'number' },
            },
          }),
        ),
      });
      this.eventsChannel = await this.writer.registerChannel({
        topic: EVENTS_TOPIC,
        messageEncoding: 'json',
        schemaId,
        metadata: new Map([['vsoa.part', 'event']]),
      });
    }
    await this.writer.addMessage({
      channelId: this.eventsChannel,
      sequence: 0,
      logTime,
      publishTime: logTime,
      data: textEncoder.encode(JSON.stringify(event)),
    });
  }

  async addMetadata(name: string, values: Record<string, string>): Promise<void> {
    await this.writer.addMetadata({ name, metadata: new Map(Object.entries(values)) });
  }

  /** Writes the last chunk, the summary and the footer, and closes the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.writer.end();
      await this.fh.sync();
    } finally {
      await this.fh.close();
    }
  }

  /** Closes without a summary (after a write error): what is on disk stays readable to its last chunk. */
  async abandon(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.fh.close().catch(() => {});
  }
}
