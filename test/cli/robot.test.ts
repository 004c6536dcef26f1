import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Server } from '../../src/index.js';
import { onCleanup, startServer, until } from '../helpers/net.js';
import { notifyReceiver } from '../helpers/notify-receiver.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const cli = ['--import', 'tsx', 'src/cli/main.ts'];

function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const e = { ...process.env };
  for (const k of ['NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID', 'VSOA_LOG_LEVEL']) delete e[k];
  return { ...e, ...extra };
}

function robot(
  args: string[],
  extra: Record<string, string> = {},
): { child: ChildProcess; lines: unknown[] } {
  const child = spawn(process.execPath, [...cli, 'robot', '--log-level', 'warn', ...args], {
    cwd: root,
    env: env(extra),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  onCleanup(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const lines: unknown[] = [];
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (l) =>
    lines.push(JSON.parse(l)),
  );
  return { child, lines };
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vsoa-robot-'));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe('vsoa robot', () => {
  it('writes messages as NDJSON, survives a server restart, and speaks sd_notify', async () => {
    const rx = await notifyReceiver();
    onCleanup(() => rx.close());
    const first = new Server();
    await first.listen(0, '127.0.0.1');
    const { port } = first.address();
    const { child, lines } = robot(
      [`vsoa://127.0.0.1:${port}`, '--sub', '/t/', '--keepalive', '200', '--reconn-delay', '20'],
      { NOTIFY_SOCKET: rx.path, WATCHDOG_USEC: '400000' },
    );
    await rx.waitFor('READY=1', 15_000);
    await rx.waitFor(/^STATUS=connected to /);
    await until(() => first.isSubscribed('/t/x'));
    first.publish('/t/x', { param: { n: 1 }, data: Buffer.from([1]) });
    await until(() => lines.length === 1, 5000, 'first message');
    await rx.waitFor('WATCHDOG=1');
    await first.close();
    const second = new Server();
    await second.listen(port, '127.0.0.1');
    onCleanup(() => second.close());
    await until(() => second.isSubscribed('/t/y'), 10_000, 're-subscribe');
    second.publish('/t/y', { param: 'again' });
    await until(() => lines.length === 2, 5000, 'second message');
    expect(lines).toMatchObject([
      { url: '/t/x', quick: false, param: { n: 1 }, data: '01' },
      { url: '/t/y', quick: false, param: 'again' },
    ]);
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
    await rx.waitFor('STOPPING=1');
  }, 40_000);

  it('feeds a command with --exec, reading its settings from --config', async () => {
    const { server, port } = await startServer();
    const dir = tempDir();
    const out = join(dir, 'out.ndjson');
    const config = join(dir, 'robot.json');
    writeFileSync(
      config,
      JSON.stringify({ server: `vsoa://127.0.0.1:${port}`, subscribe: ['/feed'], keepalive: 500 }),
    );
    const { child } = robot(['--config', config, '--exec', `cat > '${out}'`]);
    await until(() => server.isSubscribed('/feed'), 15_000, 'subscription');
    server.publish('/feed', { param: 42 });
    await until(() => {
      try {
        return readFileSync(out, 'utf8').includes('"param":42');
      } catch {
        return false;
      }
    });
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
  }, 30_000);

  it('rejects bad configs and arguments with one line and exit 2', async () => {
    const dir = tempDir();
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ server: 'vsoa://127.0.0.1:1', extra: true }));
    const cases: string[][] = [
      ['--config', bad],
      ['--config', join(dir, 'missing.json')],
      [],
      ['vsoa://127.0.0.1:1', '--sub', 'no-slash'],
      ['vsoa://127.0.0.1:1', '--keepalive', '10'],
      ['http://x', '--sub', '/a'],
      ['vsoa://127.0.0.1:1', '--exec', 'cat', '--ndjson'],
    ];
    for (const args of cases) {
      const r = await new Promise<{ code: number; stderr: string }>((resolve) =>
        execFile(
          process.execPath,
          [...cli, 'robot', ...args],
          { cwd: root, env: env() },
          (error, _o, stderr) => resolve({ code: (error as { code?: number } | null)?.code ?? 0, stderr }),
        ),
      );
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
    }
  }, 60_000);
});
