import { createReadStream } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import {
  type DecompressHandlers,
  type IReadable,
  MCAP_MAGIC,
  McapIndexedReader,
  McapStreamReader,
  type McapTypes,
} from '@mcap/core';
import { decompressHandlers } from './codec.js';
import { type ChannelRole, channelRole, selected } from './convention.js';

/** A recording that cannot be read at all. `code`: 'not-mcap' | 'unreadable'. */
export class RecordingError extends Error {
  override readonly name = 'RecordingError';
  constructor(
    readonly code: 'not-mcap' | 'unreadable',
    message: string,
  ) {
    super(message);
  }
}

/** One publish rebuilt from its parts. `param` holds the bytes as received (JSON text when `paramIsJson`). */
export interface RecordedPublish {
  url: string;
  quick: boolean;
  logTime: bigint;
  publishTime: bigint;
  param?: Buffer;
  paramIsJson: boolean;
  data?: Buffer;
}

export interface Damage {
  /** What went wrong, for a person. */
  reason: string;
  /** Bytes of the file that could be read (the rest is lost). */
  readableBytes: number;
}

type Channel = McapTypes.TypedMcapRecords['Channel'];
type Message = McapTypes.TypedMcapRecords['Message'];
type Metadata = McapTypes.TypedMcapRecords['Metadata'];

class FileReadable implements IReadable {
  constructor(
    private readonly fh: FileHandle,
    private readonly bytes: number,
  ) {}
  async size(): Promise<bigint> {
    return BigInt(this.bytes);
  }
  async read(offset: bigint, size: bigint): Promise<Uint8Array> {
    const buffer = Buffer.alloc(Number(size));
    const { bytesRead } = await this.fh.read(buffer, 0, buffer.length, Number(offset));
    if (bytesRead !== buffer.length) throw new Error(`short read at ${offset}`);
    return buffer;
  }
}

/** A streaming pass over the file, record by record, stopping cleanly at the first damage. */
export interface StreamPass {
  channels: Map<number, Channel>;
  metadata: Metadata[];
  damage: Damage | undefined;
}

/**
 * An MCAP file opened for reading. A complete file is read through its index; a file without a
 * valid summary (recorder killed, disk full, copy cut short) is read from the start up to the
 * damage, which `damage` then describes.
 */
export class Recording {
  /** Set once known: at open for a missing summary, or when a pass meets damage. */
  damage: Damage | undefined;

  private constructor(
    readonly path: string,
    readonly size: number,
    private readonly fh: FileHandle,
    private readonly handlers: DecompressHandlers,
    readonly indexed: McapIndexedReader | undefined,
  ) {}

  static async open(path: string): Promise<Recording> {
    let fh: FileHandle;
    try {
      fh = await open(path, 'r');
    } catch (error) {
      throw new RecordingError(
        'unreadable',
        `cannot open ${path}: ${(error as NodeJS.ErrnoException).code ?? error}`,
      );
    }
    try {
      const size = (await fh.stat()).size;
      const magic = Buffer.alloc(MCAP_MAGIC.length);
      const { bytesRead } = await fh.read(magic, 0, magic.length, 0);
      if (bytesRead < magic.length || !magic.equals(Buffer.from(MCAP_MAGIC))) {
        throw new RecordingError(
          'not-mcap',
          `${path} is not an MCAP file (it does not start with the MCAP magic)`,
        );
      }
      const handlers = await decompressHandlers();
      let indexed: McapIndexedReader | undefined;
      let damage: Damage | undefined;
      try {
        indexed = await McapIndexedReader.Initialize({
          readable: new FileReadable(fh, size),
          decompressHandlers: handlers,
        });
      } catch (error) {
        damage = { reason: `no valid summary (${(error as Error).message})`, readableBytes: 0 };
      }
      const recording = new Recording(path, size, fh, handlers, indexed);
      recording.damage = damage;
      return recording;
    } catch (error) {
      await fh.close();
      throw error;
    }
  }

  async close(): Promise<void> {
    await this.fh.close();
  }

