import { mkdtempSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import decompressLz4 from '@foxglove/wasm-lz4';
import * as zstd from '@foxglove/wasm-zstd';
import { McapIndexedReader } from '@mcap/core';
import { onCleanup } from '../helpers/net.js';

/** A fresh directory, removed after the test. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vsoa-record-'));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface ReadMessage {
  topic: string;
  metadata: Map<string, string>;
  messageEncoding: string;
  schemaEncoding: string | undefined;
  schema: string | undefined;
  logTime: bigint;
  publishTime: bigint;
  sequence: number;
  data: Buffer;
}

/**
 * Every message of a complete MCAP file, read with @mcap/core's indexed reader and the
 * reference decoders (@foxglove/wasm-zstd, @foxglove/wasm-lz4), independent of src/record.
 */
export async function readMcap(path: string): Promise<{
  messages: ReadMessage[];
  metadata: Array<{ name: string; values: Map<string, string> }>;
  compression: string[];
  library: string;
}> {
  await zstd.isLoaded;
  await decompressLz4.isLoaded;
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    const reader = await McapIndexedReader.Initialize({
      readable: {
        size: async () => BigInt(size),
        read: async (offset, length) => {
          const buffer = Buffer.alloc(Number(length));
          await fh.read(buffer, 0, buffer.length, Number(offset));
          return buffer;
        },
      },
      decompressHandlers: {
        zstd: (data, n) => zstd.decompress(data, Number(n)),
        lz4: (data, n) => decompressLz4(data, Number(n)),
      },
    });
    const messages: ReadMessage[] = [];
    for await (const m of reader.readMessages()) {
      const channel = reader.channelsById.get(m.channelId);
      if (!channel) throw new Error(`message on unknown channel ${m.channelId}`);
      const schema = reader.schemasById.get(channel.schemaId);
      messages.push({
        topic: channel.topic,
        metadata: channel.metadata,
        messageEncoding: channel.messageEncoding,
        schemaEncoding: schema?.encoding,
        schema: schema ? Buffer.from(schema.data).toString() : undefined,
        logTime: m.logTime,
        publishTime: m.publishTime,
        sequence: m.sequence,
        data: Buffer.from(m.data),
      });
    }
    const metadata: Array<{ name: string; values: Map<string, string> }> = [];
    for await (const m of reader.readMetadata()) metadata.push({ name: m.name, values: m.metadata });
    return {
      messages,
      metadata,
      compression: [...new Set(reader.chunkIndexes.map((c) => c.compression))],
      library: reader.header.library,
    };
  } finally {
    await fh.close();
  }
}
