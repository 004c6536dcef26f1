import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, fstatSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { syslogPriority } from '../../src/cli/logging.js';
import { repoRoot } from '../helpers/cli.js';

/*
 * Under systemd stderr is the journal's stream and JOURNAL_STREAM names it (device:inode).
 * journald reads a leading "<N>" as the line's priority (SyslogLevelPrefix=yes, the default),
 * so `journalctl -p warning` shows the CLI's warnings and errors. Here stderr is a file whose
 * device:inode the test puts in JOURNAL_STREAM, exactly as systemd does for its stream.
 */

const script = `
  const { installCliLogger } = await import('./src/cli/logging.ts');
  const { moduleLogger } = await import('./src/util/log.ts');
  installCliLogger({ level: 'debug' });
  const log = moduleLogger('test');
  log.debug('d'); log.info('i'); log.warn('w'); log.error('e'); log.fatal?.('f');`;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vsoa-journal-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the logging script with stderr on a file; `stream` decides what JOURNAL_STREAM says. */
async function logTo(stream: (st: { dev: number; ino: number }) => string | undefined): Promise<string[]> {
  const file = join(dir, 'stderr');
  const fd = openSync(file, 'w');
  try {
    const env = { ...process.env };
    delete env.JOURNAL_STREAM;
    const value = stream(fstatSync(fd));
    if (value !== undefined) env.JOURNAL_STREAM = value;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: repoRoot,
      env,
      stdio: ['ignore', 'ignore', fd],
    });
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
  } finally {
    closeSync(fd);
  }
  return readFileSync(file, 'utf8').trim().split('\n');
}

describe('logging to journald', () => {
  it('prefixes each JSON line with its syslog priority when stderr is the journal stream', async () => {
    const lines = await logTo((st) => `${st.dev}:${st.ino}`);
    expect(lines.map((l) => l.slice(0, 3))).toEqual(['<7>', '<6>', '<4>', '<3>', '<2>']);
    for (const l of lines) JSON.parse(l.slice(3)); // the rest is still one JSON object
    expect(JSON.parse(lines[2]!.slice(3))).toMatchObject({ level: 40, msg: 'w' });
  }, 30_000);

  it('writes plain JSON lines when JOURNAL_STREAM is unset or names another stream', async () => {
    for (const lines of [await logTo(() => undefined), await logTo(() => '1:2')]) {
      expect(lines).toHaveLength(5);
      for (const l of lines) expect(l.startsWith('{')).toBe(true);
    }
  }, 30_000);

  it('stores the one-line error of a broken configuration at priority 3 (err)', async () => {
    const config = join(dir, 'robot.json');
    writeFileSync(config, '{"server": 3005}');
    const file = join(dir, 'stderr-cli');
    const fd = openSync(file, 'w');
    try {
      const st = fstatSync(fd);
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', 'src/cli/main.ts', 'robot', '--config', config],
        {
          cwd: repoRoot,
          env: { ...process.env, JOURNAL_STREAM: `${st.dev}:${st.ino}` },
          stdio: ['ignore', 'ignore', fd],
        },
      );
      const [code] = await once(child, 'exit');
      expect(code).toBe(2);
    } finally {
      closeSync(fd);
    }
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    const line = lines.find((l) => l.includes('robot config'));
    expect(line).toMatch(/^<3>vsoa robot: robot config .*"server" must be a url or a list of urls/);
  }, 30_000);

  it('maps pino levels onto sd-daemon priorities', () => {
    expect([60, 50, 40, 30, 20, 10].map(syslogPriority)).toEqual([2, 3, 4, 6, 7, 7]);
  });
});
