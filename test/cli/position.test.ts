import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { onCleanup } from '../helpers/net.js';
import { type NotifyReceiver, notifyReceiver } from '../helpers/notify-receiver.js';
import { closedPort } from '../position/helpers.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const cliArgs = ['--import', 'tsx', 'src/cli/main.ts'];

const TABLE = [
  { name: 'robot-arm', domain: 2, addr: '127.0.0.1', port: 3005, security: false },
  { name: 'robot-arm', domain: 10, addr: '::1', port: 3005 },
];
const NEW_ENTRY = { name: 'telemetry', addr: '127.0.0.2', port: 3006, security: true };

/** The child's environment: nothing of the test runner's systemd or position settings. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const k of ['NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID', 'VSOA_POS_SERVER', 'VSOA_LOG_LEVEL']) {
    if (!(k in extra)) delete env[k];
  }
  return env;
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vsoa-position-cli-'));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function writeTable(file: string, value: unknown): void {
  writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value, null, 2));
}

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `vsoa ...` to completion; no position file unless the test names one. */
function vsoa(args: string[], env: Record<string, string> = {}): Promise<Result> {
  const noFile = join(tmpdir(), 'vsoa-edge-no-such-dir', 'vsoa.pos');
  const full = args[0] === 'lookup' && !args.includes('--pos-file') ? [...args, '--pos-file', noFile] : args;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...cliArgs, ...full],
      { cwd: root, env: cleanEnv(env), timeout: 20_000 },
      (error, stdout, stderr) => {
        const code = error ? (error as { code?: unknown }).code : 0;
        resolve({ code: typeof code === 'number' ? code : -1, stdout, stderr });
      },
    );
  });
}

interface Daemon {
  child: ChildProcess;
  port: number;
  server: string;
}

