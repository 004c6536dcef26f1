import { execFile } from 'node:child_process';
import {
  appendFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_QUICK_RECV_BUFFER_SIZE } from '../../src/transport/quick-socket.js';

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

type Result = { code: number; stdout: string; stderr: string };

function runScript(path: string, args: string[]): Promise<Result> {
  return new Promise((resolve) => {
    execFile('bash', [path, ...args], (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
    });
  });
}

function install(...args: string[]): Promise<Result> {
  return runScript(script, ['--root', root, '--bin-dir', bins, ...args]);
}

/** What the README copies to the board: `scp -r dist/bin deploy systemd board:/tmp/vsoa`. */
function stageCopy(): string {
  const dir = join(base, 'tmp-vsoa');
  cpSync(bins, join(dir, 'bin'), { recursive: true });
  cpSync(join(repo, 'deploy/install.sh'), join(dir, 'deploy/install.sh'));
  cpSync(join(repo, 'deploy/etc'), join(dir, 'deploy/etc'), { recursive: true });
  cpSync(join(repo, 'systemd'), join(dir, 'systemd'), { recursive: true });
  return dir;
}

/** Files (not directories) under the root, sorted. */
function files(): string[] {
  return Object.keys(snapshot())
    .filter((p) => statSync(join(root, p)).isFile())
    .sort();
}

