import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientStream } from '../../src/client/stream.js';
import { Client, ConnectCode, type RemoteClient, Server } from '../../src/index.js';
import type { ServerStream } from '../../src/server/stream.js';
import { deferred, onCleanup } from '../helpers/net.js';
import { linkRecorder, MiB, pattern, receive, sha256 } from '../stream/helpers.js';
import { officialReceive, officialStreamClient, officialStreamServer } from '../stream/official-streams.js';
import { makePki, type Pki } from './pki.js';

/*
 * TLS between our implementation and the official npm `vsoa` 1.5.1, as far as it goes: its
 * server takes Node's tls options as they are; its client hands only `cert` and `key` to its
 * main connection (no `ca`), so it can verify no private CA: for it the test lifts Node's
 * verification process-wide (NODE_TLS_REJECT_UNAUTHORIZED=0) while it connects. Its streams
 * take the client's full options (without verification unless rejectUnauthorized: true).
 */

let pki: Pki;
beforeAll(() => {
  pki = makePki();
});
afterAll(() => pki.remove());

function withoutVerification<T>(run: () => Promise<T>): Promise<T> {
  const saved = process.env.NODE_TLS_REJECT_UNAUTHORIZED;
  process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
  return run().finally(() => {
    if (saved === undefined) delete process.env.NODE_TLS_REJECT_UNAUTHORIZED;
    else process.env.NODE_TLS_REJECT_UNAUTHORIZED = saved;
  });
}

describe('TLS with the official vsoa: official server, our client', () => {
  it('connects with verification, runs RPC and streams both ways', async () => {
    const up = pattern(MiB, 51);
    const down = pattern(2 * MiB + 3, 52);
    const fromUs = deferred<Buffer[]>();
    const { url } = await officialStreamServer(
      (stream) => {
        stream.once('connect', () => stream.write(down));
        officialReceive(stream).then(fromUs.resolve);
      },
      { tls: { cert: readFileSync(pki.serverCert), key: readFileSync(pki.serverKey) } },
    );
    const client = new Client();
    onCleanup(() => client.close());
    expect(await client.connect(url, { tls: { caCert: pki.caCert, verifyMode: 'optional' } })).toBe(
      ConnectCode.OK,
    );
    expect(client.getPeerCert()?.subject.CN).toBe('localhost');
    expect((await client.fetch('/echo', { payload: { param: { x: 1 } } })).payload.param).toEqual({ x: 1 });
    expect(client.datagram('/quick', { param: 1 }, true)).toBe(false);

    const { header } = await client.fetch('/stream');
    const rec = linkRecorder<ClientStream>();
    const received: Buffer[] = [];
    let got = 0;
    const allDown = deferred();
    const stream = client.createStream(header.tunid, rec.onlink, (_s, chunk) => {
      received.push(chunk);
      got += chunk.length;
      if (got === down.length) allDown.resolve();
    });
    await rec.up;
    stream.send(up);
    await allDown.promise;
    stream.close();
    expect(sha256(await fromUs.promise)).toBe(sha256(up));
    expect(sha256(received)).toBe(sha256(down));
    await rec.down;
  });

  it('fails the handshake when the official server is signed by a CA we do not trust', async () => {
    const { url } = await officialStreamServer(() => {}, {
      tls: { cert: readFileSync(pki.serverCert), key: readFileSync(pki.serverKey) },
    });
    const client = new Client();
    onCleanup(() => client.close());
    expect(await client.connect(url, { tls: { caCert: pki.otherCaCert } })).toBe(ConnectCode.SSL_HS_FAILED);
  });
});

describe('TLS with the official vsoa: our server, official client', () => {
  it('serves an official client with a client certificate (mutual), RPC and streams both ways', async () => {
    const server = new Server();
    await server.listen(0, '127.0.0.1', { cert: pki.serverCert, key: pki.serverKey, caCert: pki.caCert });
    onCleanup(() => server.close());
    server.command('/echo', (cli, req, payload) => cli.reply(req.seqno, payload));
    const up = pattern(MiB + 1, 61);
    const down = pattern(MiB, 62);
    const ours = deferred<{ stream: ServerStream; received: Promise<Buffer[]> }>();
    server.command('/stream', (cli, req) => {
      const chunks: Buffer[] = [];
      const done = deferred<Buffer[]>();
      const stream = server.createStream(
        (s, connected) => {
          if (connected) s.send(down);
          else done.resolve(chunks);
        },
        (_s, chunk) => chunks.push(chunk),
      );
      onCleanup(() => stream.destroy());
      ours.resolve({ stream, received: done.promise });
      cli.reply(req.seqno, null, 0, stream.tunid);
    });
    const seen = deferred<RemoteClient>();
    server.onclient = (cli, connected) => connected && seen.resolve(cli);

    const tlsOptions = {
      ca: readFileSync(pki.caCert),
      cert: readFileSync(pki.clientCert),
      key: readFileSync(pki.clientKey),
    };
    const url = `vsoa://127.0.0.1:${server.address().port}`;
    const official = await withoutVerification(() => officialStreamClient(url, tlsOptions));
    expect((await seen.promise).getPeerCert()?.subject.CN).toBe('test client');
    const echoed = await official.fetch('/echo', { method: 0 });
    expect(echoed).toBeDefined();

    const { tunid } = await official.fetch('/stream', { method: 0 });
    const stream = official.createStream(tunid as number);
    stream.on('error', () => {});
    onCleanup(() => stream.destroy());
    const fromUs = receive(stream, down.length);
    await once(stream, 'connect');
    // One direction at a time: the official stream tears its socket down as soon as its own
    // writes end, resetting whatever is still coming its way.
    expect(await fromUs).toBe(sha256(down));
    stream.end(up);
    const { received } = await ours.promise;
    expect(sha256(await received)).toBe(sha256(up));
  });

  it('refuses an official client without a certificate on a mutual server', async () => {
    const server = new Server();
    await server.listen(0, '127.0.0.1', { cert: pki.serverCert, key: pki.serverKey, caCert: pki.caCert });
    onCleanup(() => server.close());
    let clients = 0;
    server.onclient = () => clients++;
    const url = `vsoa://127.0.0.1:${server.address().port}`;
    const outcome = await withoutVerification(() =>
      officialStreamClient(url, { ca: readFileSync(pki.caCert) }).then(
        () => 'connected',
        () => 'refused',
      ),
    );
    expect(outcome).toBe('refused');
    expect(clients).toBe(0);
  });
});
