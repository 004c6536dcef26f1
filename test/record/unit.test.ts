import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

/** vsoa-record@.service: verifies (systemd-analyze, through a stub executable) and is hardened as the robot unit. */

const root = new URL('../../', import.meta.url).pathname;
const analyze = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find((p) => existsSync(p));
const unit = readFileSync(join(root, 'systemd/vsoa-record@.service'), 'utf8');

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('systemd/vsoa-record@.service', () => {
  it('runs the recorder with the instance config, as Type=notify, in its own state directory', () => {
    expect(unit).toMatch(/^ExecStart=\/usr\/local\/bin\/vsoa record --config \/etc\/vsoa\/record-%i\.json$/m);
    for (const line of [
      'Type=notify',
      'StateDirectory=vsoa-record-%i',
      'WorkingDirectory=%S/vsoa-record-%i',
      'RestartPreventExitStatus=2',
    ]) {
      expect(unit.split('\n')).toContain(line);
    }
  });

  it('has every hardening line of vsoa-robot@.service', () => {
    const robot = readFileSync(join(root, 'systemd/vsoa-robot@.service'), 'utf8').split('\n');
    const start = robot.indexOf('NoNewPrivileges=yes');
    const hardening = robot
      .slice(start)
      .filter((l) => /^[A-Z][A-Za-z]+=/.test(l) && !l.startsWith('WantedBy'));
    expect(hardening.length).toBeGreaterThan(15);
    for (const line of hardening) expect(unit.split('\n')).toContain(line);
  });

  it.skipIf(!analyze)('verifies without a word (systemd-analyze)', async () => {
    dir = mkdtempSync(join(tmpdir(), 'vsoa-record-unit-'));
    const stub = join(dir, 'vsoa');
    writeFileSync(stub, '#!/bin/sh\nexit 0\n');
    chmodSync(stub, 0o755);
    const path = join(dir, 'vsoa-record@drive.service');
    writeFileSync(path, unit.replaceAll('/usr/local/bin/vsoa', stub));
    const out = await new Promise<string>((resolve) => {
      execFile(analyze as string, ['verify', '--man=no', path], { cwd: dir }, (error, stdout, stderr) =>
        resolve(`${error ? `exit ${error.code}\n` : ''}${stdout}${stderr}`.trim()),
      );
    });
    expect(out).toBe('');
  });

  it('the sample config names a server and what to record (its keys are checked by cli.test.ts)', () => {
    const sample = JSON.parse(
      readFileSync(join(root, 'deploy/etc/vsoa/record-example.json'), 'utf8'),
    ) as Record<string, unknown>;
    expect(sample.server).toMatch(/^vsoa:\/\//);
    expect(sample.subscribe).toEqual(['/']);
  });
});
