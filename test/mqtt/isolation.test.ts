import { execFile } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/cli.js';

/** Imports `modules` in a fresh Node and says whether the `mqtt` package got loaded. */
function loadsMqtt(modules: string[]): Promise<boolean> {
  const script = `
    import { createRequire } from 'node:module';
    for (const m of ${JSON.stringify(modules)}) await import(m);
    const cache = createRequire(import.meta.url).cache;
    console.log(Object.keys(cache).some((k) => k.includes('/node_modules/mqtt/')));
  `;
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      { cwd: repoRoot, timeout: 25_000 },
      (error, stdout, stderr) => (error ? reject(new Error(stderr)) : resolve(stdout.trim() === 'true')),
    );
  });
}

describe('the mqtt package is loaded only by the bridge', () => {
  it('not by the core package nor by the CLI program; by vsoa-edge/mqtt', async () => {
    expect(await loadsMqtt(['./src/index.ts'])).toBe(false);
    expect(await loadsMqtt(['./src/cli/program.ts'])).toBe(false);
    expect(await loadsMqtt(['./src/mqtt/index.ts'])).toBe(true);
  });
});
