import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { firstLine, spawnVsoa, vsoa } from '../helpers/cli.js';
import { MiB, sha256Of, tempDir, writeRandom } from './helpers.js';

/** `vsoa serve --files`, `vsoa cp` both ways (and -r), `vsoa ls`, as a user runs them. */

async function serveFilesCli(root: string, ...extra: string[]): Promise<string> {
  const child = spawnVsoa('serve', '--host', '127.0.0.1', '--port', '0', '--json', '--files', root, ...extra);
  const { listening } = JSON.parse(await firstLine(child)) as { listening: { port: number } };
  return `vsoa://127.0.0.1:${listening.port}`;
}

describe('vsoa cp / ls / serve --files', () => {
  it('copies a file down and up, verified, with a JSON summary', async () => {
    const root = tempDir('cli-root');
    const source = writeRandom(root, 'logs/drive.log', 2 * MiB);
    const server = await serveFilesCli(root, '--writable');
    const local = tempDir('cli-local');
    const down = await vsoa('cp', `${server}/files/logs/drive.log`, local, '--json');
    expect(down.stderr).toBe('');
    expect(down.code).toBe(0);
    const summary = JSON.parse(down.stdout) as {
      files: Array<{ sha256: string; size: number }>;
      bytes: number;
    };
    expect(summary.files[0]?.sha256).toBe(sha256Of(source));
    expect(sha256Of(path.join(local, 'drive.log'))).toBe(sha256Of(source));

    const up = await vsoa('cp', path.join(local, 'drive.log'), `${server}/files/back/`, '--json');
    expect(up.code).toBe(0);
    expect(sha256Of(path.join(root, 'back', 'drive.log'))).toBe(sha256Of(source));

    const ls = await vsoa('ls', `${server}/files/`);
    expect(ls.code).toBe(0);
    expect(ls.stdout).toMatch(/^d .* back\/$/m);
    expect(ls.stdout).toMatch(/^d .* logs\/$/m);
  }, 60_000);

  it('copies a directory tree with -r in both directions', async () => {
    const root = tempDir('cli-tree');
    writeRandom(root, 'maps/a.bin', 1000);
    writeRandom(root, 'maps/sub/b.bin', 2000);
    const server = await serveFilesCli(root, '--writable');
    const local = tempDir('cli-tree-local');
    const down = await vsoa('cp', '-r', `${server}/files/maps`, path.join(local, 'maps'), '--json');
    expect(down.code).toBe(0);
    expect(readFileSync(path.join(local, 'maps/sub/b.bin'))).toEqual(
      readFileSync(path.join(root, 'maps/sub/b.bin')),
    );
    const up = await vsoa('cp', '-r', path.join(local, 'maps'), `${server}/files/copy`, '--json');
    expect(up.code).toBe(0);
    expect(readFileSync(path.join(root, 'copy/a.bin'))).toEqual(readFileSync(path.join(root, 'maps/a.bin')));
  }, 60_000);

  it('exit codes: 1 for a refused transfer, 2 for a usage error', async () => {
    const root = tempDir('cli-ro');
    writeRandom(root, 'x.bin', 10);
    const server = await serveFilesCli(root);
    const local = tempDir('cli-ro-local');
    const refused = await vsoa('cp', writeRandom(local, 'y.bin', 5), `${server}/files/y.bin`);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/NOT_ALLOWED: this file service is read-only/);
    const missing = await vsoa('cp', `${server}/files/nope.bin`, local);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/NOT_FOUND/);
    const usage = await vsoa('cp', '/a', '/b');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/exactly one/);
  }, 60_000);
});
