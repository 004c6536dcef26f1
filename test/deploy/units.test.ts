import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ALLOCATOR_ENV } from '../../src/native/allocator.js';

/**
 * The systemd units pass `systemd-analyze verify`. verify needs ExecStart's binary to exist,
 * so each unit is verified as a copy whose ExecStart points at a stub executable in a temp
 * directory; the template is verified through an instance name. verify exits 0 even on unknown
 * keys, so any output counts as a failure.
 */

const root = new URL('../../', import.meta.url).pathname;
const analyze = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find((p) => existsSync(p));

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** Copies `unit` as `name` into a temp dir with ExecStart's binary replaced by a stub. */
function prepare(unit: string, name: string, edit: (text: string) => string = (t) => t): string {
  dir ??= mkdtempSync(join(tmpdir(), 'vsoa-units-'));
  const stub = join(dir, 'vsoa');
  if (!existsSync(stub)) {
    writeFileSync(stub, '#!/bin/sh\nexit 0\n');
    chmodSync(stub, 0o755);
  }
  const text = readFileSync(join(root, 'systemd', unit), 'utf8').replaceAll('/usr/local/bin/vsoa', stub);
  const path = join(dir, name);
  writeFileSync(path, edit(text));
  return path;
}

function verify(...paths: string[]): Promise<string> {
  return new Promise((resolve) => {
    execFile(analyze!, ['verify', '--man=no', ...paths], { cwd: dir }, (error, stdout, stderr) => {
      resolve(`${error ? `exit ${error.code}\n` : ''}${stdout}${stderr}`.trim());
    });
  });
}

function unitText(unit: string): string {
  return readFileSync(join(root, 'systemd', unit), 'utf8');
}

describe('systemd units', () => {
  if (!analyze) {
    it.skip('skipped: systemd-analyze not installed (apt-get install systemd)', () => {});
    return;
  }

  it('vsoa-position.service and an instance of vsoa-robot@.service verify without a word', async () => {
    const position = prepare('vsoa-position.service', 'vsoa-position.service');
    const robot = prepare('vsoa-robot@.service', 'vsoa-robot@lab.service');
    expect(await verify(position, robot)).toBe('');
  });

  it('the check can fail: a bad key and a missing executable are reported', async () => {
    const bad = prepare('vsoa-position.service', 'vsoa-position.service', (t) =>
      t.replace('Type=notify', 'Type=notifyy').replace(/^ExecStart=\S+/m, 'ExecStart=/nonexistent/vsoa'),
    );
    const out = await verify(bad);
    expect(out).toMatch(/notifyy/);
    expect(out).toMatch(/nonexistent/);
  });

  it.each(['vsoa-position.service', 'vsoa-robot@.service'])(
    '%s: notify, watchdog, restart, sandbox',
    (unit) => {
      const text = unitText(unit);
      for (const line of [
        'Type=notify',
        'NotifyAccess=main',
        'WatchdogSec=10s',
        'Restart=on-failure',
        'RestartPreventExitStatus=2',
        'DynamicUser=yes',
        'NoNewPrivileges=yes',
        'ProtectSystem=strict',
        'ProtectHome=yes',
        'PrivateTmp=yes',
        'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX',
        'CapabilityBoundingSet=',
        'ProtectProc=invisible',
        'SystemCallFilter=~@privileged',
      ]) {
        expect(text.split('\n')).toContain(line);
      }
      // These would break V8 or the armv7l executable on a 64-bit kernel.
      expect(text).not.toMatch(/^MemoryDenyWriteExecute=yes/m);
      expect(text).not.toMatch(/^SystemCallArchitectures=native/m);
    },
  );

  it('ExecStart runs the installed executable with the sample config paths', () => {
    expect(unitText('vsoa-position.service')).toMatch(
      /^ExecStart=\/usr\/local\/bin\/vsoa position --table \/etc\/vsoa\/position\.json/m,
    );
    expect(unitText('vsoa-robot@.service')).toMatch(
      /^ExecStart=\/usr\/local\/bin\/vsoa robot --config \/etc\/vsoa\/robot-%i\.json$/m,
    );
  });

  it('the units that move data set the allocator settings the benchmarks measure with (ALLOCATOR_ENV)', () => {
    // The library's ALLOCATOR_ENV is what the benchmarks run with and what `vsoa` applies by
    // mallopt; the units carry it too (it holds without the addon): one value, three places.
    const line = `Environment=${Object.entries(ALLOCATOR_ENV)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}`;
    expect(Object.keys(ALLOCATOR_ENV)).toEqual([
      'MALLOC_TRIM_THRESHOLD_',
      'MALLOC_TOP_PAD_',
      'MALLOC_MMAP_THRESHOLD_',
    ]);
    for (const unit of ['vsoa-robot@', 'vsoa-bridge@', 'vsoa-gateway@', 'vsoa-record@'])
      expect(unitText(`${unit}.service`).split('\n'), unit).toContain(line);
  });
});

describe('sample configuration', () => {
  it('position.json is a table of position entries', () => {
    const table = JSON.parse(readFileSync(join(root, 'deploy/etc/vsoa/position.json'), 'utf8')) as unknown[];
    expect(table.length).toBeGreaterThan(0);
    for (const entry of table) {
      expect(entry).toEqual({
        name: expect.any(String),
        domain: expect.any(Number),
        addr: expect.any(String),
        port: expect.any(Number),
        security: expect.any(Boolean),
      });
    }
  });

  it('vsoa.pos has "addr port" lines and comments only', () => {
    const lines = readFileSync(join(root, 'deploy/etc/vsoa.pos'), 'utf8').split('\n');
    for (const line of lines) expect(line).toMatch(/^(#.*|\S+ \d+|)$/);
    expect(lines.filter((l) => /^\S+ \d+$/.test(l))).not.toHaveLength(0);
  });

  it('the sample robot config is JSON naming a server', () => {
    const config = JSON.parse(readFileSync(join(root, 'deploy/etc/vsoa/robot-example.json'), 'utf8')) as {
      server: string;
    };
    expect(config.server).toMatch(/^vsoa:\/\//);
  });
});
