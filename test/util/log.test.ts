import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Runs a server/client round trip in a fresh process; reports whether pino got loaded. */
const script = `
import { createRequire } from 'node:module';
import { Client, Server } from './src/index.ts';
const server = new Server();
await server.listen(0, '127.0.0.1');
const client = new Client();
await client.connect('vsoa://127.0.0.1:' + server.address().port);
client.close();
await server.close();
const loaded = Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes('/pino/'));
console.log('PINO_LOADED=' + loaded);
`;

function run(env: NodeJS.ProcessEnv): Promise<{ stdout: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      { cwd: root, env: { ...process.env, VSOA_LOG_LEVEL: undefined, ...env }, timeout: 20_000 },
      (error, stdout) => (error ? reject(error) : resolve({ stdout })),
    );
  });
}

describe('library logging', () => {
  it('is silent by default and never loads pino (about 8 MiB of RSS)', async () => {
    const { stdout } = await run({});
    expect(stdout.trim()).toBe('PINO_LOADED=false');
  });

  it('logs JSON lines through pino when VSOA_LOG_LEVEL asks for them', async () => {
    const { stdout } = await run({ VSOA_LOG_LEVEL: 'debug' });
    // pino writes asynchronously: its lines may come before or after the marker.
    const lines = stdout.trim().split('\n');
    expect(lines).toContain('PINO_LOADED=true');
    const logs = lines
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg: string; mod?: string; level: number });
    expect(logs.some((l) => l.mod === 'server' && l.msg === 'listening' && l.level === 20)).toBe(true);
  });
});
