import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/cli.js';
import { onCleanup } from '../helpers/net.js';

const analyze = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find((p) => existsSync(p));
const unit = readFileSync(join(repoRoot, 'systemd/vsoa-bridge@.service'), 'utf8');

describe('vsoa-bridge@.service and the sample config', () => {
  it.skipIf(!analyze)('verifies without a word (ExecStart pointed at a stub)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vsoa-bridge-unit-'));
    onCleanup(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'vsoa'), '#!/bin/sh\nexit 0\n');
    chmodSync(join(dir, 'vsoa'), 0o755);
    const path = join(dir, 'vsoa-bridge@uplink.service');
    writeFileSync(path, unit.replaceAll('/usr/local/bin/vsoa', join(dir, 'vsoa')));
    const out = await new Promise<string>((resolve) =>
      execFile(analyze as string, ['verify', '--man=no', path], { cwd: dir }, (error, stdout, stderr) =>
        resolve(`${error ? `exit ${error.code}\n` : ''}${stdout}${stderr}`.trim()),
      ),
    );
    expect(out).toBe('');
  });

  it('is a notify service with a watchdog, a per-instance state directory and the robot unit hardening', () => {
    const lines = unit.split('\n');
    for (const line of [
      'Type=notify',
      'NotifyAccess=main',
      'WatchdogSec=10s',
      'Restart=on-failure',
      'RestartPreventExitStatus=2',
      'StateDirectory=vsoa-bridge-%i',
      'ExecStart=/usr/local/bin/vsoa bridge --config /etc/vsoa/bridge-%i.json',
    ]) {
      expect(lines).toContain(line);
    }
    const robot = readFileSync(join(repoRoot, 'systemd/vsoa-robot@.service'), 'utf8');
    const hardening = robot
      .split('\n')
      .filter((l) =>
        /^(DynamicUser|NoNewPrivileges|Protect\w+|Private\w+|Restrict\w+|LockPersonality|SystemCall\w+|CapabilityBoundingSet|AmbientCapabilities|UMask)=/.test(
          l,
        ),
      );
    expect(hardening.length).toBeGreaterThan(15);
    for (const line of hardening) expect(lines).toContain(line);
  });

  it('the sample config names only keys the bridge knows', () => {
    const sample = JSON.parse(readFileSync(join(repoRoot, 'deploy/etc/vsoa/bridge-example.json'), 'utf8'));
    const source = readFileSync(join(repoRoot, 'src/cli/commands/bridge.ts'), 'utf8');
    for (const key of Object.keys(sample)) expect(source).toMatch(new RegExp(`^  ${key}: '`, 'm'));
  });
});
