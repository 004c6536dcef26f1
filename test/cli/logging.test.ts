import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { LOG_LEVELS, parseLogLevel } from '../../src/cli/logging.js';

const exec = promisify(execFile);
const root = new URL('../../', import.meta.url).pathname;

/** Logs two lines through the CLI logger in a child whose stderr is a pipe, as under systemd. */
async function logInChild(options: string): Promise<string> {
  const script = `
    const { installCliLogger } = await import('./src/cli/logging.ts');
    const { moduleLogger } = await import('./src/util/log.ts');
    installCliLogger(${options});
    moduleLogger('server').info({ port: 3005 }, 'listening');
    moduleLogger('server').debug('hidden at info');`;
  const { stdout, stderr } = await exec(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', script],
    {
      cwd: root,
    },
  );
  expect(stdout).toBe(''); // logs never go to stdout (command output does)
  return stderr;
}

describe('CLI logger', () => {
  it('writes one JSON object a line on stderr when it is not a terminal, and the library uses it', async () => {
    const stderr = await logInChild("{ level: 'info' }");
    const lines = stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    const entry = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(entry).toMatchObject({ level: 30, mod: 'server', port: 3005, msg: 'listening' });
    expect(typeof entry.time).toBe('number');
  });

  it('prints pretty text when asked (as on a terminal)', async () => {
    const stderr = await logInChild("{ level: 'debug', pretty: true }");
    expect(stderr).toMatch(/INFO.*listening/);
    expect(stderr).toMatch(/DEBUG.*hidden at info/);
    expect(stderr).not.toMatch(/^\{/m);
  });

  it('parseLogLevel accepts pino levels in any case and names the choices otherwise', () => {
    expect(parseLogLevel('DEBUG')).toBe('debug');
    expect(LOG_LEVELS).toContain('silent');
    expect(() => parseLogLevel('loud')).toThrow(/log level must be one of fatal, error/);
  });
});
