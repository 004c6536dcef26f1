import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { nativeStatus } from '../../src/index.js';
import { repoRoot } from '../helpers/cli.js';

const exec = promisify(execFile);

/** Runs `body` (ESM, top-level await) in a child with the addon switched off. */
async function withoutAddon(body: string): Promise<unknown> {
  const env: NodeJS.ProcessEnv = { ...process.env, VSOA_NO_NATIVE: '1' };
  delete env.VSOA_LOG_LEVEL;
  const { stdout } = await exec(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', body], {
    cwd: repoRoot,
    env,
  });
  return JSON.parse(stdout);
}

describe('nativeStatus() and the VSOA_NO_NATIVE warning', () => {
  it('reports the addon built here as loaded', () => {
    expect(nativeStatus()).toEqual({ loaded: true, degraded: [] });
  });

  it('without the addon: says why, and warns once (code VSOA_NO_NATIVE) when a feature first needs it', async () => {
    const out = await withoutAddon(`
      const { nativeStatus, Server, Client } = await import('./src/index.ts');
      const { loadNative } = await import('./src/native/addon.ts');
      const warnings = [];
      process.on('warning', (w) => warnings.push({ name: w.name, code: w.code, message: w.message }));
      const status = nativeStatus();
      await new Promise((r) => setImmediate(r));
      const before = warnings.length;
      // A real connection: the socket options (priority, keepalive) want the addon.
      const server = new Server();
      await server.listen(0, '127.0.0.1');
      const client = new Client();
      await client.connect('vsoa://127.0.0.1:' + server.address().port);
      client.linger(1);
      loadNative();
      client.close();
      await server.close();
      await new Promise((r) => setImmediate(r));
      console.log(JSON.stringify({ status, before, warnings }));`);
    expect(out).toMatchObject({
      status: { loaded: false, reason: 'VSOA_NO_NATIVE=1' },
      before: 0,
      warnings: [{ name: 'Warning', code: 'VSOA_NO_NATIVE' }],
    });
    const { warnings } = out as { warnings: Array<{ message: string }> };
    expect(warnings[0]?.message).toMatch(/native addon not loaded \(VSOA_NO_NATIVE=1\); degraded: priority/);
  }, 30_000);
});
