import { createHash } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { ClientStream } from '../../src/client/stream.js';
import type { Client, Server } from '../../src/index.js';
import type { ServerStream } from '../../src/server/stream.js';
import { deferred, onCleanup } from '../helpers/net.js';

export const MiB = 1024 * 1024;

export function sha256(data: Uint8Array | readonly Uint8Array[]): string {
  const hash = createHash('sha256');
  if (data instanceof Uint8Array) hash.update(data);
  else for (const chunk of data) hash.update(chunk);
  return hash.digest('hex');
}

/** `size` bytes that differ from offset to offset (a dropped or repeated chunk changes the hash). */
export function pattern(size: number, seed = 1): Buffer {
  const buf = Buffer.allocUnsafe(size);
  let x = seed >>> 0 || 1;
  let i = 0;
  for (; i + 4 <= size; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    buf.writeUInt32LE(x >>> 0, i);
  }
  for (; i < size; i++) buf[i] = i & 0xff;
  return buf;
}

/** Hashes everything a readable delivers until it ends. */
export function drain(stream: Duplex): Promise<{ bytes: number; sha: string }> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    let bytes = 0;
    stream.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      bytes += chunk.length;
    });
    stream.once('end', () => resolve({ bytes, sha: hash.digest('hex') }));
    stream.once('error', reject);
  });
}

/** Hashes the first `size` bytes a stream delivers (the stream stays open). */
export function receive(stream: Duplex, size: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let got = 0;
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      got += chunk.length;
      if (got >= size) {
        stream.off('data', onData);
        resolve(sha256(chunks));
      }
    };
    stream.on('data', onData);
    stream.once('close', () => reject(new Error(`stream closed after ${got} of ${size} bytes`)));
  });
}

/** Records onlink calls and resolves when each state is reached. */
export function linkRecorder<S>(): {
  links: boolean[];
  onlink: (stream: S, connected: boolean) => void;
  up: Promise<S>;
  down: Promise<S>;
} {
  const links: boolean[] = [];
  const up = deferred<S>();
  const down = deferred<S>();
  return {
    links,
    onlink: (stream, connected) => {
      links.push(connected);
      (connected ? up : down).resolve(stream);
    },
    up: up.promise,
    down: down.promise,
  };
}

export interface StreamPair {
  server: ServerStream;
  client: ClientStream;
  serverLinks: ReturnType<typeof linkRecorder<ServerStream>>;
  clientLinks: ReturnType<typeof linkRecorder<ClientStream>>;
}

/**
 * Registers `/stream` on `server`: each call creates a stream and replies with its tunid.
 * `open()` asks for one from `client` and resolves once both ends are linked.
 */
export function streamService(
  server: Server,
  client: Client,
  options: { beforeReply?: (stream: ServerStream) => void } = {},
): { open: () => Promise<StreamPair> } {
  const waiting: Array<
    (s: { stream: ServerStream; rec: ReturnType<typeof linkRecorder<ServerStream>> }) => void
  > = [];
  server.command('/stream', (cli, request) => {
    const rec = linkRecorder<ServerStream>();
    const stream = server.createStream(rec.onlink);
    onCleanup(() => stream.destroy());
    options.beforeReply?.(stream);
    cli.reply(request.seqno, null, 0, stream.tunid);
    waiting.shift()?.({ stream, rec });
  });
  return {
    async open() {
      const created = new Promise<{
        stream: ServerStream;
        rec: ReturnType<typeof linkRecorder<ServerStream>>;
      }>((resolve) => waiting.push(resolve));
      const { header } = await client.fetch('/stream');
      const { stream: serverStream, rec: serverLinks } = await created;
      expectTunid(header.tunid, serverStream.tunid);
      const clientLinks = linkRecorder<ClientStream>();
      const clientStream = client.createStream(header.tunid, clientLinks.onlink);
      onCleanup(() => clientStream.destroy());
      await Promise.all([serverLinks.up, clientLinks.up]);
      return { server: serverStream, client: clientStream, serverLinks, clientLinks };
    },
  };
}

function expectTunid(got: number, want: number): void {
  if (got !== want) throw new Error(`reply tunid ${got} is not the stream's ${want}`);
}

/** Resolves once `value()` has not changed for `quietMs` (there is no event for "nothing happens"). */
export async function untilStalled(value: () => number, quietMs = 300, limitMs = 15_000): Promise<number> {
  const deadline = Date.now() + limitMs;
  let last = value();
  let since = Date.now();
  for (;;) {
    await new Promise((r) => setTimeout(r, 20));
    const now = value();
    if (now !== last) {
      last = now;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) {
      return now;
    }
    if (Date.now() > deadline) throw new Error('writer never stalled');
  }
}
