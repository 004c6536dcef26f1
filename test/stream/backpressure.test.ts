import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/protocol/errors.js';
import type { ServerStream } from '../../src/server/stream.js';
import { DEFAULT_STREAM_SEND_TIMEOUT, STREAM_MAX_QUEUED_BYTES } from '../../src/transport/stream.js';
import { connectClient, deferred, onCleanup, startServer, until } from '../helpers/net.js';
import { MiB, pattern, streamService, untilStalled } from './helpers.js';

async function setup(options: { beforeReply?: (stream: ServerStream) => void } = {}) {
  const { server, url } = await startServer();
  const client = await connectClient(url);
  return streamService(server, client, options);
}

describe('streams: a seed-style echo against a peer that never reads (issue 16.1)', () => {
  it('keeps memory bounded: ondata pauses while its own writes back up, so the peer is pushed back', async () => {
    const { open } = await setup();
    const pair = await open();
    let echoed = 0;
    let refused = 0;
    pair.server.ondata = (s, data) => {
      const n = s.send(data);
      if (n === 0) refused++;
      echoed += n;
    };
    // The peer writes as fast as its own backpressure allows and never reads its side.
    let written = 0;
    let peak = 0;
    let stop = false;
    const chunk = pattern(64 * 1024, 4);
    const writing = (async () => {
      while (!stop && written < 256 * MiB) {
        written += chunk.length;
        peak = Math.max(peak, pair.server.queuedBytes + pair.server.readableLength);
        if (!pair.client.write(chunk)) {
          await new Promise<void>((resolve) => {
            const done = () => resolve();
            pair.client.once('drain', done);
            pair.client.once('close', done);
          });
          if (pair.client.destroyed) return;
        }
      }
    })();
    const stalledAt = await untilStalled(() => written, 500);
    peak = Math.max(peak, pair.server.queuedBytes + pair.server.readableLength);
    stop = true;
    onCleanup(() => writing);
    // Everything the server took was echoed whole (nothing refused), and what it holds stays
    // within its queue bound and read buffer: the peer stalled after the kernel buffers filled.
    expect(refused).toBe(0);
    expect(stalledAt).toBeLessThan(128 * MiB);
    expect(peak).toBeLessThanOrEqual(STREAM_MAX_QUEUED_BYTES + 2 * pair.server.readableHighWaterMark);
    expect(echoed).toBeGreaterThan(0);
    pair.client.destroy();
  });

  it('has a finite default send timeout, and a stalled peer is cut off by it', async () => {
    const { open } = await setup();
    const pair = await open();
    expect(pair.server.sendTimeoutMs).toBe(DEFAULT_STREAM_SEND_TIMEOUT);
    expect(DEFAULT_STREAM_SEND_TIMEOUT).toBeGreaterThan(0);
    pair.server.sendTimeout(300);
    const failed = deferred<Error>();
    pair.server.once('error', (error: Error) => failed.resolve(error));
    pair.server.ondata = (s, data) => s.send(data);
    const chunk = pattern(64 * 1024, 5);
    const started = Date.now();
    const feed = (): void => {
      while (!pair.client.destroyed && pair.client.write(chunk)) {}
    };
    pair.client.on('drain', feed);
    feed();
    const error = await failed.promise;
    expect((error as { code?: string }).code).toBe(ErrorCode.SEND_TIMEOUT);
    await pair.serverLinks.down;
    expect(pair.server.destroyed).toBe(true);
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('send() refuses (returns 0, queues nothing) once the write queue holds its bound', async () => {
    const early = pattern(STREAM_MAX_QUEUED_BYTES, 6);
    let second = -1;
    let queued = 0;
    const { open } = await setup({
      beforeReply: (stream) => {
        expect(stream.send(early)).toBe(early.length); // a single send is taken whole
        queued = stream.queuedBytes;
        second = stream.send('more');
      },
    });
    const pair = await open();
    expect(queued).toBe(early.length);
    expect(second).toBe(0);
    // Once the queue drained, send() takes data again.
    const got: Buffer[] = [];
    pair.client.ondata = (_s, data) => got.push(data);
    await until(() => pair.server.queuedBytes === 0, 10_000, 'the queue to drain');
    expect(pair.server.send('more')).toBe(4);
  });
});
