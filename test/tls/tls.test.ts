import { X509Certificate } from 'node:crypto';
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, ConnectCode, fetch, type RemoteClient, Server, VsoaError } from '../../src/index.js';
import type { TlsOptions } from '../../src/transport/tls-options.js';
import { deferred, onCleanup } from '../helpers/net.js';
import { makePki, type Pki } from './pki.js';

let pki: Pki;
beforeAll(() => {
  pki = makePki();
});
afterAll(() => pki.remove());

async function tlsServer(
  options: TlsOptions,
  serverOptions: { handshakeTimeout?: number } = {},
): Promise<{ server: Server; port: number; url: string }> {
  const server = new Server({ info: 'secure', ...serverOptions });
  server.command('/echo', (cli, req, payload) => cli.reply(req.seqno, payload));
  await server.listen(0, '127.0.0.1', options);
  onCleanup(() => server.close());
  const { port } = server.address();
  return { server, port, url: `vsoa://127.0.0.1:${port}` };
}

async function tryConnect(
  url: string,
  options: TlsOptions | undefined,
): Promise<{ client: Client; code: number }> {
  const client = new Client();
  onCleanup(() => client.close());
  const code = await client.connect(url, { timeout: 5000, tls: options });
  return { client, code };
}

function oneWay(): TlsOptions {
  return { cert: pki.serverCert, key: pki.serverKey };
}

function mutual(extra: TlsOptions = {}): TlsOptions {
  return { cert: pki.serverCert, key: pki.serverKey, caCert: pki.caCert, ...extra };
}

