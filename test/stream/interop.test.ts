import { once } from 'node:events';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import type { ClientStream } from '../../src/client/stream.js';
import type { ServerStream } from '../../src/server/stream.js';
import { connectClient, deferred, onCleanup, startServer } from '../helpers/net.js';
import { linkRecorder, MiB, pattern, sha256 } from './helpers.js';
import {
  type OfficialStream,
  officialReceive,
  officialStreamClient,
  officialStreamServer,
} from './official-streams.js';

/*
 * Streams between our implementation and the official npm `vsoa` 1.5.1, both ways round.
 * The official stream drops writes made before its peer connects, so it writes on 'connect'.
 */

const SIZES = [0, 1, MiB, 64 * MiB];

/** Our client opens a stream on an official server; `onStream` drives the official end. */
async function ourClientOfficialServer(onStream: (stream: OfficialStream) => void, streamTimeout?: number) {
  const { url } = await officialStreamServer(onStream, { streamTimeout });
  const client = await connectClient(url);
  const { header } = await client.fetch('/stream');
  expect(header.tunid).toBeGreaterThan(0);
  return { client, tunid: header.tunid };
}

/** An official client opens a stream on our server; `onStream` drives our end. */
async function officialClientOurServer(
  onStream: (stream: ServerStream, connected: boolean) => void,
  timeout?: number,
) {
  const { server, url } = await startServer();
  server.command('/stream', (cli, request) => {
    const stream = server.createStream(onStream, undefined, timeout);
    onCleanup(() => stream.destroy());
    cli.reply(request.seqno, null, 0, stream.tunid);
  });
  const official = await officialStreamClient(url);
  const { tunid } = await official.fetch('/stream');
  expect(tunid).toBeGreaterThan(0);
  return { official, tunid: tunid as number };
}

describe('streams with the official vsoa: official server, our client', () => {
  for (const size of SIZES) {
    it(`receives ${size} bytes intact, then onlink(false) when the official side ends`, async () => {
      const data = pattern(size, 21);
      const { client, tunid } = await ourClientOfficialServer((stream) => {
        stream.once('connect', () => stream.end(data));
      });
      const rec = linkRecorder<ClientStream>();
      const chunks: Buffer[] = [];
      client.createStream(tunid, rec.onlink, (_s, chunk) => chunks.push(chunk));
      await rec.down;
      expect(rec.links).toEqual([true, false]);
      expect(Buffer.concat(chunks).length).toBe(size);
      expect(sha256(chunks)).toBe(sha256(data));
    });

    it(`sends ${size} bytes intact; closing our side ends the official one`, async () => {
      const data = pattern(size, 22);
      const received = deferred<Buffer[]>();
      const { client, tunid } = await ourClientOfficialServer((stream) => {
        officialReceive(stream).then(received.resolve);
      });
      const rec = linkRecorder<ClientStream>();
      const stream = client.createStream(tunid, rec.onlink);
      stream.send(data);
      stream.close();
      const chunks = await received.promise;
      expect(sha256(chunks)).toBe(sha256(data));
      await rec.down;
    });
  }

  it('reports onlink(false) for an official stream that timed out', async () => {
    const timedOut = deferred();
    const { client, tunid } = await ourClientOfficialServer((stream) => {
      stream.once('timeout', () => timedOut.resolve());
    }, 100);
    await timedOut.promise;
    const rec = linkRecorder<ClientStream>();
    client.createStream(tunid, rec.onlink, undefined, 2000);
    await rec.down;
    expect(rec.links).toEqual([false]);
  });
});

describe('streams with the official vsoa: our server, official client', () => {
  for (const size of SIZES) {
    it(`sends ${size} bytes intact, and the official side sees the end`, async () => {
      const data = pattern(size, 31);
      const rec = linkRecorder<ServerStream>();
      const { official, tunid } = await officialClientOurServer((stream, connected) => {
        rec.onlink(stream, connected);
        if (connected) {
          stream.send(data);
          stream.close();
        }
      });
      const stream = official.createStream(tunid);
      stream.on('error', () => {});
      onCleanup(() => stream.destroy());
      const chunks = await officialReceive(stream);
      expect(sha256(chunks)).toBe(sha256(data));
      await rec.down;
      expect(rec.links).toEqual([true, false]);
    });

    it(`receives ${size} bytes intact when the official side writes and ends`, async () => {
      const data = pattern(size, 32);
      const rec = linkRecorder<ServerStream>();
      const chunks: Buffer[] = [];
      const { official, tunid } = await officialClientOurServer((stream, connected) => {
        rec.onlink(stream, connected);
        if (connected) stream.ondata = (_s, chunk) => chunks.push(chunk);
      });
      const stream = official.createStream(tunid);
      stream.on('error', () => {});
      onCleanup(() => stream.destroy());
      await once(stream, 'connect');
      stream.end(data);
      await rec.down;
      expect(sha256(chunks)).toBe(sha256(data));
    });
  }

  it('a stream nobody opened in time reports onlink(false) and its port is closed', async () => {
    const rec = linkRecorder<ServerStream>();
    const { tunid } = await officialClientOurServer(rec.onlink, 100);
    await rec.down;
    expect(rec.links).toEqual([false]);
    // (The official client stream cannot be pointed at it: its socket error would go unheard.)
    const probe = net.connect(tunid, '127.0.0.1');
    const [error] = (await once(probe, 'error')) as [NodeJS.ErrnoException];
    expect(error.code).toBe('ECONNREFUSED');
  });
});
