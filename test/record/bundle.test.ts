import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/cli.js';
import { startServer } from '../helpers/net.js';
import { readMcap, tempDir } from './helpers.js';

function run(
  file: string,
  args: string[],
  cwd: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? ((error as { code?: number }).code ?? 1) : 0;
      resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
    });
  });
}

describe('vsoa record in the single-file bundle (esbuild CommonJS, no node_modules beside it)', () => {
  it('records with zstd and lz4 (the zstd WebAssembly is embedded) and reads the files back', async () => {
    const dir = tempDir();
    const bundle = join(dir, 'vsoa.cjs');
    const built = await run(process.execPath, [join(repoRoot, 'cross/bundle.mjs'), bundle], repoRoot);
    expect(built.code, built.stderr).toBe(0);
    const { server, url } = await startServer();
    const timer = setInterval(() => server.publish('/b', { param: { v: Math.random() } }), 10);
    try {
      for (const compression of ['zstd', 'lz4']) {
        const out = join(dir, `${compression}.mcap`);
        // cwd is the temp dir: nothing can be found in node_modules from there.
        const r = await run(
          process.execPath,
          [
            bundle,
            'record',
            url,
            '--sub',
            '/',
            '-o',
            out,
            '--compression',
            compression,
            '--duration',
            '1s',
            '--min-free',
            '0',
            '--log-level',
            'error',
          ],
          dir,
        );
        expect(r.code, r.stderr).toBe(0);
        const file = await readMcap(out);
        expect(file.compression).toEqual([compression]);
        expect(file.messages.filter((m) => m.topic === '/b').length).toBeGreaterThan(10);
        const info = await run(
          process.execPath,
          [bundle, 'replay', '--info', out, '--json', '--log-level', 'error'],
          dir,
        );
        expect(info.code, info.stderr).toBe(0);
        expect((JSON.parse(info.stdout) as { compression: string[] }).compression).toEqual([compression]);
      }
    } finally {
      clearInterval(timer);
    }
  });
});
