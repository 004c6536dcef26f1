import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DiskQueue } from '../../src/mqtt/index.js';
import { repoRoot } from '../helpers/cli.js';
import { memoryLogger, onCleanup, startServer, until } from '../helpers/net.js';
import { notifyReceiver } from '../helpers/notify-receiver.js';
import { freePort, startBroker } from './broker.js';
import { mqttPeer } from './peers.js';

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vsoa-bridge-cli-'));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** `vsoa bridge ...` as systemd would run it: NOTIFY_SOCKET, WATCHDOG_USEC, its own environment. */
function bridge(args: string[], env: Record<string, string>): ChildProcess {
  const base = { ...process.env };
  for (const k of ['NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID', 'VSOA_LOG_LEVEL', 'STATE_DIRECTORY'])
    delete base[k];
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', 'bridge', '--log-level', 'warn', ...args],
    {
      cwd: repoRoot,
      env: { ...base, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  onCleanup(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return child;
}

describe('vsoa bridge (CLI)', () => {
  it('runs from a config file with the password from the environment; READY after the broker connect', async () => {
    const broker = await startBroker({ users: { car: 'pw' } });
    const { server, url } = await startServer();
    const rx = await notifyReceiver();
    onCleanup(() => rx.close());
    const dir = tempDir();
    const config = join(dir, 'bridge.json');
    writeFileSync(
      config,
      JSON.stringify({
        server: url,
        broker: broker.url,
        prefix: 'vehicles/car-9',
        subscribe: ['/s/'],
        username: 'car',
        statsInterval: 200,
      }),
    );
    const sub = await mqttPeer(broker, ['vehicles/car-9/#'], { username: 'car', password: 'pw' });
    const child = bridge(['--config', config], {
      NOTIFY_SOCKET: rx.path,
      WATCHDOG_USEC: '2000000',
      VSOA_MQTT_PASSWORD: 'pw',
      STATE_DIRECTORY: join(dir, 'state'),
    });
    await rx.waitFor('READY=1', 20_000);
    await until(() => server.isSubscribed('/s/x'), 10_000);
    server.publish('/s/x', { param: { ok: true } });
    await until(() => sub.messages.some((m) => m.topic === 'vehicles/car-9/s/x'), 10_000);
    await until(() => sub.messages.some((m) => m.topic === 'vehicles/car-9/$stats'), 10_000);
    const stats = JSON.parse(
      sub.messages.find((m) => m.topic === 'vehicles/car-9/$stats')?.payload.toString() ?? '',
    );
    expect(stats.vsoa.connected).toBe(true);
    await rx.waitFor('WATCHDOG=1', 10_000);
    await rx.waitFor(/^STATUS=broker connected/, 10_000);
    child.kill('SIGTERM');
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).toBe(0);
    // A clean stop says offline on the status topic; the store was $STATE_DIRECTORY.
    await until(() =>
      sub.messages.some((m) => m.topic === 'vehicles/car-9/$status' && m.payload.toString() === 'offline'),
    );
    expect(readdirSync(join(dir, 'state')).filter((n) => n.startsWith('seg-')).length).toBeGreaterThan(0);
  }, 60_000);

  it('is READY at start-up with a non-empty store while the broker is unreachable', async () => {
    const dir = tempDir();
    const { logger } = memoryLogger();
    const q = new DiskQueue(dir, 1024 * 1024, logger);
    q.append({ url: '/s/x', param: Buffer.from('1'), quick: false, time: Date.now() });
    q.close();
    const { url } = await startServer();
    const rx = await notifyReceiver();
    onCleanup(() => rx.close());
    const port = await freePort(); // nothing listens there
    bridge([url, '--broker', `mqtt://127.0.0.1:${port}`, '--prefix', 'v/1', '--sub', '/s/', '--store', dir], {
      NOTIFY_SOCKET: rx.path,
    });
    await rx.waitFor('READY=1', 20_000);
    await rx.waitFor(/^STATUS=broker unreachable, .* 1 queued/, 10_000);
  }, 60_000);
});
