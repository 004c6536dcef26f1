import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadNative, resetNativeForTests } from '../../src/native/addon.js';
import { notify, watchdogInterval } from '../../src/systemd/notify.js';

/*
 * The receiving end is a real AF_UNIX datagram socket, bound by a small python3 program (Node
 * cannot bind one). It prints "bound", then one JSON string per datagram received.
 */
const receiverSource = `
import json, socket, sys
path = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind('\\0' + path[1:] if path.startswith('@') else path)
print('bound', flush=True)
while True:
    print(json.dumps(s.recv(65536).decode('utf-8')), flush=True)
`;

interface Receiver {
  next(): Promise<string>;
}

const ENV_KEYS = ['NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID', 'VSOA_NO_NATIVE'] as const;
let savedEnv: Partial<Record<(typeof ENV_KEYS)[number], string>> = {};
const children: ChildProcessWithoutNullStreams[] = [];
let dir: string;

beforeEach(() => {
  savedEnv = {};
  for (const k of ENV_KEYS) {
    savedEnv[k] = process.env[k];
    delete process.env[k];
  }
  dir = mkdtempSync(join(tmpdir(), 'vsoa-notify-'));
});

afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  for (const k of ENV_KEYS) {
    const v = savedEnv[k];
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  resetNativeForTests();
  rmSync(dir, { recursive: true, force: true });
});

/** Binds a receiver at `path` ("/..." or "@abstract") and waits until it is bound. */
async function receiver(path: string): Promise<Receiver> {
  const child = spawn('python3', ['-c', receiverSource, path], { stdio: ['pipe', 'pipe', 'pipe'] });
  children.push(child);
  const queue: string[] = [];
  const waiters: Array<(line: string) => void> = [];
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<string>((resolve) => {
    child.on('exit', (code) => resolve(`receiver exited (${code}): ${stderr}`));
  });
  createInterface({ input: child.stdout }).on('line', (line) => {
    const w = waiters.shift();
    if (w) w(line);
    else queue.push(line);
  });
  const nextLine = (): Promise<string> => {
    const ready = queue.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    return Promise.race([
      new Promise<string>((resolve) => waiters.push(resolve)),
      exited.then((msg) => Promise.reject(new Error(msg))),
    ]);
  };
  expect(await nextLine()).toBe('bound');
  return { next: async () => JSON.parse(await nextLine()) as string };
}

describe('notify', () => {
  it('sends READY=1, WATCHDOG=1 and STATUS=... as exact datagrams to a path socket', async () => {
    const path = join(dir, 'notify.sock');
    const rx = await receiver(path);
    process.env.NOTIFY_SOCKET = path;
    expect(notify('READY=1')).toBe(true);
    expect(await rx.next()).toBe('READY=1');
    expect(notify('WATCHDOG=1')).toBe(true);
    expect(await rx.next()).toBe('WATCHDOG=1');
    expect(notify('STATUS=listening on 127.0.0.1:3005 — ok')).toBe(true);
    expect(await rx.next()).toBe('STATUS=listening on 127.0.0.1:3005 — ok');
    expect(notify('STOPPING=1\nSTATUS=bye')).toBe(true);
    expect(await rx.next()).toBe('STOPPING=1\nSTATUS=bye');
  });

  it('sends to an abstract @name socket', async () => {
    const name = `@vsoa-notify-test-${process.pid}-${Date.now()}`;
    const rx = await receiver(name);
    process.env.NOTIFY_SOCKET = name;
    expect(notify('READY=1')).toBe(true);
    expect(await rx.next()).toBe('READY=1');
    expect(notify('RELOADING=1')).toBe(true);
    expect(await rx.next()).toBe('RELOADING=1');
  });

  it('is a no-op returning false outside systemd', () => {
    expect(notify('READY=1')).toBe(false);
    process.env.NOTIFY_SOCKET = '';
    expect(notify('READY=1')).toBe(false);
    process.env.NOTIFY_SOCKET = 'vsock:2:1234';
    expect(notify('READY=1')).toBe(false);
  });

  it('returns false, without throwing, when the socket is missing', () => {
    process.env.NOTIFY_SOCKET = join(dir, 'nobody-here.sock');
    expect(notify('READY=1')).toBe(false);
    process.env.NOTIFY_SOCKET = `/${'x'.repeat(200)}`;
    expect(notify('READY=1')).toBe(false);
  });

  it('rejects a state that is not a non-empty string', () => {
    expect(() => notify('')).toThrow(RangeError);
    expect(() => notify(1 as unknown as string)).toThrow(TypeError);
  });

  it('degraded (VSOA_NO_NATIVE=1): returns false and sends nothing', async () => {
    const path = join(dir, 'degraded.sock');
    const rx = await receiver(path);
    const addon = loadNative()!; // loaded before the switch: sends the sentinel below
    process.env.NOTIFY_SOCKET = path;
    process.env.VSOA_NO_NATIVE = '1';
    resetNativeForTests();
    expect(notify('READY=1')).toBe(false);
    addon.notify(path, 'SENTINEL=1');
    // Datagrams on one socket arrive in order: the first one must be the sentinel.
    expect(await rx.next()).toBe('SENTINEL=1');
  });
});

describe('watchdogInterval', () => {
  it('is undefined without WATCHDOG_USEC', () => {
    expect(watchdogInterval()).toBeUndefined();
  });

  it('converts WATCHDOG_USEC to ms', () => {
    process.env.WATCHDOG_USEC = '30000000';
    expect(watchdogInterval()).toBe(30_000);
    process.env.WATCHDOG_USEC = '1500';
    expect(watchdogInterval()).toBe(1);
    process.env.WATCHDOG_USEC = '2500000';
    expect(watchdogInterval()).toBe(2500);
  });

  it('honours WATCHDOG_PID only when it is this process', () => {
    process.env.WATCHDOG_USEC = '10000000';
    process.env.WATCHDOG_PID = String(process.pid);
    expect(watchdogInterval()).toBe(10_000);
    process.env.WATCHDOG_PID = String(process.pid + 1);
    expect(watchdogInterval()).toBeUndefined();
    process.env.WATCHDOG_PID = 'abc';
    expect(watchdogInterval()).toBeUndefined();
  });

  it('ignores malformed values', () => {
    for (const v of ['', '0', '-5', 'abc', '1e6', '12.5', '99999999999999999999']) {
      process.env.WATCHDOG_USEC = v;
      expect(watchdogInterval()).toBeUndefined();
    }
  });
});
