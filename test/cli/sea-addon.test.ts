import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  addonSetup,
  extractAddon,
  isOnNoexecMount,
  parseMountinfo,
  readEmbeddedAddon,
  setupEmbeddedAddon,
} from '../../src/cli/sea-addon.js';
import { nativeLoadInfo, resetNativeForTests } from '../../src/native/addon.js';

const MOUNTINFO = [
  '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw',
  '25 22 0:21 / /run rw,nosuid,nodev,noexec,relatime shared:5 - tmpfs tmpfs rw,mode=755',
  '26 22 0:22 / /tmp rw,nosuid,nodev shared:6 - tmpfs tmpfs rw',
  '27 26 0:23 / /tmp/no\\040exec rw,noexec - tmpfs tmpfs rw',
  '28 25 0:24 / /run/user/1000 rw,nosuid,nodev - tmpfs tmpfs rw',
].join('\n');

const ADDON = Buffer.from('\x7fELF pretend shared object');

describe('mountinfo', () => {
  const mounts = parseMountinfo(MOUNTINFO);

  it('parses mount points (unescaping \\040) and their options', () => {
    expect(mounts.map((m) => m.mountPoint)).toEqual(['/', '/run', '/tmp', '/tmp/no exec', '/run/user/1000']);
    expect(mounts[1]!.options).toContain('noexec');
  });

  it('the longest mount point containing the directory decides', () => {
    expect(isOnNoexecMount('/run/vsoa-position', mounts)).toBe(true);
    expect(isOnNoexecMount('/run/user/1000/x', mounts)).toBe(false);
    expect(isOnNoexecMount('/runaway', mounts)).toBe(false); // not under /run
    expect(isOnNoexecMount('/tmp/vsoa-1', mounts)).toBe(false);
    expect(isOnNoexecMount('/tmp/no exec/a', mounts)).toBe(true);
    expect(isOnNoexecMount('/var/lib', mounts)).toBe(false);
    expect(isOnNoexecMount('/x', [])).toBe(false);
  });
});

describe('extractAddon', () => {
  let base: string;
  beforeEach(() => {
    base = mkdtempSync(join(tmpdir(), 'vsoa-addon-test-'));
  });
  afterEach(() => {
    rmSync(base, { recursive: true, force: true });
  });

  const execMounts = parseMountinfo('1 0 8:1 / / rw - ext4 /dev/sda1 rw');
  const noexecEverywhere = parseMountinfo('1 0 8:1 / / rw,noexec - ext4 /dev/sda1 rw');

  it('writes into $RUNTIME_DIRECTORY (first of a list), content-named, and reuses an identical file', () => {
    const runtime = join(base, 'run');
    mkdirSync(runtime);
    const env = { RUNTIME_DIRECTORY: `${runtime}:${join(base, 'other')}` };
    const first = extractAddon(ADDON, { env, mounts: execMounts, tmp: base, cleanupAtExit: false });
    expect(first.kind).toBe('extracted');
    const path = (first as { path: string }).path;
    expect(path).toMatch(new RegExp(`^${runtime}/vsoa_native-[0-9a-f]{16}\\.node$`));
    expect(readFileSync(path)).toEqual(ADDON);
    expect(statSync(path).mode & 0o777).toBe(0o700);
    const inode = statSync(path).ino;
    expect(extractAddon(ADDON, { env, mounts: execMounts, tmp: base, cleanupAtExit: false })).toEqual(first);
    expect(statSync(path).ino).toBe(inode); // not rewritten
    expect(readdirSync(runtime)).toHaveLength(1); // no temporary left behind
  });

  it('uses $CACHE_DIRECTORY when the runtime directory is on a noexec mount', () => {
    const runtime = join(base, 'run');
    const cache = join(base, 'cache');
    mkdirSync(runtime);
    mkdirSync(cache);
    const mounts = parseMountinfo(
      `1 0 8:1 / / rw - ext4 /dev/sda1 rw\n2 1 0:2 / ${runtime} rw,noexec - tmpfs t rw`,
    );
    const env = { RUNTIME_DIRECTORY: runtime, CACHE_DIRECTORY: cache };
    const r = extractAddon(ADDON, { env, mounts, tmp: base, cleanupAtExit: false });
    expect(r.kind).toBe('extracted');
    expect((r as { path: string }).path.startsWith(`${cache}/vsoa_native-`)).toBe(true);
    expect(readdirSync(runtime)).toEqual([]);
  });

  it('falls back to a fresh mode-0700 directory under tmp when the runtime directory is noexec', () => {
    const runtime = join(base, 'run');
    const tmp = join(base, 'tmp');
    mkdirSync(runtime);
    mkdirSync(tmp);
    const mounts = parseMountinfo(
      `1 0 8:1 / / rw - ext4 /dev/sda1 rw\n2 1 0:2 / ${runtime} rw,noexec - tmpfs t rw`,
    );
    const r = extractAddon(ADDON, { env: { RUNTIME_DIRECTORY: runtime }, mounts, tmp, cleanupAtExit: false });
    expect(r.kind).toBe('extracted');
    const path = (r as { path: string }).path;
    expect(path.startsWith(`${tmp}/vsoa-`)).toBe(true);
    expect(statSync(join(path, '..')).mode & 0o777).toBe(0o700);
    expect(readdirSync(runtime)).toEqual([]);
  });

  it('without a usable directory reports why', () => {
    const r = extractAddon(ADDON, {
      env: { RUNTIME_DIRECTORY: join(base, 'missing') },
      mounts: noexecEverywhere,
      tmp: base,
      cleanupAtExit: false,
    });
    expect(r.kind).toBe('unavailable');
    expect((r as { reason: string }).reason).toMatch(/missing.*ENOENT.*noexec mount/s);
    expect(readdirSync(base)).toEqual([]);
  });
});

