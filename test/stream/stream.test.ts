import { once } from 'node:events';
import {
  createReadStream,
  createWriteStream,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import type { ClientStream } from '../../src/client/stream.js';
import { Client, Server } from '../../src/index.js';
import type { ServerStream } from '../../src/server/stream.js';
import { connectClient, deferred, onCleanup, startServer } from '../helpers/net.js';
import {
  drain,
  linkRecorder,
  MiB,
  pattern,
  receive,
  sha256,
  streamService,
  untilStalled,
} from './helpers.js';

async function setup(options: { beforeReply?: (stream: ServerStream) => void } = {}) {
  const { server, url } = await startServer();
  server.command('/echo', (cli, req, payload) => cli.reply(req.seqno, payload));
  const client = await connectClient(url);
  return { server, client, url, ...streamService(server, client, options) };
}

/**
 * Writes `data` in chunks, following backpressure (`accepted`: bytes write() took), then ends
 * the stream unless `end` is false. Rejects if the stream closes first.
 */
function paced(stream: ClientStream | ServerStream, data: Buffer, end = true, chunk = 64 * 1024) {
  const progress = { accepted: 0, waits: 0 };
  const done = (async () => {
    for (let off = 0; off < data.length; off += chunk) {
      const ok = stream.write(data.subarray(off, off + chunk));
      progress.accepted = Math.min(off + chunk, data.length);
      if (!ok) {
        progress.waits++;
        await new Promise<void>((resolve, reject) => {
          const onClose = () => reject(new Error('stream closed while writing'));
          stream.once('close', onClose);
          stream.once('drain', () => {
            stream.off('close', onClose);
            resolve();
          });
        });
      }
    }
    if (end) stream.end();
  })();
  return { progress, done };
}

describe('streams: creation and linking', () => {
  it('knows its tunid when createStream returns: a port listening on the server address', async () => {
    const { server } = await startServer();
    const stream = server.createStream(() => {});
    onCleanup(() => stream.destroy());
    expect(Number.isInteger(stream.tunid)).toBe(true);
    expect(stream.tunid).toBeGreaterThan(0);
    expect(stream.tunid).not.toBe(server.address().port);
    expect(stream.connected).toBe(false);
    // A burst of streams in one tick still gets distinct ports at once.
    const burst = Array.from({ length: 10 }, () => server.createStream(() => {}));
    for (const s of burst) onCleanup(() => s.destroy());
    expect(new Set([stream.tunid, ...burst.map((s) => s.tunid)]).size).toBe(11);
    const linked = Promise.all(
      burst.map((s) => new Promise<void>((resolve) => s.once('connect', () => resolve()))),
    );
    const sockets = burst.map((s) => net.connect(s.tunid, '127.0.0.1'));
    for (const socket of sockets) onCleanup(() => socket.destroy());
    await linked;
    expect(burst.every((s) => s.connected)).toBe(true);
  });

  it("accepts its peer only on the server's own address", async () => {
    const { server } = await startServer();
    // More than the spare ports, so some streams listen on the wildcard address and filter.
    const streams = Array.from({ length: 10 }, () => server.createStream(() => {}));
    for (const s of streams) onCleanup(() => s.destroy());
    const outcomes = await Promise.all(
      streams.map(
        (s) =>
          new Promise<string>((resolve) => {
            // 127.0.0.2 is loopback too, but not the address the server is bound to.
            const socket = net.connect(s.tunid, '127.0.0.2');
            onCleanup(() => socket.destroy());
            socket.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
            socket.on('close', () => resolve('closed'));
            s.once('connect', () => resolve('linked'));
          }),
      ),
    );
    expect(outcomes.every((o) => o === 'closed' || o === 'ECONNREFUSED' || o === 'ECONNRESET')).toBe(true);
    expect(streams.some((s) => s.connected)).toBe(false);
    const linked = once(streams[9] as ServerStream, 'connect');
    const socket = net.connect((streams[9] as ServerStream).tunid, '127.0.0.1');
    onCleanup(() => socket.destroy());
    await linked;
  });

  it('works on an IPv6 server', async (ctx) => {
    const server = new Server();
    try {
      await server.listen(0, '::1');
    } catch {
      ctx.skip();
    }
    onCleanup(() => server.close());
    server.command('/stream', (cli, req) => {
      const stream = server.createStream((s, connected) => connected && s.send('over v6') && s.close());
      onCleanup(() => stream.destroy());
      cli.reply(req.seqno, null, 0, stream.tunid);
    });
    const client = await connectClient(`vsoa://[::1]:${server.address().port}`);
    const { header } = await client.fetch('/stream');
    const rec = linkRecorder<ClientStream>();
    const stream = client.createStream(header.tunid, rec.onlink);
    onCleanup(() => stream.destroy());
    expect(await drain(stream)).toEqual({ bytes: 7, sha: sha256(Buffer.from('over v6')) });
    await rec.down;
  });

  it('links both ends once each way; the reply carries the tunid', async () => {
    const { open } = await setup();
    const pair = await open();
    expect(pair.server.connected).toBe(true);
    expect(pair.client.connected).toBe(true);
    expect(pair.client.tunid).toBe(pair.server.tunid);
    pair.client.close();
    await Promise.all([pair.serverLinks.down, pair.clientLinks.down]);
    expect(pair.serverLinks.links).toEqual([true, false]);
    expect(pair.clientLinks.links).toEqual([true, false]);
    expect(pair.server.connected).toBe(false);
    expect(pair.client.connected).toBe(false);
    expect(pair.client.send('late')).toBe(0);
  });

  it('takes the first connection only; later ones are refused', async () => {
    const { open } = await setup();
    const pair = await open();
    const intruder = net.connect(pair.server.tunid, '127.0.0.1');
    onCleanup(() => intruder.destroy());
    await new Promise<void>((resolve) => {
      intruder.on('error', () => {});
      intruder.on('close', () => resolve());
    });
    pair.client.send('still here');
    const [chunk] = (await once(pair.server, 'data')) as [Buffer];
    expect(chunk.toString()).toBe('still here');
  });

  it('reports onlink(false) once when no peer comes in time, and closes the port', async () => {
    const { server } = await startServer();
    const rec = linkRecorder<ServerStream>();
    const stream = server.createStream(rec.onlink, undefined, 100);
    const timedOut = once(stream, 'timeout');
    await rec.down;
    await timedOut;
    expect(rec.links).toEqual([false]);
    const probe = net.connect(stream.tunid, '127.0.0.1');
    const [error] = (await once(probe, 'error')) as [NodeJS.ErrnoException];
    expect(error.code).toBe('ECONNREFUSED');
    expect(stream.send('x')).toBe(0);
  });

  it('a client stream reports onlink(false) when nothing listens, or before any connect', async () => {
    const { client } = await setup();
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const rec = linkRecorder<ClientStream>();
    client.createStream(port, rec.onlink, undefined, 2000);
    await rec.down;
    expect(rec.links).toEqual([false]);
    const never = new Client();
    onCleanup(() => never.close());
    const rec2 = linkRecorder<ClientStream>();
    never.createStream(port, rec2.onlink);
    await rec2.down;
    expect(rec2.links).toEqual([false]);
  });

  it('server close aborts streams still waiting for their peer', async () => {
    const server = new Server();
    await server.listen(0, '127.0.0.1');
    const rec = linkRecorder<ServerStream>();
    server.createStream(rec.onlink);
    await server.close();
    await rec.down;
    expect(rec.links).toEqual([false]);
    expect(() => server.createStream(() => {})).toThrow(/not listening/);
  });

  it('checks its arguments', async () => {
    const { server, client } = await setup();
    expect(() => server.createStream('x' as never)).toThrow(TypeError);
    expect(() => server.createStream(() => {}, 'x' as never)).toThrow(TypeError);
    expect(() => server.createStream(() => {}, undefined, -1)).toThrow(RangeError);
    expect(() => client.createStream(0, () => {})).toThrow(RangeError);
    expect(() => client.createStream(65536, () => {})).toThrow(RangeError);
    expect(() => client.createStream(1.5, () => {})).toThrow(RangeError); // check.integer: a non-integer number is out of range
    expect(() => client.createStream(80, null as never)).toThrow(TypeError);
    const stream = server.createStream(() => {});
    onCleanup(() => stream.destroy());
    expect(() => stream.keepalive(-1)).toThrow(RangeError);
    expect(() => stream.sendTimeout(1.5)).toThrow(RangeError);
    expect(() => stream.send(42 as never)).toThrow(TypeError);
  });
});

describe('streams: data', () => {
  for (const size of [0, 1, MiB, 64 * MiB]) {
    it(`carries ${size} bytes each way intact (sha256), ending with onlink(false)`, async () => {
      const { open } = await setup();
      const down = pattern(size, 7);
      const up = pattern(size, 11);
      const pair = await open();
      // Server to client, seed style: send() then close(); the client collects with ondata.
      const received: Buffer[] = [];
      pair.client.ondata = (_s, data) => received.push(data);
      // Client to server, Node style: the server reads it as a Readable.
      const serverGot = drain(pair.server);
      expect(pair.server.send(down)).toBe(size);
      expect(pair.client.send(up)).toBe(size);
      pair.server.close();
      pair.client.close();
      await Promise.all([pair.clientLinks.down, pair.serverLinks.down]);
      expect(Buffer.concat(received).length).toBe(size);
      expect(sha256(received)).toBe(sha256(down));
      expect(await serverGot).toEqual({ bytes: size, sha: sha256(up) });
    });
  }

  it('buffers writes made before the peer connects', async () => {
    const early = pattern(300 * 1024, 3);
    const { open } = await setup({ beforeReply: (stream) => stream.send(early) });
    const pair = await open();
    const got = drain(pair.client);
    pair.server.close();
    expect(await got).toEqual({ bytes: early.length, sha: sha256(early) });
  });

  it('close() delivers pending writes, then ends the other side too', async () => {
    const { open } = await setup();
    const pair = await open();
    const data = pattern(4 * MiB, 5);
    const got = drain(pair.server);
    pair.client.send(data);
    pair.client.close();
    expect(await got).toEqual({ bytes: data.length, sha: sha256(data) });
    await Promise.all([pair.serverLinks.down, pair.clientLinks.down]);
  });

  it('destroy() aborts: the other side reports onlink(false)', async () => {
    const { open } = await setup();
    const pair = await open();
    pair.server.destroy();
    await Promise.all([pair.clientLinks.down, pair.serverLinks.down]);
    expect(pair.clientLinks.links).toEqual([true, false]);
  });

  it('pipes a file through a stream', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vsoa-stream-'));
    onCleanup(() => rmSync(dir, { recursive: true, force: true }));
    const source = join(dir, 'in.bin');
    const target = join(dir, 'out.bin');
    writeFileSync(source, pattern(8 * MiB + 123, 9));
    const { open } = await setup();
    const pair = await open();
    await Promise.all([
      pipeline(createReadStream(source), pair.client),
      pipeline(pair.server, createWriteStream(target)),
    ]);
    expect(sha256(readFileSync(target))).toBe(sha256(readFileSync(source)));
  });
});

