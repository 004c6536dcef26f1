import { execFile, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Server } from '../../src/index.js';
import { firstLine, repoRoot, vsoa } from '../helpers/cli.js';
import { onCleanup, until } from '../helpers/net.js';
import { notifyReceiver } from '../helpers/notify-receiver.js';
import { connectJuggler } from './helpers.js';

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gateway-cli-'));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe('vsoa gateway (the CLI verb)', () => {
  it('serves a VSOA server from a config file, tells systemd READY=1, stops on SIGTERM', async () => {
    const server = new Server({ info: 'cli-test' });
    server.command('/hello', (cli, req) => cli.reply(req.seqno, { param: 'world' }));
    await server.listen(0, '127.0.0.1');
    onCleanup(() => server.close());
    const dir = tempDir();
    const sample = JSON.parse(readFileSync(join(repoRoot, 'deploy/etc/vsoa/gateway-example.json'), 'utf8'));
    const config = join(dir, 'gateway.json');
    const { htpasswd: _sampleHtpasswd, ...rest } = sample;
    writeFileSync(
      config,
      JSON.stringify({ ...rest, server: `vsoa://127.0.0.1:${server.address().port}`, http: '127.0.0.1:0' }),
    );
    const notify = await notifyReceiver();
    onCleanup(() => notify.close());
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', 'gateway', '--config', config],
      {
        cwd: repoRoot,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, NOTIFY_SOCKET: notify.path, VSOA_LOG_LEVEL: 'warn' },
      },
    );
    onCleanup(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    const url = await firstLine(child);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    await notify.waitFor('READY=1', 15_000);
    const client = await connectJuggler(`${url.replace(/^http/, 'ws')}ws`);
    await until(() => (client.state as { vsoa: { connected: boolean } }).vsoa.connected, 10_000, 'VSOA link');
    expect(await client.send('/hello', null)).toEqual({ param: 'world' });
    const page = await fetch(`${url}index.html`);
    expect(await page.text()).toMatch(/<title>VSOA gateway<\/title>/);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    await notify.waitFor('STOPPING=1', 5000);
  });

  it('refuses wrong arguments with exit 2', async () => {
    expect((await vsoa('gateway')).code).toBe(2);
    expect((await vsoa('gateway', 'vsoa://127.0.0.1:1', '--http', 'nowhere')).code).toBe(2);
    const dir = tempDir();
    const plain = join(dir, 'htpasswd');
    writeFileSync(plain, 'alice:secret\n');
    const r = await vsoa('gateway', 'vsoa://127.0.0.1:1', '--http', '127.0.0.1:0', '--htpasswd', plain);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unsupported hash/);
  });

  it('the embedded dashboard assets are up to date with their sources', async () => {
    const out = await new Promise<string>((resolve) =>
      execFile(
        process.execPath,
        ['src/juggler/dashboard/build-assets.mjs', '--check'],
        { cwd: repoRoot },
        (e, so, se) => resolve(`${e ? `exit ${e.code}` : 'ok'} ${so}${se}`),
      ),
    );
    expect(out.trim()).toBe('ok');
  });
});

const analyze = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find((p) => existsSync(p));

describe('systemd/vsoa-gateway@.service', () => {
  const text = readFileSync(join(repoRoot, 'systemd/vsoa-gateway@.service'), 'utf8');

  it('is Type=notify with a watchdog, runs the config of its instance, and is sandboxed like the robot', () => {
    const robot = readFileSync(join(repoRoot, 'systemd/vsoa-robot@.service'), 'utf8');
    const hardening = robot
      .split('\n')
      .filter((l) =>
        /^(Protect|Private|Restrict|NoNewPrivileges|LockPersonality|SystemCall|DynamicUser|UMask)/.test(l),
      );
    expect(hardening.length).toBeGreaterThan(15);
    for (const line of [
      ...hardening,
      'Type=notify',
      'NotifyAccess=main',
      'WatchdogSec=10s',
      'CapabilityBoundingSet=',
    ]) {
      expect(text.split('\n')).toContain(line);
    }
    expect(text).toMatch(
      /^ExecStart=\/usr\/local\/bin\/vsoa gateway --config \/etc\/vsoa\/gateway-%i\.json$/m,
    );
  });

  it.skipIf(!analyze)('passes systemd-analyze verify as an instance', async () => {
    const dir = tempDir();
    const stub = join(dir, 'vsoa');
    writeFileSync(stub, '#!/bin/sh\nexit 0\n');
    chmodSync(stub, 0o755);
    const unit = join(dir, 'vsoa-gateway@lab.service');
    writeFileSync(unit, text.replaceAll('/usr/local/bin/vsoa', stub));
    const out = await new Promise<string>((resolve) =>
      execFile(analyze as string, ['verify', '--man=no', unit], { cwd: dir }, (e, so, se) =>
        resolve(`${e ? `exit ${e.code}\n` : ''}${so}${se}`.trim()),
      ),
    );
    expect(out).toBe('');
  });
});