describe('TLS: one-way authentication', () => {
  it('connects to a server whose certificate the CA signed, and RPC works over it', async () => {
    const { server, url } = await tlsServer(oneWay());
    const seen = deferred<RemoteClient>();
    server.onclient = (cli, connected) => connected && seen.resolve(cli);
    const { client, code } = await tryConnect(url, { caCert: pki.caCert });
    expect(code).toBe(ConnectCode.OK);
    const { header, payload } = await client.fetch('/echo', { payload: { param: { a: 1 } } });
    expect(header.status).toBe(0);
    expect(payload.param).toEqual({ a: 1 });
    // One-way: the server asked for no client certificate.
    expect((await seen.promise).getPeerCert()).toBeNull();
  });

  it('getPeerCert gives the certificate object with the seed fields, or its DER bytes', async () => {
    const { url } = await tlsServer(oneWay());
    const { client, code } = await tryConnect(url, { caCert: pki.caCert });
    expect(code).toBe(ConnectCode.OK);
    const x509 = new X509Certificate(readFileSync(pki.serverCert));
    const cert = client.getPeerCert();
    expect(cert).not.toBeNull();
    expect(cert?.subject.CN).toBe('localhost');
    expect(cert?.subject.O).toBe('vsoa-edge tests');
    expect(cert?.issuer.CN).toBe('vsoa-edge test CA');
    expect(cert?.version).toBe(3);
    expect(cert?.serialNumber.toUpperCase()).toBe(x509.serialNumber.toUpperCase());
    expect(cert?.notBefore).toBe(x509.validFrom);
    expect(cert?.notAfter).toBe(x509.validTo);
    const der = client.getPeerCert(true);
    expect(Buffer.isBuffer(der)).toBe(true);
    expect(der?.equals(x509.raw)).toBe(true);
  });

  it('accepts PEM contents (string or Buffer) and an encrypted key with passwd', async () => {
    const { url } = await tlsServer({
      cert: pki.read(pki.serverCert),
      key: readFileSync(pki.serverKeyEncrypted),
      passwd: pki.keyPasswd,
    });
    const { code } = await tryConnect(url, { caCert: readFileSync(pki.caCert) });
    expect(code).toBe(ConnectCode.OK);
    const { code: again } = await tryConnect(url, {
      caCert: [pki.read(pki.otherCaCert), pki.read(pki.caCert)],
    });
    expect(again).toBe(ConnectCode.OK);
  });

  it('refuses bad options at once: missing key, unreadable file, wrong key passphrase', async () => {
    const server = new Server();
    onCleanup(() => server.close());
    await expect(server.listen(0, '127.0.0.1', { cert: pki.serverCert })).rejects.toThrow(TypeError);
    await expect(
      server.listen(0, '127.0.0.1', { cert: pki.serverCert, key: `${pki.dir}/no-such.key` }),
    ).rejects.toThrow(/tls\.key: cannot read/);
    await expect(
      server.listen(0, '127.0.0.1', { cert: pki.serverCert, key: pki.serverKeyEncrypted, passwd: 'wrong' }),
    ).rejects.toThrow();
    const client = new Client();
    await expect(
      client.connect('vsoa://127.0.0.1:1', { tls: { verifyMode: 'sometimes' as 'none' } }),
    ).rejects.toThrow(TypeError);
  });

  it('rejects a server signed by another CA (SSL_HS_FAILED), and the server serves the next client', async () => {
    const { url } = await tlsServer(oneWay());
    expect((await tryConnect(url, { caCert: pki.otherCaCert })).code).toBe(ConnectCode.SSL_HS_FAILED);
    // Without caCert the system CAs are used, and they do not know our test CA either.
    expect((await tryConnect(url, {})).code).toBe(ConnectCode.SSL_HS_FAILED);
    expect((await tryConnect(url, { caCert: pki.caCert })).code).toBe(ConnectCode.OK);
  });

  it("verifyMode 'none' connects without checking the server", async () => {
    const { url } = await tlsServer(oneWay());
    const { client, code } = await tryConnect(url, { verifyMode: 'none', loadDefaultCerts: false });
    expect(code).toBe(ConnectCode.OK);
    expect(client.getPeerCert()?.subject.CN).toBe('localhost');
  });

  it('rejects a certificate for another name, unless hostname names it', async () => {
    const { url } = await tlsServer({ cert: pki.elsewhereCert, key: pki.elsewhereKey });
    expect((await tryConnect(url, { caCert: pki.caCert })).code).toBe(ConnectCode.SSL_HS_FAILED);
    expect((await tryConnect(url, { caCert: pki.caCert, hostname: 'elsewhere.test' })).code).toBe(
      ConnectCode.OK,
    );
    const { url: local } = await tlsServer(oneWay());
    expect((await tryConnect(local, { caCert: pki.caCert, hostname: 'localhost' })).code).toBe(
      ConnectCode.OK,
    );
    expect((await tryConnect(local, { caCert: pki.caCert, hostname: 'wrong.test' })).code).toBe(
      ConnectCode.SSL_HS_FAILED,
    );
  });

  it('a TLS client meets a plain server with SSL_HS_FAILED; a plain client a TLS server with an error code', async () => {
    const plain = new Server();
    await plain.listen(0, '127.0.0.1');
    onCleanup(() => plain.close());
    const plainUrl = `vsoa://127.0.0.1:${plain.address().port}`;
    expect((await tryConnect(plainUrl, { caCert: pki.caCert })).code).toBe(ConnectCode.SSL_HS_FAILED);
    const { url } = await tlsServer(oneWay(), { handshakeTimeout: 300 });
    const { code } = await tryConnect(url, undefined);
    expect(code).not.toBe(ConnectCode.OK);
  });

  it('one-shot fetch takes tls', async () => {
    const { url } = await tlsServer(oneWay());
    const { payload } = await fetch(`${url}/echo`, { payload: { param: 'hi' }, tls: { caCert: pki.caCert } });
    expect(payload.param).toBe('hi');
    const failed = await fetch(`${url}/echo`, { tls: { caCert: pki.otherCaCert } }).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(VsoaError);
    expect((failed as VsoaError).connectCode).toBe(ConnectCode.SSL_HS_FAILED);
  });
});

describe('TLS: mutual authentication', () => {
  it('connects a client with a certificate from the CA; the server sees it', async () => {
    const { server, url } = await tlsServer(mutual());
    const seen = deferred<RemoteClient>();
    server.onclient = (cli, connected) => connected && seen.resolve(cli);
    const { client, code } = await tryConnect(url, {
      caCert: pki.caCert,
      cert: pki.clientCert,
      key: pki.clientKey,
    });
    expect(code).toBe(ConnectCode.OK);
    const cli = await seen.promise;
    expect(cli.getPeerCert()?.subject.CN).toBe('test client');
    expect(cli.getPeerCert(true)?.equals(new X509Certificate(readFileSync(pki.clientCert)).raw)).toBe(true);
    expect((await client.fetch('/echo', { payload: { param: 2 } })).payload.param).toBe(2);
  });

  it('rejects a client without certificate, or with one from another CA (SSL_HS_FAILED)', async () => {
    const { server, url } = await tlsServer(mutual());
    let clients = 0;
    server.onclient = () => clients++;
    expect((await tryConnect(url, { caCert: pki.caCert })).code).toBe(ConnectCode.SSL_HS_FAILED);
    expect(
      (await tryConnect(url, { caCert: pki.caCert, cert: pki.otherClientCert, key: pki.otherClientKey }))
        .code,
    ).toBe(ConnectCode.SSL_HS_FAILED);
    expect(clients).toBe(0);
    expect(
      (await tryConnect(url, { caCert: pki.caCert, cert: pki.clientCert, key: pki.clientKey })).code,
    ).toBe(ConnectCode.OK);
  });

  it("verifyMode 'optional' lets a client without certificate in, but not one with a bad certificate", async () => {
    const { url } = await tlsServer(mutual({ verifyMode: 'optional' }));
    expect((await tryConnect(url, { caCert: pki.caCert })).code).toBe(ConnectCode.OK);
    expect(
      (await tryConnect(url, { caCert: pki.caCert, cert: pki.clientCert, key: pki.clientKey })).code,
    ).toBe(ConnectCode.OK);
    const bad = await tryConnect(url, {
      caCert: pki.caCert,
      cert: pki.otherClientCert,
      key: pki.otherClientKey,
    });
    expect(bad.code).not.toBe(ConnectCode.OK);
  });

  it("verifyMode 'none' on a server with caCert asks for no client certificate", async () => {
    const { url } = await tlsServer(mutual({ verifyMode: 'none' }));
    expect((await tryConnect(url, { caCert: pki.caCert })).code).toBe(ConnectCode.OK);
  });
});