/** Every file of a directory of the checkout, relative to it. */
function repoFiles(dir: string): string[] {
  return (readdirSync(join(repo, dir), { recursive: true }) as string[])
    .filter((p) => statSync(join(repo, dir, p)).isFile())
    .sort();
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
    const units = readdirSync(join(repo, 'systemd')).filter((u) => /\.(service|socket|timer|path)$/.test(u));
    expect(units).toContain('vsoa-robot@.service');
    for (const unit of units) {
      const path = `etc/systemd/system/${unit}`;
      expect(readFileSync(join(root, path), 'utf8')).toBe(readFileSync(join(repo, 'systemd', unit), 'utf8'));
      expect(mode(path)).toBe('644');
    }
    const confs = repoFiles('deploy/etc').map((p) => `etc/${p}`);
    expect(confs).toEqual(expect.arrayContaining(['etc/vsoa.pos', 'etc/vsoa/position.json']));
    for (const conf of confs) {
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
    expect(un.stdout).toMatch(/would run: rm -rf .*usr\/local\/bin\/vsoa/);
    expect(snapshot()).toEqual(before);
  });

  it('enables a robot instance per config file other than the sample', async () => {
    mkdirSync(join(root, 'etc/vsoa'), { recursive: true });
    writeFileSync(join(root, 'etc/vsoa/robot-arm.json'), '{}\n');
    const r = await install('--machine', 'x86_64');
    expect(r.stdout).toMatch(/systemctl enable vsoa-robot@arm\.service/);
    expect(r.stdout).not.toMatch(/vsoa-robot@example/);
  });

  it("uninstall removes the executable, units and services' state but keeps all configuration", async () => {
    expect((await install('--machine', 'x86_64')).code).toBe(0);
    writeFileSync(join(root, 'etc/vsoa/robot-arm.json'), '{}\n');
    // DynamicUser state: /var/{lib,cache}/private/NAME behind a symlink /var/{lib,cache}/NAME.
    for (const [dir, name] of [
      ['var/cache', 'vsoa-position'],
      ['var/cache', 'vsoa-robot-arm'],
      ['var/lib', 'vsoa-robot-arm'],
    ] as const) {
      mkdirSync(join(root, dir, 'private', name), { recursive: true });
      writeFileSync(join(root, dir, 'private', name, 'state'), 'x\n');
      symlinkSync(`private/${name}`, join(root, dir, name));
    }
    mkdirSync(join(root, 'etc/systemd/system/vsoa-robot@arm.service.d'), { recursive: true });
    writeFileSync(join(root, 'etc/systemd/system/vsoa-robot@arm.service.d/override.conf'), '[Service]\n');
    const r = await install('--uninstall');
    expect(r.code).toBe(0);
    const confs = repoFiles('deploy/etc').map((p) => `etc/${p}`);
    expect(files()).toEqual(
      [
        ...confs,
        'etc/systemd/system/vsoa-robot@arm.service.d/override.conf',
        'etc/vsoa/robot-arm.json',
      ].sort(),
    );
    expect(existsSync(join(root, 'var/cache/vsoa-position'))).toBe(false);
    expect(existsSync(join(root, 'var/lib/vsoa-robot-arm'))).toBe(false);
    expect(r.stdout).toMatch(/configuration kept/);
  });

  it('--purge removes the configuration and drop-ins too', async () => {
    expect((await install('--machine', 'x86_64')).code).toBe(0);
    writeFileSync(join(root, 'etc/vsoa/robot-arm.json'), '{}\n');
    mkdirSync(join(root, 'etc/systemd/system/vsoa-position.service.d'), { recursive: true });
    writeFileSync(join(root, 'etc/systemd/system/vsoa-position.service.d/override.conf'), '[Service]\n');
    const r = await install('--uninstall', '--purge');
    expect(r.code).toBe(0);
    expect(files()).toEqual([]);
    expect(r.stdout).toMatch(/configuration removed/);
  });

  it("finds the executable where the README's copy puts it, and says where it looked", async () => {
    const dir = stageCopy();
    const r = await runScript(join(dir, 'deploy/install.sh'), ['--root', root, '--machine', 'aarch64']);
    expect(r.code).toBe(0);
    expect(readFileSync(join(root, 'usr/local/bin/vsoa'), 'utf8')).toBe('exe arm64\n');
    rmSync(join(dir, 'bin'), { recursive: true });
    const missing = await runScript(join(dir, 'deploy/install.sh'), ['--root', root, '--machine', 'aarch64']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/vsoa-linux-arm64 not found in .*deploy\/bin, .*\/bin or .*\/dist\/bin/);
  });

  it('a re-run changes nothing; an upgrade replaces the executable and untouched samples only', async () => {
    const dir = stageCopy();
    const run = () => runScript(join(dir, 'deploy/install.sh'), ['--root', root, '--machine', 'x86_64']);
    expect((await run()).code).toBe(0);
    const first = snapshot();
    const again = await run();
    expect(again.code).toBe(0);
    expect(again.stdout).not.toMatch(/installed|updated/);
    expect(snapshot()).toEqual(first);

    // The user edits vsoa.pos; the newer release has a new executable and new samples.
    appendFileSync(join(root, 'etc/vsoa.pos'), '10.0.0.9 3000\n');
    const mine = readFileSync(join(root, 'etc/vsoa.pos'), 'utf8');
    writeFileSync(join(dir, 'bin/vsoa-linux-x64'), 'exe x64 v2\n');
    appendFileSync(join(dir, 'deploy/etc/vsoa.pos'), '# new in v2\n');
    appendFileSync(join(dir, 'deploy/etc/vsoa/position.json'), '\n');
    const up = await run();
    expect(up.code).toBe(0);
    expect(readFileSync(join(root, 'usr/local/bin/vsoa'), 'utf8')).toBe('exe x64 v2\n');
    expect(readFileSync(join(root, 'etc/vsoa.pos'), 'utf8')).toBe(mine);
    expect(up.stdout).toMatch(/keeping existing .*etc\/vsoa\.pos \(changed on this board/);
    expect(readFileSync(join(root, 'etc/vsoa/position.json'), 'utf8')).toBe(
      readFileSync(join(dir, 'deploy/etc/vsoa/position.json'), 'utf8'),
    );
    expect(up.stdout).toMatch(/updated sample .*etc\/vsoa\/position\.json/);
    // A second upgrade run is a re-run: the kept file stays kept, nothing else moves.
    const settled = snapshot();
    expect((await run()).code).toBe(0);
    expect(snapshot()).toEqual(settled);
  });

  it('installs every unit of systemd/ and runs an instance per config its ExecStart names', async () => {
    const dir = stageCopy();
    writeFileSync(
      join(dir, 'systemd/vsoa-extra@.service'),
      '[Service]\nExecStart=/usr/local/bin/vsoa extra --config /etc/vsoa/extra-%i.yaml\n',
    );
    writeFileSync(
      join(dir, 'systemd/vsoa-plain.service'),
      '[Service]\nExecStart=/usr/local/bin/vsoa plain\n',
    );
    writeFileSync(join(dir, 'deploy/etc/vsoa/extra-example.yaml'), 'x: 1\n');
    mkdirSync(join(root, 'etc/vsoa'), { recursive: true });
    writeFileSync(join(root, 'etc/vsoa/extra-one.yaml'), 'x: 2\n');
    const r = await runScript(join(dir, 'deploy/install.sh'), ['--root', root, '--machine', 'x86_64']);
    expect(r.code).toBe(0);
    expect(existsSync(join(root, 'etc/systemd/system/vsoa-extra@.service'))).toBe(true);
    expect(readFileSync(join(root, 'etc/vsoa/extra-example.yaml'), 'utf8')).toBe('x: 1\n');
    expect(r.stdout).toMatch(/systemctl enable vsoa-extra@one\.service/);
    expect(r.stdout).toMatch(/systemctl enable vsoa-plain\.service/);
    expect(r.stdout).not.toMatch(/vsoa-extra@example/);
    // Uninstall removes what was installed, including units the checkout no longer has.
    rmSync(join(dir, 'systemd/vsoa-plain.service'));
    expect((await runScript(join(dir, 'deploy/install.sh'), ['--root', root, '--uninstall'])).code).toBe(0);
    expect(files().filter((p) => p.startsWith('etc/systemd'))).toEqual([]);
  });

  it("installs a sysctl.d sample raising net.core.rmem_max to the library's quick receive buffer", async () => {
    const conf = 'etc/sysctl.d/30-vsoa-edge.conf';
    const sample = readFileSync(join(repo, 'deploy', conf), 'utf8');
    expect(sample).toMatch(new RegExp(`^net\\.core\\.rmem_max = ${DEFAULT_QUICK_RECV_BUFFER_SIZE}$`, 'm'));
    const first = await install('--machine', 'x86_64');
    expect(readFileSync(join(root, conf), 'utf8')).toBe(sample);
    // An image's kernel is not this one: nothing is written to /proc with --root.
    expect(first.stdout).toContain(
      `skipped (--root): net.core.rmem_max=${DEFAULT_QUICK_RECV_BUFFER_SIZE} (applied when the image boots)`,
    );
    // The board's own value is kept and is the one applied; without the line nothing is.
    writeFileSync(join(root, conf), 'net.core.rmem_max = 16777216\n');
    const edited = await install('--machine', 'x86_64');
    expect(edited.stdout).toMatch(/keeping existing .*30-vsoa-edge\.conf/);
    expect(edited.stdout).toContain('skipped (--root): net.core.rmem_max=16777216');
    writeFileSync(join(root, conf), '# not here\n');
    expect((await install('--machine', 'x86_64')).stdout).not.toContain('rmem_max');
    // Uninstall keeps it with the rest of the configuration; --purge removes it.
    expect((await install('--uninstall')).code).toBe(0);
    expect(existsSync(join(root, conf))).toBe(true);
    expect((await install('--purge')).code).toBe(0);
    expect(existsSync(join(root, conf))).toBe(false);
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
      // The running kernel's cap is read for real, and only ever raised.
      const rmemMax = Number(readFileSync('/proc/sys/net/core/rmem_max', 'utf8'));
      expect(r.stdout).toContain(
        rmemMax >= DEFAULT_QUICK_RECV_BUFFER_SIZE
          ? `net.core.rmem_max is ${rmemMax} (at least ${DEFAULT_QUICK_RECV_BUFFER_SIZE}): not changed`
          : `would raise net.core.rmem_max from ${rmemMax} to ${DEFAULT_QUICK_RECV_BUFFER_SIZE}`,
      );
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
