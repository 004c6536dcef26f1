import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientStream } from '../../src/client/stream.js';
import { Client, ConnectCode, Server } from '../../src/index.js';
import type { ServerStream } from '../../src/server/stream.js';
import { onCleanup } from '../helpers/net.js';
import { drain, linkRecorder, MiB, pattern, receive, sha256, streamService } from '../stream/helpers.js';
import { makePki, type Pki } from './pki.js';

let pki: Pki;
beforeAll(() => {
  pki = makePki();
});
afterAll(() => pki.remove());

async function mutualPair() {
  const server = new Server();
  await server.listen(0, '127.0.0.1', { cert: pki.serverCert, key: pki.serverKey, caCert: pki.caCert });
  onCleanup(() => server.close());
  const client = new Client();
  onCleanup(() => client.close());
  const code = await client.connect(`vsoa://127.0.0.1:${server.address().port}`, {
    tls: { caCert: pki.caCert, cert: pki.clientCert, key: pki.clientKey },
  });
  expect(code).toBe(ConnectCode.OK);
  return { server, client };
}

describe('TLS streams', () => {
  it('follow the server: TLS with the same mutual authentication, bytes intact both ways', async () => {
    const { server, client } = await mutualPair();
    const pair = await streamService(server, client).open();
    const up = pattern(MiB + 7, 41);
    const down = pattern(3 * MiB, 42);
    const gotUp = receive(pair.server, up.length);
    const gotDown = drain(pair.client);
    pair.client.send(up);
    pair.server.send(down);
    // Close once both directions are through: closing ends the whole stream.
    expect(await gotUp).toBe(sha256(up));
    pair.server.close();
    expect((await gotDown).sha).toBe(sha256(down));
    await Promise.all([pair.serverLinks.down, pair.clientLinks.down]);
  });

  it('a plain TCP peer on a TLS stream gets no data through and ends the stream', async () => {
    const { server } = await mutualPair();
    const rec = linkRecorder<ServerStream>();
    const chunks: Buffer[] = [];
    const stream = server.createStream(rec.onlink, (_s, data) => chunks.push(data), 5000);
    onCleanup(() => stream.destroy());
    const plain = net.connect(stream.tunid, '127.0.0.1', () =>
      plain.write('plain text, not a ClientHello\r\n'),
    );
    plain.on('error', () => {});
    onCleanup(() => plain.destroy());
    await rec.down;
    expect(rec.links).toEqual([false]);
    expect(chunks).toEqual([]);
  });

  it('a TLS peer without a client certificate cannot link a stream of a mutual server', async () => {
    const { server } = await mutualPair();
    const rec = linkRecorder<ServerStream>();
    const stream = server.createStream(rec.onlink, undefined, 5000);
    onCleanup(() => stream.destroy());
    const anonymous = tls.connect({ port: stream.tunid, host: '127.0.0.1', ca: readFileSync(pki.caCert) });
    anonymous.on('error', () => {});
    onCleanup(() => anonymous.destroy());
    await rec.down;
    expect(rec.links).toEqual([false]);
  });

  it('a client stream whose TLS handshake never completes reports onlink(false) after its timeout', async () => {
    const { client } = await mutualPair();
    // A listener that accepts and never answers the ClientHello.
    const held: net.Socket[] = [];
    const mute = net.createServer((socket) => held.push(socket));
    await new Promise<void>((resolve) => mute.listen(0, '127.0.0.1', () => resolve()));
    onCleanup(
      () =>
        new Promise<void>((resolve) => {
          for (const s of held) s.destroy();
          mute.close(() => resolve());
        }),
    );
    const rec = linkRecorder<ClientStream>();
    const stream = client.createStream((mute.address() as net.AddressInfo).port, rec.onlink, undefined, 200);
    const timedOut = once(stream, 'timeout');
    await rec.down;
    await timedOut;
    expect(rec.links).toEqual([false]);
    expect(stream.destroyed).toBe(true);
  });
});
