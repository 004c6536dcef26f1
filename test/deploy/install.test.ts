import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

/** deploy/install.sh against a temporary root, with stand-in executables. */

const script = new URL('../../deploy/install.sh', import.meta.url).pathname;
const repo = new URL('../../', import.meta.url).pathname;

let base: string;
let root: string;
let bins: string;

beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'vsoa-install-'));
  root = join(base, 'root');
  bins = join(base, 'bin');
  mkdirSync(root);
  mkdirSync(bins);
  for (const arch of ['x64', 'arm64', 'armv7l'])
    writeFileSync(join(bins, `vsoa-linux-${arch}`), `exe ${arch}\n`);
});
afterEach(() => {
  rmSync(base, { recursive: true, force: true });
});

function install(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('bash', [script, '--root', root, '--bin-dir', bins, ...args], (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
    });
  });
}

/** Every path under the root with its mode and content, to compare before and after. */
function snapshot(dir = root): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    const path = join(dir, name);
    const st = statSync(path);
    out[relative(root, path)] =
      `${(st.mode & 0o7777).toString(8)} ${st.isFile() ? readFileSync(path, 'utf8') : '<dir>'}`;
  }
  return out;
}

function mode(path: string): string {
  return (statSync(join(root, path)).mode & 0o7777).toString(8);
}

describe('deploy/install.sh', () => {
  it('installs the executable for the machine, the units and the sample config with their modes', async () => {
    const r = await install('--machine', 'x86_64');
    expect(r.code).toBe(0);
    expect(readFileSync(join(root, 'usr/local/bin/vsoa'), 'utf8')).toBe('exe x64\n');
    expect(mode('usr/local/bin/vsoa')).toBe('755');
    for (const unit of ['vsoa-position.service', 'vsoa-robot@.service']) {
      const path = `etc/systemd/system/${unit}`;
      expect(readFileSync(join(root, path), 'utf8')).toBe(readFileSync(join(repo, 'systemd', unit), 'utf8'));
      expect(mode(path)).toBe('644');
    }
    for (const conf of ['etc/vsoa.pos', 'etc/vsoa/position.json', 'etc/vsoa/robot-example.json']) {
      expect(readFileSync(join(root, conf), 'utf8')).toBe(readFileSync(join(repo, 'deploy', conf), 'utf8'));
      expect(mode(conf)).toBe('644');
    }
    expect(mode('etc/vsoa')).toBe('755');
    // No systemctl with --root, and no temporary files left behind.
    expect(r.stdout).toMatch(/skipped \(--root\): systemctl daemon-reload/);
    expect(Object.keys(snapshot()).filter((p) => p.includes('.new.'))).toEqual([]);
  });

  it.each([
    ['aarch64', 'arm64'],
    ['armv7l', 'armv7l'],
    ['x86_64', 'x64'],
  ])('machine %s gets vsoa-linux-%s', async (machine, arch) => {
    expect((await install('--machine', machine)).code).toBe(0);
    expect(readFileSync(join(root, 'usr/local/bin/vsoa'), 'utf8')).toBe(`exe ${arch}\n`);
  });

  it('refuses an unknown machine or a missing executable with exit 2, changing nothing', async () => {
    const mips = await install('--machine', 'mips');
    expect(mips.code).toBe(2);
    expect(mips.stderr).toMatch(/no vsoa executable for machine 'mips'/);
    rmSync(join(bins, 'vsoa-linux-arm64'));
    const missing = await install('--machine', 'aarch64');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/vsoa-linux-arm64 not found/);
    expect(snapshot()).toEqual({});
  });

  it('never overwrites existing config, but replaces the executable and units', async () => {
    mkdirSync(join(root, 'etc/vsoa'), { recursive: true });
    writeFileSync(join(root, 'etc/vsoa.pos'), '10.1.1.1 3000\n', { mode: 0o600 });
    writeFileSync(join(root, 'etc/vsoa/position.json'), '[]\n');
    mkdirSync(join(root, 'usr/local/bin'), { recursive: true });
    writeFileSync(join(root, 'usr/local/bin/vsoa'), 'old\n');

    const r = await install('--machine', 'x86_64');
    expect(r.code).toBe(0);
    expect(readFileSync(join(root, 'etc/vsoa.pos'), 'utf8')).toBe('10.1.1.1 3000\n');
    expect(mode('etc/vsoa.pos')).toBe('600');
    expect(readFileSync(join(root, 'etc/vsoa/position.json'), 'utf8')).toBe('[]\n');
    expect(r.stdout).toMatch(/keeping existing .*etc\/vsoa\.pos/);
    expect(readFileSync(join(root, 'etc/vsoa/robot-example.json'), 'utf8')).toMatch(/"server"/); // was missing
    expect(readFileSync(join(root, 'usr/local/bin/vsoa'), 'utf8')).toBe('exe x64\n');
  });

  it('a dry run prints the plan and changes nothing, for install and uninstall', async () => {
    const empty = await install('--machine', 'x86_64', '--dry-run');
    expect(empty.code).toBe(0);
    expect(empty.stdout).toMatch(/would run: cp .*vsoa-linux-x64/);
    expect(snapshot()).toEqual({});

    expect((await install('--machine', 'x86_64')).code).toBe(0);
    const before = snapshot();
    expect((await install('--machine', 'aarch64', '--dry-run')).code).toBe(0);
    const un = await install('--uninstall', '--dry-run');
    expect(un.code).toBe(0);
    expect(un.stdout).toMatch(/would run: rm -f .*usr\/local\/bin\/vsoa/);
    expect(snapshot()).toEqual(before);
  });

  it('enables a robot instance per config file other than the sample', async () => {
    mkdirSync(join(root, 'etc/vsoa'), { recursive: true });
    writeFileSync(join(root, 'etc/vsoa/robot-arm.json'), '{}\n');
    const r = await install('--machine', 'x86_64');
    expect(r.stdout).toMatch(/systemctl enable vsoa-robot@arm\.service/);
    expect(r.stdout).not.toMatch(/vsoa-robot@example/);
  });

  it('uninstall removes the executable and units but keeps all configuration', async () => {
    expect((await install('--machine', 'x86_64')).code).toBe(0);
    writeFileSync(join(root, 'etc/vsoa/robot-arm.json'), '{}\n');
    const r = await install('--uninstall');
    expect(r.code).toBe(0);
    const files = Object.keys(snapshot())
      .filter((p) => statSync(join(root, p)).isFile())
      .sort();
    expect(files).toEqual([
      'etc/vsoa.pos',
      'etc/vsoa/position.json',
      'etc/vsoa/robot-arm.json',
      'etc/vsoa/robot-example.json',
    ]);
    expect(r.stdout).toMatch(/configuration kept/);
  });

  it('without --root and not root it refuses to run (unless a dry run)', async () => {
    if (process.getuid?.() === 0) {
      // As root the real system would be changed: only the dry run is exercised.
      const r = await new Promise<{ code: number; stdout: string }>((resolve) => {
        execFile('bash', [script, '--dry-run', '--bin-dir', bins, '--machine', 'x86_64'], (error, stdout) =>
          resolve({ code: error ? Number(error.code) : 0, stdout }),
        );
      });
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/would run: systemctl enable vsoa-position\.service/);
      expect(r.stdout).toMatch(/would run: cp .* \/usr\/local\/bin\/vsoa\.new\./);
      return;
    }
    const r = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile('bash', [script, '--bin-dir', bins], (error, _stdout, stderr) =>
        resolve({ code: error ? Number(error.code) : 0, stderr }),
      );
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/must run as root/);
  });
});