/** Starts `vsoa position` on 127.0.0.1, port 0, and waits for its listening line. */
async function daemon(
  table: string,
  extraArgs: string[] = [],
  env: Record<string, string> = {},
): Promise<Daemon> {
  const child = spawn(
    process.execPath,
    [...cliArgs, 'position', '--table', table, '--host', '127.0.0.1', '--port', '0', '--json', ...extraArgs],
    { cwd: root, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  onCleanup(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  let buffered = '';
  for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
    buffered += chunk.toString();
    const at = buffered.indexOf('\n');
    if (at >= 0) {
      const { listening } = JSON.parse(buffered.slice(0, at)) as { listening: { port: number } };
      return { child, port: listening.port, server: `127.0.0.1:${listening.port}` };
    }
  }
  throw new Error(`position daemon printed no listening line: ${stderr}`);
}

async function receiver(): Promise<NotifyReceiver> {
  const rx = await notifyReceiver();
  onCleanup(() => rx.close());
  return rx;
}

/** Waits for one reload to finish: RELOADING=1 ... READY=1; returns the STATUS sent in between, if any. */
async function reloaded(rx: NotifyReceiver): Promise<string | undefined> {
  await rx.waitFor(/^RELOADING=1\nMONOTONIC_USEC=\d+$/);
  const from = rx.cursor();
  await rx.waitFor('READY=1');
  return rx.messages.slice(from, rx.cursor()).find((m) => m.startsWith('STATUS='));
}

describe('vsoa position and vsoa lookup', () => {
  it('serves its table (hit, miss, domain, JSON) and speaks sd_notify with the watchdog', async () => {
    const dir = tempDir();
    const table = join(dir, 'position.json');
    writeTable(table, TABLE);
    const rx = await receiver();
    const d = await daemon(table, [], { NOTIFY_SOCKET: rx.path, WATCHDOG_USEC: '200000' });

    expect(await rx.waitFor('READY=1')).toBe('READY=1');
    expect(await rx.waitFor(/^STATUS=/)).toBe(`STATUS=serving 2 entries on ${d.server}`);
    await rx.waitFor('WATCHDOG=1');
    await rx.waitFor('WATCHDOG=1');

    expect(await vsoa(['lookup', 'robot-arm', '--server', d.server])).toMatchObject({
      code: 0,
      stdout: '127.0.0.1 3005 false\n',
    });
    const v6 = await vsoa(['lookup', 'ROBOT-ARM', '--server', d.server, '--domain', '10', '--json']);
    expect(v6.code).toBe(0);
    expect(JSON.parse(v6.stdout)).toEqual({
      name: 'ROBOT-ARM',
      domain: 10,
      addr: '::1',
      port: 3005,
      security: false,
      server: d.server,
    });
    const miss = await vsoa(['lookup', 'nobody', '--server', d.server]);
    expect(miss.code).toBe(1);
    expect(miss.stdout).toBe('');
    expect(miss.stderr).toContain(`vsoa lookup: nobody not found: ${d.server} (--server) does not know it\n`);

    d.child.kill('SIGTERM');
    await rx.waitFor('STOPPING=1');
    const [code] = await once(d.child, 'exit');
    expect(code).toBe(0);
  });

  it('looks up through --server, then VSOA_POS_SERVER, then the position file, and says where it looked', async () => {
    const dir = tempDir();
    const table = join(dir, 'position.json');
    writeTable(table, TABLE);
    const d = await daemon(table);
    const dead = `127.0.0.1:${await closedPort()}`;

    const posFile = join(dir, 'vsoa.pos');
    writeFileSync(posFile, `# test\n127.0.0.1 ${d.port}\n`);
    const [viaEnv, fallback, nobody, none, bad] = await Promise.all([
      vsoa(['lookup', 'robot-arm'], { VSOA_POS_SERVER: d.server }),
      vsoa(['lookup', 'robot-arm', '--server', dead, '--pos-file', posFile], { VSOA_POS_SERVER: dead }),
      vsoa(['lookup', 'robot-arm', '--server', dead], { VSOA_POS_SERVER: dead }),
      vsoa(['lookup', 'robot-arm']),
      vsoa(['lookup', 'x', '--server', '127.0.0.1']),
    ]);
    expect(viaEnv).toMatchObject({ code: 0, stdout: '127.0.0.1 3005 false\n' });
    expect(fallback).toMatchObject({ code: 0, stdout: '127.0.0.1 3005 false\n' });

    expect(nobody.code).toBe(1);
    expect(nobody.stderr).toMatch(
      new RegExp(
        `no position server answered: ${dead} \\(--server\\): refused .*; .*vsoa\\.pos not read \\(ENOENT\\)`,
      ),
    );
    expect(nobody.stderr.trim().split('\n')).toHaveLength(1);

    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no position server to ask \(give --server addr:port, set VSOA_POS_SERVER/);

    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--server.*port is missing/);
  });

  it('reloads on SIGHUP (--no-watch), and keeps the old table when the new one is bad', async () => {
    const dir = tempDir();
    const table = join(dir, 'position.json');
    writeTable(table, TABLE);
    const rx = await receiver();
    const d = await daemon(table, ['--no-watch'], { NOTIFY_SOCKET: rx.path });
    await rx.waitFor('READY=1');

    writeTable(table, [...TABLE, NEW_ENTRY]);
    // Not watching: the change alone does nothing.
    expect((await vsoa(['lookup', 'telemetry', '--server', d.server])).code).toBe(1);
    d.child.kill('SIGHUP');
    expect(await reloaded(rx)).toBe(`STATUS=serving 3 entries on ${d.server}`);
    expect((await vsoa(['lookup', 'telemetry', '--server', d.server])).stdout).toBe('127.0.0.2 3006 true\n');

    writeTable(table, [{ name: 'broken', addr: '127.0.0.1', port: 70000 }]);
    d.child.kill('SIGHUP');
    expect(await reloaded(rx)).toMatch(
      /^STATUS=serving 3 entries on .* \(reload failed, old table kept: .*entry\[0\]: port must be/,
    );
    expect((await vsoa(['lookup', 'telemetry', '--server', d.server])).code).toBe(0);
    expect((await vsoa(['lookup', 'broken', '--server', d.server])).code).toBe(1);
    expect(d.child.exitCode).toBeNull();
  });

  it('reloads when the file changes, written in place or replaced by rename', async () => {
    const dir = tempDir();
    const table = join(dir, 'position.json');
    writeTable(table, TABLE);
    const rx = await receiver();
    const d = await daemon(table, [], { NOTIFY_SOCKET: rx.path });
    await rx.waitFor('READY=1');

    writeTable(table, [...TABLE, NEW_ENTRY]);
    expect(await reloaded(rx)).toBe(`STATUS=serving 3 entries on ${d.server}`);
    expect((await vsoa(['lookup', 'telemetry', '--server', d.server])).stdout).toBe('127.0.0.2 3006 true\n');

    // An editor's save: a new file renamed over the old one.
    const tmp = join(dir, '.position.json.swp');
    writeTable(tmp, [{ name: 'only', addr: '::1', port: 4000 }]);
    renameSync(tmp, table);
    expect(await reloaded(rx)).toBe(`STATUS=serving 1 entries on ${d.server}`);
    expect((await vsoa(['lookup', 'only', '--server', d.server])).stdout).toBe('::1 4000 false\n');
    expect((await vsoa(['lookup', 'telemetry', '--server', d.server])).code).toBe(1);

    writeTable(table, '[{"name": "only",');
    expect(await reloaded(rx)).toMatch(/reload failed, old table kept: .*not valid JSON/);
    expect((await vsoa(['lookup', 'only', '--server', d.server])).stdout).toBe('::1 4000 false\n');
  });

  it('rejects a bad table or option at start with one line and exit 2', async () => {
    const dir = tempDir();
    const cases: Array<[string[], RegExp]> = [];
    const file = (name: string, text: string): string => {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    };
    cases.push([['--table', join(dir, 'missing.json')], /--table cannot read .*missing\.json: ENOENT/]);
    cases.push([['--table', file('a.json', '{oops')], /a\.json: not valid JSON/]);
    cases.push([['--table', file('b.json', '{"name":"x"}')], /b\.json: must be a JSON array/]);
    cases.push([['--table', file('c.json', '[{"name":"x","addr":"1.2.3.4","port":0}]')], /entry\[0\]: port/]);
    cases.push([
      ['--table', file('d.json', '[{"name":"x","domain":10,"addr":"1.2.3.4","port":1}]')],
      /domain/,
    ]);
    cases.push([[], /required option '--table <file>'/]);
    cases.push([
      ['--table', file('e.json', '[]'), '--host', 'example.org'],
      /--host.*must be an IP address or localhost/,
    ]);
    // In parallel: each is a node process starting up.
    const results = await Promise.all(cases.map(([args]) => vsoa(['position', '--port', '0', ...args])));
    for (const [i, [args, message]] of cases.entries()) {
      const r = results[i]!;
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(message);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stdout).toBe('');
    }
  });
});
