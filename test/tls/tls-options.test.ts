import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certificateVersion } from '../../src/transport/peer-cert.js';
import { isTlsFailure, resolveClientTls, resolveServerTls } from '../../src/transport/tls-options.js';
import { makePki, type Pki } from './pki.js';

let pki: Pki;
beforeAll(() => {
  pki = makePki();
});
afterAll(() => pki.remove());

describe('resolveServerTls', () => {
  it('one-way without caCert: no client certificate asked, even with verifyMode required (seed example)', () => {
    const r = resolveServerTls({ cert: pki.serverCert, key: pki.serverKey, verifyMode: 'required' });
    expect(r.verify).toBe('none');
    expect(r.options.requestCert).toBe(false);
    expect(r.options.ca).toBeUndefined();
    expect(Buffer.isBuffer(r.options.cert)).toBe(true);
  });

  it('caCert means mutual unless verifyMode says otherwise', () => {
    const base = { cert: pki.serverCert, key: pki.serverKey, caCert: pki.caCert };
    const required = resolveServerTls(base);
    expect([required.verify, required.options.requestCert, required.options.rejectUnauthorized]).toEqual([
      'required',
      true,
      true,
    ]);
    const optional = resolveServerTls({ ...base, verifyMode: 'optional' });
    expect([optional.options.requestCert, optional.options.rejectUnauthorized]).toEqual([true, false]);
    const none = resolveServerTls({ ...base, verifyMode: 'none' });
    expect([none.options.requestCert, none.options.rejectUnauthorized]).toEqual([false, false]);
    const withSystem = resolveServerTls({ ...base, loadDefaultCerts: true });
    expect((withSystem.options.ca as unknown[]).length).toBe(tls.rootCertificates.length + 1);
  });

  it('takes PEM text as it is, passes passwd and sniCallback on, and checks the rest', () => {
    const pem = pki.read(pki.serverCert);
    const r = resolveServerTls({
      cert: pem,
      key: pki.serverKey,
      passwd: 'pw',
      sniCallback: () => null,
      handshakeErrorLog: true,
    });
    expect(r.options.cert).toBe(pem);
    expect(r.options.passphrase).toBe('pw');
    expect(typeof r.options.SNICallback).toBe('function');
    expect(r.handshakeErrorLog).toBe(true);
    expect(() => resolveServerTls(null as never)).toThrow(TypeError);
    expect(() => resolveServerTls({ cert: pki.serverCert })).toThrow(/tls.cert and tls.key are required/);
    expect(() => resolveServerTls({ cert: 42 as never, key: pki.serverKey })).toThrow(TypeError);
    expect(() => resolveServerTls({ cert: join(pki.dir, 'missing.pem'), key: pki.serverKey })).toThrow(
      /tls.cert: cannot read/,
    );
    expect(() =>
      resolveServerTls({ cert: pki.serverCert, key: pki.serverKey, verifyMode: 'maybe' as never }),
    ).toThrow(TypeError);
  });

  it('the SNI callback picks a context, or keeps the default, or fails the handshake', async () => {
    const ctx = tls.createSecureContext({ cert: pki.read(pki.serverCert), key: pki.read(pki.serverKey) });
    const r = resolveServerTls({
      cert: pki.serverCert,
      key: pki.serverKey,
      sniCallback: (name) => {
        if (name === 'bad.test') throw new Error('no such name');
        return name === 'other.test' ? ctx : undefined;
      },
    });
    const ask = (name: string) =>
      new Promise<[Error | null, unknown]>((resolve) =>
        r.options.SNICallback?.(name, (e, c) => resolve([e, c])),
      );
    expect(await ask('other.test')).toEqual([null, ctx]);
    expect(await ask('localhost')).toEqual([null, undefined]);
    expect((await ask('bad.test'))[0]).toBeInstanceOf(Error);
  });
});

describe('resolveClientTls', () => {
  it('verifies by default: system CAs without caCert, only caCert with it, and the host name', () => {
    const system = resolveClientTls({}, '127.0.0.1');
    expect(system.options.ca).toBeUndefined();
    expect(system.options.rejectUnauthorized).toBe(true);
    expect(system.options.servername).toBeUndefined();
    const own = resolveClientTls({ caCert: pki.caCert }, '127.0.0.1');
    expect((own.options.ca as unknown[]).length).toBe(1);
    const none = resolveClientTls({ loadDefaultCerts: false }, '127.0.0.1');
    expect(none.options.ca).toEqual([]);
    const named = resolveClientTls({ hostname: 'localhost' }, '127.0.0.1');
    expect(named.options.servername).toBe('localhost');
    const cert = new X509Certificate(readFileSync(pki.serverCert)).toLegacyObject();
    expect(named.options.checkServerIdentity?.('127.0.0.1', cert)).toBeUndefined();
    expect(
      resolveClientTls({ hostname: 'wrong.test' }, '127.0.0.1').options.checkServerIdentity?.('x', cert),
    ).toBeInstanceOf(Error);
  });

  it("verifyMode 'none' turns verification off; cert and key go together", () => {
    expect(resolveClientTls({ verifyMode: 'none' }, '::1').options.rejectUnauthorized).toBe(false);
    expect(resolveClientTls({ verifyMode: 'optional' }, '::1').options.rejectUnauthorized).toBe(true);
    expect(() => resolveClientTls({ cert: pki.clientCert }, '::1')).toThrow(/go together/);
    const both = resolveClientTls({ cert: pki.clientCert, key: pki.clientKey, passwd: 'x' }, '::1');
    expect(Buffer.isBuffer(both.options.key)).toBe(true);
    expect(both.options.passphrase).toBe('x');
  });
});

describe('helpers', () => {
  it('isTlsFailure tells TLS errors from network errors', () => {
    for (const code of [
      'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
      'ERR_TLS_CERT_ALTNAME_INVALID',
      'DEPTH_ZERO_SELF_SIGNED_CERT',
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      'SELF_SIGNED_CERT_IN_CHAIN',
      'CERT_HAS_EXPIRED',
    ]) {
      expect(isTlsFailure(Object.assign(new Error(code), { code }))).toBe(true);
    }
    for (const code of ['ECONNREFUSED', 'ECONNRESET', undefined]) {
      expect(isTlsFailure(Object.assign(new Error('x'), { code }))).toBe(false);
    }
    expect(isTlsFailure(undefined)).toBe(false);
  });

  it('certificateVersion reads X.509 v3 and v1 certificates', () => {
    expect(certificateVersion(new X509Certificate(readFileSync(pki.serverCert)).raw)).toBe(3);
    // A certificate without extensions is version 1.
    execFileSync(
      'openssl',
      ['x509', '-req', '-in', 'client.csr', '-signkey', pki.clientKey, '-days', '1', '-out', 'v1.crt'],
      {
        cwd: pki.dir,
        stdio: 'ignore',
      },
    );
    expect(certificateVersion(new X509Certificate(readFileSync(join(pki.dir, 'v1.crt'))).raw)).toBe(1);
    expect(certificateVersion(Buffer.from([0x30]))).toBe(1);
    expect(certificateVersion(Buffer.alloc(0))).toBe(1);
  });
});
