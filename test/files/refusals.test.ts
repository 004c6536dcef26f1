import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileStatus, getFile, putFile } from '../../src/files/index.js';
import type { Client } from '../../src/index.js';
import { onCleanup } from '../helpers/net.js';
import { fileServer, MiB, tempDir, writeRandom } from './helpers.js';

async function statusOf(
  client: Client,
  url: string,
  method: 'GET' | 'SET' = 'GET',
  param: unknown = {},
): Promise<number> {
  const { header } = await client.fetch(url, { method, payload: { param } });
  return header.status;
}

const upload = { size: 1, sha256: 'a'.repeat(64) };

describe('files: refusals (nothing outside the root is ever read or written)', () => {
  it('refuses .. segments, absolute paths, long names, and unknown files', async () => {
    const { client } = await fileServer({ writable: true });
    expect(await statusOf(client, '/files/../etc/passwd')).toBe(FileStatus.BAD_PATH);
    expect(await statusOf(client, '/files/a/./b')).toBe(FileStatus.BAD_PATH);
    expect(await statusOf(client, '/files//etc/passwd')).toBe(FileStatus.BAD_PATH);
    expect(await statusOf(client, `/files/${'n'.repeat(256)}`)).toBe(FileStatus.BAD_PATH);
    expect(await statusOf(client, '/files/../x', 'SET', upload)).toBe(FileStatus.BAD_PATH);
    expect(await statusOf(client, '/files/missing.bin')).toBe(FileStatus.NOT_FOUND);
  });

  it('refuses symlinks that leave the root, for reading, listing and writing', async () => {
    const outside = tempDir('outside');
    writeFileSync(path.join(outside, 'secret'), 'secret');
    const { client, root } = await fileServer({ writable: true });
    symlinkSync(path.join(outside, 'secret'), path.join(root, 'link'));
    symlinkSync(outside, path.join(root, 'dirlink'));
    expect(await statusOf(client, '/files/link')).toBe(FileStatus.NOT_ALLOWED);
    expect(await statusOf(client, '/files/dirlink/secret')).toBe(FileStatus.NOT_ALLOWED);
    expect(await statusOf(client, '/files/dirlink/new', 'SET', upload)).toBe(FileStatus.NOT_ALLOWED);
    expect(existsSync(path.join(outside, 'new'))).toBe(false);
    const { payload } = await client.fetch('/files/');
    expect(payload.param).toEqual([]);
  });

  it('refuses special files, writes when read-only, files over maxFileSize, and too many transfers', async () => {
    const { client, root } = await fileServer({ maxFileSize: MiB, maxConcurrent: 1, streamTimeout: 2000 });
    execFileSync('mkfifo', [path.join(root, 'fifo')]);
    writeRandom(root, 'big.bin', MiB + 1);
    writeRandom(root, 'ok.bin', 10);
    expect(await statusOf(client, '/files/fifo')).toBe(FileStatus.NOT_ALLOWED);
    expect(await statusOf(client, '/files/new', 'SET', upload)).toBe(FileStatus.NOT_ALLOWED);
    expect(await statusOf(client, '/files/big.bin')).toBe(FileStatus.TOO_LARGE);
    // The first GET holds the only slot until its stream is taken or times out.
    const first = await client.fetch('/files/ok.bin');
    expect(first.header.status).toBe(0);
    const busy = await client.fetch('/files/ok.bin');
    expect(busy.header.status).toBe(FileStatus.BUSY);
    expect((busy.payload.param as { error: string }).error).toMatch(/too many/);
  });

  it('a lying upload (bytes that do not match the sha256) never replaces the good file', async () => {
    const { client, root } = await fileServer({ writable: true });
    writeFileSync(path.join(root, 'keep.txt'), 'good');
    const { header } = await client.fetch('/files/keep.txt', {
      method: 'SET',
      payload: { param: { size: 4, sha256: 'b'.repeat(64) } },
    });
    expect(header.status).toBe(0);
    const line = await new Promise<string>((resolve) => {
      client.createStream(header.tunid, (s, connected) => {
        if (!connected) return;
        let text = '';
        s.on('data', (c: Buffer) => {
          text += c.toString();
          if (text.includes('\n')) resolve(text);
        });
        s.write('evil');
      });
    });
    expect(JSON.parse(line)).toMatchObject({ ok: false, error: 'sha256 mismatch' });
    expect(readFileSync(path.join(root, 'keep.txt'), 'utf8')).toBe('good');
  });
});

describe('files: a full disk', () => {
  const root = process.getuid?.() === 0;
  it.skipIf(!root)(
    'a write error fails the transfer, removes the partial, and the good file stays',
    async () => {
      const dir = tempDir('tmpfs');
      mkdirSync(dir, { recursive: true });
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', dir]);
      onCleanup(() => execFileSync('umount', ['-l', dir]));
      writeFileSync(path.join(dir, 'firmware.bin'), 'good firmware');
      const { client } = await fileServer({ writable: true }, dir);
      const source = writeRandom(tempDir('src'), 'huge.bin', 4 * MiB);
      const error = (await putFile(client, source, '/files/firmware.bin').catch(
        (e: unknown) => e,
      )) as Error & {
        status: number;
      };
      expect(error.status).toBe(FileStatus.IO_ERROR);
      expect(error.message).toMatch(/write failed: ENOSPC/);
      expect(readFileSync(path.join(dir, 'firmware.bin'), 'utf8')).toBe('good firmware');
      expect(execFileSync('ls', ['-a', dir]).toString()).not.toMatch(/vsoa-part/);
      // And a download that fits still works afterwards.
      const dest = path.join(tempDir('dl'), 'fw.bin');
      await getFile(client, '/files/firmware.bin', dest);
      expect(readFileSync(dest, 'utf8')).toBe('good firmware');
    },
    30_000,
  );
});