describe('setupEmbeddedAddon', () => {
  it('does nothing outside the single executable', () => {
    expect(addonSetup).toEqual({ kind: 'not-bundled' });
    expect(readEmbeddedAddon()).toBeUndefined();
  });

  it('respects VSOA_NATIVE_ADDON and VSOA_NO_NATIVE set by the user', () => {
    expect(setupEmbeddedAddon({ VSOA_NATIVE_ADDON: '/opt/x.node' })).toEqual({ kind: 'preset' });
    expect(setupEmbeddedAddon({ VSOA_NO_NATIVE: '1' })).toEqual({ kind: 'preset' });
  });

  it('in a bundle that is no single executable (the npm package vsoa.cjs) leaves the loader alone', () => {
    const env: NodeJS.ProcessEnv = {};
    expect(setupEmbeddedAddon(env, false)).toEqual({ kind: 'not-bundled' });
    expect(env).toEqual({});
  });

  it('with no embedded addon turns the loader off, giving it the reason for its one warning', () => {
    const env: NodeJS.ProcessEnv = {};
    const reason = 'this executable was built without the native addon';
    try {
      expect(setupEmbeddedAddon(env, true)).toEqual({ kind: 'unavailable', reason });
      expect(env).toEqual({});
      expect(nativeLoadInfo()).toMatchObject({ loaded: false, source: 'disabled', error: reason });
    } finally {
      resetNativeForTests();
    }
  });
});

// Keeps writeFileSync in use for a negative check: a file in the way of the runtime directory.
describe('extractAddon with a file as runtime directory', () => {
  it('skips it and uses tmp', () => {
    const base = mkdtempSync(join(tmpdir(), 'vsoa-addon-test-'));
    try {
      const notDir = join(base, 'file');
      writeFileSync(notDir, 'x');
      const r = extractAddon(ADDON, {
        env: { RUNTIME_DIRECTORY: notDir },
        mounts: parseMountinfo('1 0 8:1 / / rw - ext4 /dev/sda1 rw'),
        tmp: base,
        cleanupAtExit: false,
      });
      expect(r.kind).toBe('extracted');
      expect((r as { path: string }).path.startsWith(`${base}/vsoa-`)).toBe(true);
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });
});
