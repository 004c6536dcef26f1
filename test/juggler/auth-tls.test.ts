import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { describe, expect, it } from 'vitest';
import { JugglerState, listen } from '../../src/juggler/index.js';
import { onCleanup } from '../helpers/net.js';
import { makePki } from '../tls/pki.js';
import { connectJuggler, httpStatus, startJuggler } from './helpers.js';

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'juggler-'));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** An htpasswd file as Apache's htpasswd writes it: bcrypt ($2y$), {SHA}, and apr1 made by openssl. */
function htpasswd(dir: string): string {
  const apr1 = execFileSync('openssl', ['passwd', '-apr1', '-salt', 'abcdefgh', 'apr-secret'])
    .toString()
    .trim();
  const lines = [
    `bob:${bcrypt.hashSync('bcrypt-secret', 6).replace(/^\$2b\$/, '$2y$')}`,
    `sha:{SHA}${createHash('sha1').update('sha-secret').digest('base64')}`,
    `apr:${apr1}`,
    '',
  ];
  const file = join(dir, 'htpasswd');
  writeFileSync(file, lines.join('\n'));
  return file;
}

const basic = (user: string, password: string) => ({
  Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
});

describe('juggler server: HTTP Basic auth from an htpasswd file', () => {
  it('401 without a header or with a wrong password, on pages and on the WebSocket; each hash kind lets its user in', async () => {
    const { port, url } = await startJuggler({
      htpasswdFile: htpasswd(tempDir()),
      state: new JugglerState({ ok: 1 }),
    });
    const page = `http://127.0.0.1:${port}/`;
    expect(await httpStatus(page)).toBe(401);
    expect((await fetch(page)).headers.get('www-authenticate')).toMatch(/^Basic/);
    expect(await httpStatus(page, basic('bob', 'wrong'))).toBe(401);
    expect(await httpStatus(page, basic('nobody', 'bcrypt-secret'))).toBe(401);
    await expect(connectJuggler(url)).rejects.toMatchObject({ statusCode: 401 });
    await expect(connectJuggler(url, { auth: { username: 'apr', password: 'nope' } })).rejects.toThrow(/401/);
    for (const [user, password] of [
      ['bob', 'bcrypt-secret'],
      ['sha', 'sha-secret'],
      ['apr', 'apr-secret'],
    ] as const) {
      expect(await httpStatus(page, basic(user, password))).toBe(302);
      const client = await connectJuggler(url, { auth: { username: user, password } });
      expect(client.state).toEqual({ ok: 1 });
    }
  });

  it('refuses an htpasswd file with plaintext or crypt entries', async () => {
    const dir = tempDir();
    const file = join(dir, 'plain');
    writeFileSync(file, 'alice:secret\n');
    await expect(listen('127.0.0.1', 0, undefined, undefined, { htpasswdFile: file })).rejects.toThrow(
      /unsupported hash/,
    );
    writeFileSync(file, 'alice:rl.3StKT.4T8M\n');
    await expect(listen('127.0.0.1', 0, undefined, undefined, { htpasswdFile: file })).rejects.toThrow(
      /unsupported hash/,
    );
  });
});

describe('juggler server: https and wss from a PEM file', () => {
  it('serves wss with the key and certificate of one PEM; the client checks it against the CA', async () => {
    const pki = makePki();
    onCleanup(() => pki.remove());
    const pem = join(pki.dir, 'server.pem');
    writeFileSync(pem, pki.read(pki.serverKey) + pki.read(pki.serverCert));
    const { port } = await startJuggler(
      { pemFile: pem, state: new JugglerState('secure') },
      () => 'over tls',
    );
    const ca = readFileSync(pki.caCert);
    const client = await connectJuggler(`wss://127.0.0.1:${port}/ws`, { tls: { ca } });
    expect(client.state).toBe('secure');
    expect(await client.send('x', null)).toBe('over tls');
    await expect(connectJuggler(`wss://127.0.0.1:${port}/ws`)).rejects.toThrow(/certificate/i);
    await expect(connectJuggler(`ws://127.0.0.1:${port}/ws`, { connectTimeout: 2000 })).rejects.toThrow();
  });
});
