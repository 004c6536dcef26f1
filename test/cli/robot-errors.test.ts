import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import type net from 'node:net';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { ConnectionLog } from '../../src/cli/connect-log.js';
import { Position, Server } from '../../src/index.js';
import { repoRoot } from '../helpers/cli.js';
import { memoryLogger, onCleanup, until } from '../helpers/net.js';

const cliArgs = ['--import', 'tsx', 'src/cli/main.ts'];

/** `vsoa robot` with JSON logs collected from stderr (a pipe: JSON lines). */
function robot(args: string[], env: Record<string, string> = {}) {
  const e = { ...process.env, ...env };
  for (const k of ['NOTIFY_SOCKET', 'WATCHDOG_USEC', 'VSOA_LOG_LEVEL', 'VSOA_POS_SERVER', 'JOURNAL_STREAM']) {
    if (!(k in env)) delete e[k];
  }
  const child: ChildProcess = spawn(process.execPath, [...cliArgs, 'robot', ...args], {
    cwd: repoRoot,
    env: e,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  onCleanup(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const logs: Array<Record<string, unknown>> = [];
  const other: string[] = [];
  createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (l) => {
    try {
      logs.push(JSON.parse(l) as Record<string, unknown>);
    } catch {
      other.push(l);
    }
  });
  return { child, logs, other, exited: once(child, 'exit') };
}

describe('vsoa robot: configuration errors exit 2', () => {
  it('a wrong password stops it with exit 2 and the code by name, no stack', async () => {
    const server = new Server({ passwd: 'right' });
    await server.listen(0, '127.0.0.1');
    onCleanup(() => server.close());
    const r = robot([
      `vsoa://127.0.0.1:${server.address().port}`,
      '--passwd',
      'wrong',
      '--reconn-delay',
      '20',
    ]);
    const [code] = await r.exited;
    expect(code).toBe(2);
    expect(r.other.join('\n')).toMatch(/code 6 INVALID_PASSWD: the server refused the password/);
    expect(JSON.stringify(r.logs)).not.toMatch(/\\n\s+at /);
  }, 30_000);

  it('a secure service (position: security true) without TLS settings exits 2', async () => {
    const position = new Position(null, {
      table: [{ name: 'secure.svc', domain: 2, addr: '127.0.0.1', port: 4443, security: true }],
    });
    await position.listen(0, '127.0.0.1');
    onCleanup(() => position.close());
    const port = (position.address() as net.AddressInfo).port;
    const r = robot(['vsoa://secure.svc', '--reconn-delay', '20'], { VSOA_POS_SERVER: `127.0.0.1:${port}` });
    const [code] = await r.exited;
    expect(code).toBe(2);
    expect(r.other.join('\n')).toMatch(/requires TLS.*"tls" in the config or pass --tls/);
    expect(JSON.stringify(r.logs)).not.toMatch(/\\n\s+at /);

    // The one-shot verbs say the same in their own terms (a flag, not options.tls), exit 2.
    const call = await new Promise<{ code: number; stderr: string }>((resolve) =>
      execFile(
        process.execPath,
        [...cliArgs, 'call', 'vsoa://secure.svc/x'],
        { cwd: repoRoot, env: { ...process.env, VSOA_POS_SERVER: `127.0.0.1:${port}` } },
        (error, _o, stderr) => resolve({ code: (error as { code?: number } | null)?.code ?? 0, stderr }),
      ),
    );
    expect(call.code).toBe(2);
    expect(call.stderr).toMatch(/requires TLS .*pass --tls \(and --ca FILE\)\n$/);
  }, 30_000);
});

describe('vsoa robot: connect failures', () => {
  it('are logged once per change with the code name, not once per attempt', async () => {
    const r = robot(['vsoa://127.0.0.1:1', '--reconn-delay', '20', '--log-level', 'debug']);
    // The library logs every attempt at debug: wait for several.
    await until(
      () => r.logs.filter((l) => l.msg === 'robot connect attempt failed').length >= 5,
      15_000,
      'attempts',
    );
    r.child.kill('SIGTERM');
    const [code] = await r.exited;
    expect(code).toBe(0);
    const warned = r.logs.filter((l) => l.level === 40);
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatchObject({ server: 'vsoa://127.0.0.1:1', code: 1, codeName: 'ERROR' });
    expect(String(warned[0]?.msg)).toMatch(/^connect failed: ERROR: connection refused/);
  }, 30_000);

  it('ConnectionLog: once per state change, then a reminder at most every interval', () => {
    const { logger, lines } = memoryLogger();
    let now = 0;
    const log = new ConnectionLog(logger, 60_000, () => now);
    log.failed('vsoa://a', 1);
    for (let i = 0; i < 100; i++) {
      now += 100;
      log.failed('vsoa://a', 1);
    }
    expect(lines()).toHaveLength(1);
    now += 60_000;
    log.failed('vsoa://a', 1);
    expect(lines()[1]).toMatchObject({ level: 40, failures: 102, codeName: 'ERROR' });
    log.failed('vsoa://a', 4); // another code: a change
    expect(lines()[2]).toMatchObject({ level: 40, code: 4, codeName: 'SERVER_NO_RESPONDING' });
    log.connected('vsoa://a');
    expect(lines()[3]).toMatchObject({ level: 30, msg: 'connected', failedAttempts: 1 });
    log.failed('vsoa://a', 4); // after a success the same failure is news again
    expect(lines()).toHaveLength(5);
  });
});