describe('streams: backpressure and sharing the connection', () => {
  it('an unread stream pushes back on the sender, which pauses until the reader resumes', async () => {
    const { open } = await setup();
    const pair = await open();
    const data = pattern(64 * MiB, 13);
    const writer = paced(pair.client, data);
    const stalledAt = await untilStalled(() => writer.progress.accepted);
    expect(stalledAt).toBeLessThan(data.length);
    expect(writer.progress.waits).toBeGreaterThan(0);
    // The receiver holds no more than its high-water mark plus one socket chunk.
    expect(pair.server.readableLength).toBeLessThanOrEqual(pair.server.readableHighWaterMark + 64 * 1024);
    const got = drain(pair.server);
    await writer.done;
    expect(await got).toEqual({ bytes: data.length, sha: sha256(data) });
  });

  it('sendTimeout ends a stream whose writes cannot go out in time', async () => {
    const { open } = await setup();
    const pair = await open();
    pair.client.sendTimeout(200);
    pair.client.keepalive(1000);
    const writer = paced(pair.client, pattern(64 * MiB, 2));
    writer.done.catch(() => {});
    await pair.clientLinks.down;
    expect(pair.client.destroyed).toBe(true);
    // The server sees the end once it reads what arrived before it.
    pair.server.resume();
    await pair.serverLinks.down;
  });

  it('runs several streams in parallel beside RPC, and a stalled stream blocks nothing', async () => {
    const { client, open } = await setup();
    const stalled = await open();
    const stalledWriter = paced(stalled.client, pattern(32 * MiB, 99));
    stalledWriter.done.catch(() => {});
    await untilStalled(() => stalledWriter.progress.accepted);
    const pairs = await Promise.all([open(), open(), open(), open()]);
    // Both directions at once; closing ends the whole stream, so close once both are through.
    const transfers = pairs.map(async (pair, i) => {
      const up = pattern(8 * MiB, 100 + i);
      const down = pattern(8 * MiB, 200 + i);
      const gotUp = receive(pair.server, up.length);
      const gotDown = receive(pair.client, down.length);
      await Promise.all([paced(pair.client, up, false).done, paced(pair.server, down, false).done]);
      expect(await gotUp).toBe(sha256(up));
      expect(await gotDown).toBe(sha256(down));
      pair.client.close();
      await Promise.all([pair.clientLinks.down, pair.serverLinks.down]);
    });
    const calls = Array.from({ length: 50 }, (_, i) =>
      client.fetch('/echo', { payload: { param: i } }).then((r) => r.payload.param),
    );
    expect(await Promise.all(calls)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    await Promise.all(transfers);
    // The stalled stream was never read, and still is intact once it is.
    const got = drain(stalled.server);
    await stalledWriter.done;
    expect((await got).bytes).toBe(32 * MiB);
  });

  it('ondata and onlink callbacks that throw do not break the stream', async () => {
    const { open } = await setup();
    const pair = await open();
    const seen = deferred<number>();
    let n = 0;
    pair.server.ondata = (_s, data) => {
      n += data.length;
      if (n === 3) seen.resolve(n);
      throw new Error('application bug');
    };
    pair.client.send('abc');
    expect(await seen.promise).toBe(3);
    pair.server.onlink = () => {
      throw new Error('application bug');
    };
    pair.client.close();
    await pair.clientLinks.down;
  });
});