  /**
   * Reads the file from its start, yielding each message with its channel, until its end or the
   * first damage (then `pass.damage` says what and where). Memory: one read buffer and one chunk.
   */
  async *stream(pass: StreamPass): AsyncGenerator<{ message: Message; channel: Channel }, void, undefined> {
    const reader = new McapStreamReader({ decompressHandlers: this.handlers, validateCrcs: true });
    let fed = 0;
    const fail = (reason: string): void => {
      pass.damage = { reason, readableBytes: Math.max(0, fed - reader.bytesRemaining()) };
      this.damage = pass.damage;
    };
    const stream = createReadStream(this.path, { highWaterMark: 1024 * 1024 });
    try {
      outer: for await (const chunk of stream as AsyncIterable<Buffer>) {
        reader.append(chunk);
        fed += chunk.length;
        for (;;) {
          let record: McapTypes.TypedMcapRecord | undefined;
          try {
            record = reader.nextRecord();
          } catch (error) {
            fail(`damaged data: ${(error as Error).message}`);
            break outer;
          }
          if (!record) break;
          if (record.type === 'Channel') pass.channels.set(record.id, record);
          else if (record.type === 'Metadata') pass.metadata.push(record);
          else if (record.type === 'Message') {
            const channel = pass.channels.get(record.channelId);
            if (channel) yield { message: record, channel };
          }
          if (reader.done()) break outer;
        }
      }
      if (!pass.damage && !reader.done())
        fail('the file ends early (truncated: the recorder did not finish it)');
    } finally {
      stream.destroy();
    }
  }

  /**
   * The publishes in log-time order, their parts joined again. `startTime` (ns) skips earlier
   * ones; `topics` selects urls (a url, or a prefix ending in '/').
   */
  async *publishes(
    options: { startTime?: bigint; topics?: readonly string[] } = {},
  ): AsyncGenerator<RecordedPublish, void, undefined> {
    let current: RecordedPublish | undefined;
    const roles = new Map<number, ChannelRole | undefined>();
    const roleOf = (channel: Channel): ChannelRole | undefined => {
      if (!roles.has(channel.id)) {
        const role = channelRole(channel.topic, channel.metadata);
        roles.set(channel.id, role && selected(role.url, options.topics) ? role : undefined);
      }
      return roles.get(channel.id);
    };
    const add = (message: Message, role: ChannelRole): RecordedPublish | undefined => {
      let done: RecordedPublish | undefined;
      if (current && (current.logTime !== message.logTime || current.url !== role.url)) {
        done = current;
        current = undefined;
      }
      current ??= {
        url: role.url,
        quick: role.quick,
        logTime: message.logTime,
        publishTime: message.publishTime,
        paramIsJson: false,
      };
      const bytes = Buffer.from(message.data.buffer, message.data.byteOffset, message.data.byteLength);
      if (role.kind === 'data') {
        if (bytes.length > 0) current.data = bytes;
      } else {
        current.param = bytes;
        current.paramIsJson = role.kind === 'param';
      }
      return done;
    };
    const start = options.startTime ?? 0n;
    if (this.indexed && !this.damage) {
      const topics = [...this.indexed.channelsById.values()].filter((c) => roleOf(c)).map((c) => c.topic);
      if (topics.length === 0) return;
      try {
        for await (const message of this.indexed.readMessages({ startTime: start, topics })) {
          const channel = this.indexed.channelsById.get(message.channelId);
          const role = channel && roleOf(channel);
          if (!role) continue;
          const done = add(message, role);
          if (done) yield done;
        }
      } catch (error) {
        this.damage = { reason: `damaged data: ${(error as Error).message}`, readableBytes: 0 };
      }
    } else {
      const pass: StreamPass = { channels: new Map(), metadata: [], damage: undefined };
      for await (const { message, channel } of this.stream(pass)) {
        const role = message.logTime >= start ? roleOf(channel) : undefined;
        const done = role && add(message, role);
        if (done) yield done;
      }
    }
    if (current) yield current;
  }
}

/** Opens an MCAP file for reading (see Recording). */
export function openRecording(path: string): Promise<Recording> {
  return Recording.open(path);
}
