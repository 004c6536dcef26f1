import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ALLOCATOR_ENV } from '../../src/index.js';
import { repoRoot, vsoa } from '../helpers/cli.js';

const exec = promisify(execFile);

/**
 * A child that (optionally) tunes its allocator (the built package, as an application loads it:
 * under tsx the loader's own allocations come first and blur the difference), then allocates 256 KiB buffers the way a
 * subscriber of large messages does (each filled, a few alive at once) and reports the minor
 * page faults per buffer. glibc's defaults hand freed heap back and mmap some of them afresh.
 */
const PROBE = `
  const { tuneAllocator } = await import('./dist/index.js');
  const tuning = process.argv.includes('tune') ? tuneAllocator() : undefined;
  const keep = [];
  const f0 = process.resourceUsage().minorPageFault;
  for (let i = 0; i < 4000; i++) {
    const b = Buffer.allocUnsafe(262144);
    b.fill(i & 255);
    keep.push(b);
    if (keep.length > 8) keep.shift();
  }
  const faults = (process.resourceUsage().minorPageFault - f0) / 4000;
  console.log(JSON.stringify({ tuning, faults }));`;

async function probe(tune: boolean, extraEnv: NodeJS.ProcessEnv = {}) {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extraEnv };
  for (const name of Object.keys(ALLOCATOR_ENV)) if (!(name in extraEnv)) delete env[name];
  const args = ['--input-type=module', '-e', PROBE, '--', ...(tune ? ['tune'] : [])];
  const { stdout } = await exec(process.execPath, args, { cwd: repoRoot, env });
  return JSON.parse(stdout) as { tuning?: { applied: boolean; reason?: string }; faults: number };
}

describe('tuneAllocator()', () => {
  it('applies the settings by mallopt: 256 KiB buffers stop faulting their pages in afresh', async () => {
    const untuned = await probe(false);
    const tuned = await probe(true);
    expect(tuned.tuning).toEqual({ applied: true });
    // Measured here: 7–9 faults per buffer with glibc's defaults, ~2.3 tuned (a 256 KiB buffer is 64 pages).
    expect(tuned.faults).toBeLessThan(untuned.faults / 2);
  }, 60_000);

  it('leaves the allocator to the environment when a MALLOC_* variable is set, and says so', async () => {
    const { tuning } = await probe(true, { MALLOC_TRIM_THRESHOLD_: '131072' });
    expect(tuning).toEqual({ applied: false, reason: 'set by the environment (MALLOC_TRIM_THRESHOLD_)' });
  }, 30_000);

  it('without the native addon: not applied, and why', async () => {
    const { tuning } = await probe(true, { VSOA_NO_NATIVE: '1' });
    expect(tuning).toEqual({ applied: false, reason: 'native addon not loaded' });
  }, 30_000);

  it('the vsoa command applies it before its verb runs', async () => {
    const { stderr } = await vsoa('--log-level', 'debug', 'ping', 'vsoa://127.0.0.1:1', '--timeout', '200');
    const lines = stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg?: string; applied?: boolean });
    expect(lines.find((l) => l.msg?.startsWith('allocator'))).toMatchObject({
      msg: 'allocator tuned (mallopt)',
      applied: true,
    });
  }, 30_000);
});
