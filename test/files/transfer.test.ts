import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { getFile, listFiles, putFile } from '../../src/files/index.js';
import { fileServer, MiB, sha256Of, tempDir, writeRandom } from './helpers.js';

describe('files: downloads and uploads', () => {
  it.each([
    ['empty', 0],
    ['one byte', 1],
    ['1 MiB', MiB],
    ['64 MiB', 64 * MiB],
  ])(
    'downloads a %s file with matching sha256 on both ends',
    async (_name, size) => {
      const { client, root } = await fileServer();
      const source = writeRandom(root, `f-${size}.bin`, size);
      const dest = path.join(tempDir('dl'), 'copy.bin');
      let last = 0;
      const result = await getFile(client, `/files/f-${size}.bin`, dest, {
        onProgress: (p) => {
          last = p.bytes;
        },
      });
      expect(result.size).toBe(size);
      expect(result.sha256).toBe(sha256Of(source));
      expect(sha256Of(dest)).toBe(result.sha256);
      if (size > 0) expect(last).toBe(size);
    },
    60_000,
  );

  it.each([
    ['empty', 0],
    ['one byte', 1],
    ['1 MiB', MiB],
    ['64 MiB', 64 * MiB],
  ])(
    'uploads a %s file, verified and renamed into place',
    async (_name, size) => {
      const { client, root } = await fileServer({ writable: true });
      const source = writeRandom(tempDir('src'), 'up.bin', size);
      const result = await putFile(client, source, `/files/in/up-${size}.bin`);
      expect(result.sha256).toBe(sha256Of(source));
      expect(sha256Of(path.join(root, 'in', `up-${size}.bin`))).toBe(result.sha256);
    },
    60_000,
  );

  it('runs downloads and uploads in parallel', async () => {
    const { client, root } = await fileServer({ writable: true });
    const local = tempDir('par');
    const downs = [0, 1, 2, 3].map((i) => writeRandom(root, `d${i}.bin`, (i + 1) * MiB));
    const ups = [0, 1, 2, 3].map((i) => writeRandom(local, `u${i}.bin`, (i + 1) * 512 * 1024));
    await Promise.all([
      // The Client methods (they load vsoa-edge/files on first use).
      ...downs.map((_, i) => client.getFile(`/files/d${i}.bin`, path.join(local, `got${i}.bin`))),
      ...ups.map((file, i) => client.putFile(file, `/files/u${i}.bin`)),
    ]);
    downs.forEach((file, i) => {
      expect(sha256Of(path.join(local, `got${i}.bin`))).toBe(sha256Of(file));
    });
    ups.forEach((file, i) => {
      expect(sha256Of(path.join(root, `u${i}.bin`))).toBe(sha256Of(file));
    });
  }, 60_000);

  it('lists directories (not partial uploads, not special files)', async () => {
    const { client, root } = await fileServer();
    writeRandom(root, 'a.txt', 3);
    writeRandom(root, 'sub/b.txt', 5);
    writeFileSync(path.join(root, '.vsoa-part.0123456789abcdef.0123456789abcdef'), 'x');
    const top = await client.listFiles('/files/');
    expect(top.map((e) => [e.name, e.type, e.size])).toEqual([
      ['a.txt', 'file', 3],
      ['sub', 'dir', 0],
    ]);
    expect((await listFiles(client, '/files/sub')).map((e) => e.name)).toEqual(['b.txt']);
  });

  it('a download cut mid-way resumes from what was received', async () => {
    const { client, root, streams } = await fileServer();
    const source = writeRandom(root, 'big.bin', 32 * MiB);
    const dest = path.join(tempDir('resume'), 'big.bin');
    let cut = false;
    const first = await getFile(client, '/files/big.bin', dest, {
      onProgress: (p) => {
        if (!cut && p.bytes > 8 * MiB) {
          cut = true;
          streams.at(-1)?.destroy();
        }
      },
    }).catch((e: unknown) => e as Error & { received: number });
    expect(first).toBeInstanceOf(Error);
    expect((first as { received: number }).received).toBeGreaterThan(8 * MiB);
    const again = await getFile(client, '/files/big.bin', dest);
    expect(again.offset).toBeGreaterThan(8 * MiB);
    expect(again.transferred).toBe(32 * MiB - again.offset);
    expect(sha256Of(dest)).toBe(sha256Of(source));
  }, 60_000);

  it('an upload cut mid-way resumes from the partial the server kept; the old file stays until then', async () => {
    const { client, root, streams } = await fileServer({ writable: true });
    writeFileSync(path.join(root, 'target.bin'), 'the good old version');
    const source = writeRandom(tempDir('up'), 'new.bin', 32 * MiB);
    let cut = false;
    const first = await putFile(client, source, '/files/target.bin', {
      onProgress: (p) => {
        if (!cut && p.bytes > 8 * MiB) {
          cut = true;
          streams.at(-1)?.destroy();
        }
      },
    }).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(Error);
    expect(readFileSync(path.join(root, 'target.bin'), 'utf8')).toBe('the good old version');
    const again = await putFile(client, source, '/files/target.bin');
    expect(again.offset).toBeGreaterThan(0);
    expect(sha256Of(path.join(root, 'target.bin'))).toBe(sha256Of(source));
  }, 60_000);
});

describe('files: the sha256 trailer of a download', () => {
  it('a version not hashed yet goes with a trailer; once hashed, the reply carries the sha256', async () => {
    const { client, root } = await fileServer();
    const source = writeRandom(root, 't.bin', 300_000);
    const first = await client.fetch('/files/t.bin', { payload: { param: { trailer: true } } });
    expect(first.payload.param).toMatchObject({ size: 300_000, offset: 0, trailer: true });
    expect((first.payload.param as { sha256?: string }).sha256).toBeUndefined();
    const bytes: Buffer[] = [];
    await new Promise<void>((resolve) => {
      client.createStream(first.header.tunid, (s, connected) => {
        if (!connected) resolve();
        else s.on('data', (c: Buffer) => bytes.push(c));
      });
    });
    const all = Buffer.concat(bytes);
    expect(all.subarray(0, 300_000)).toEqual(readFileSync(source));
    expect(JSON.parse(all.subarray(300_000).toString())).toEqual({ sha256: sha256Of(source) });
    // Hashed while sent: the next GET (with or without trailer) has it in the reply.
    const second = await client.fetch('/files/t.bin', { payload: { param: { trailer: true } } });
    expect(second.payload.param).toMatchObject({ sha256: sha256Of(source), offset: 0 });
    expect((second.payload.param as { trailer?: boolean }).trailer).toBeUndefined();
  });
});