describe('TLS: robustness and the quick channel', () => {
  it('survives failed handshakes, garbage and silent connections (each closed in time)', async () => {
    const { server, port, url } = await tlsServer(mutual(), { handshakeTimeout: 200 });
    const closedSoon = (socket: net.Socket): Promise<void> =>
      new Promise((resolve) => {
        socket.on('error', () => {});
        socket.on('close', () => resolve());
      });
    // Connects and says nothing: the TLS handshake timeout closes it.
    const silent = net.connect(port, '127.0.0.1');
    onCleanup(() => silent.destroy());
    // Sends plain VSOA bytes instead of a ClientHello.
    const garbage = net.connect(port, '127.0.0.1', () =>
      garbage.write(Buffer.from('2900000000000000', 'hex')),
    );
    onCleanup(() => garbage.destroy());
    // Finishes TLS with a valid certificate but never sends SERVINFO: the VSOA handshake timeout closes it.
    const mute = tls.connect({
      port,
      host: '127.0.0.1',
      ca: readFileSync(pki.caCert),
      cert: readFileSync(pki.clientCert),
      key: readFileSync(pki.clientKey),
    });
    onCleanup(() => mute.destroy());
    await Promise.all([closedSoon(silent), closedSoon(garbage), closedSoon(mute)]);
    expect(
      (await tryConnect(url, { caCert: pki.caCert, cert: pki.clientCert, key: pki.clientKey })).code,
    ).toBe(ConnectCode.OK);
    expect(server.count()).toBe(1);
  });

  it('binds no UDP under TLS and every quick send returns false', async () => {
    const { server, port, url } = await tlsServer(oneWay());
    const cliSeen = deferred<RemoteClient>();
    server.onclient = (cli, connected) => connected && cliSeen.resolve(cli);
    const { client, code } = await tryConnect(url, { caCert: pki.caCert });
    expect(code).toBe(ConnectCode.OK);
    const cli = await cliSeen.promise;
    // The server's port is free for UDP: no quick socket listens there.
    const udp = dgram.createSocket('udp4');
    onCleanup(() => new Promise<void>((resolve) => udp.close(() => resolve())));
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(port, '127.0.0.1', () => resolve());
    });
    expect(client.datagram('/q', { param: 1 }, true)).toBe(false);
    expect(server.publish('/q', { param: 1 }, true)).toBe(false);
    expect(cli.datagram('/q', { param: 1 }, true)).toBe(false);
    // The normal channel still carries datagrams.
    const got = deferred<unknown>();
    server.ondata = (_c, url, payload, quick) => got.resolve({ url, param: payload.param, quick });
    expect(client.datagram('/q', { param: 1 })).toBe(true);
    expect(await got.promise).toEqual({ url: '/q', param: 1, quick: false });
  });

  it('getPeerCert is null on plain connections', async () => {
    const server = new Server();
    await server.listen(0, '127.0.0.1');
    onCleanup(() => server.close());
    const seen = deferred<RemoteClient>();
    server.onclient = (cli, connected) => connected && seen.resolve(cli);
    const { client, code } = await tryConnect(`vsoa://127.0.0.1:${server.address().port}`, undefined);
    expect(code).toBe(ConnectCode.OK);
    expect(client.getPeerCert()).toBeNull();
    expect(client.getPeerCert(true)).toBeNull();
    expect((await seen.promise).getPeerCert()).toBeNull();
  });
});
