import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Watchdog, type WatchdogOptions, type WatchdogState } from '../../src/systemd/watchdog.js';
import { getLogger, setLogger } from '../../src/util/log.js';
import { type NotifyReceiver, notifyReceiver } from '../helpers/notify-receiver.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const ENV_KEYS = ['NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID'] as const;
/** 200 ms: kicks decided every 100 ms, loop lag bound 100 ms. */
const USEC = '200000';

let savedEnv: Partial<Record<(typeof ENV_KEYS)[number], string>> = {};
const cleanups: Array<() => void> = [];

beforeEach(() => {
  savedEnv = {};
  for (const k of ENV_KEYS) {
    savedEnv[k] = process.env[k];
    delete process.env[k];
  }
});

afterEach(() => {
  for (const fn of cleanups.splice(0).reverse()) fn();
  for (const k of ENV_KEYS) {
    const v = savedEnv[k];
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  vi.useRealTimers();
});

async function receiver(): Promise<NotifyReceiver> {
  const rx = await notifyReceiver();
  cleanups.push(() => rx.close());
  return rx;
}

/** `maxLagMs` large: tests of checks must not see the test runner's own loop hiccups. */
function watchdog(options: WatchdogOptions = {}): Watchdog {
  const w = new Watchdog(options);
  cleanups.push(() => w.stop());
  return w;
}

const nextDecision = (w: Watchdog): Promise<WatchdogState> =>
  new Promise((resolve) => w.once('decision', resolve));

/** Records the library's log lines while the test runs. */
function captureLogs(): Array<Record<string, unknown>> {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      cb();
    },
  });
  const saved = getLogger();
  setLogger(pino({ level: 'debug' }, stream));
  cleanups.push(() => setLogger(saved));
  return lines;
}

describe('Watchdog under systemd', () => {
  it('sends READY=1, then WATCHDOG=1 periodically', async () => {
    const rx = await receiver();
    process.env.NOTIFY_SOCKET = rx.path;
    process.env.WATCHDOG_USEC = USEC;
    const w = watchdog();
    w.start();
    expect(w.ready()).toBe(true);
    await rx.waitFor('READY=1');
    for (let i = 0; i < 3; i++) await rx.waitFor('WATCHDOG=1');
    const state = w.state();
    expect(state).toMatchObject({ active: true, intervalMs: 200, kickEveryMs: 100, maxLagMs: 100 });
    expect(state.kicks).toBeGreaterThanOrEqual(3);
  });

  it('withholds kicks while a check fails, logs why, and resumes when it passes', async () => {
    const logs = captureLogs();
    const rx = await receiver();
    process.env.NOTIFY_SOCKET = rx.path;
    process.env.WATCHDOG_USEC = USEC;
    const w = watchdog({ maxLagMs: 60_000 });
    let progressing = true;
    let calls = 0;
    w.addCheck('progress', () => {
      calls++;
      return progressing || 'no message for 30 s';
    });
    w.addCheck('other', () => true);
    w.start();
    await rx.waitFor('WATCHDOG=1');

    progressing = false;
    // The very next decision withholds: kicks stop within one kick period.
    const stopped = await nextDecision(w);
    expect(stopped).toMatchObject({
      decision: 'withheld',
      failedCheck: 'progress',
      reason: 'check progress: no message for 30 s',
    });
    expect(w.state()).toEqual(stopped);
    // Markers around two more periods: no kick between them.
    w.status('marker-1');
    await nextDecision(w);
    await nextDecision(w);
    w.status('marker-2');
    await rx.waitFor('STATUS=marker-1');
    const from = rx.cursor();
    await rx.waitFor('STATUS=marker-2');
    expect(rx.messages.slice(from, rx.cursor() - 1)).not.toContain('WATCHDOG=1');

    const warns = logs.filter((l) => l.level === 40 && l.mod === 'watchdog');
    expect(warns).toHaveLength(1); // once when kicks stop, not every period
    expect(warns[0]).toMatchObject({ check: 'progress', reason: 'check progress: no message for 30 s' });
    expect(String(warns[0]!.msg)).toMatch(/withheld.*no message for 30 s/);

    progressing = true;
    expect(await nextDecision(w)).toMatchObject({ decision: 'kick', reason: null, failedCheck: null });
    await rx.waitFor('WATCHDOG=1');
    expect(logs.some((l) => l.level === 30 && l.msg === 'watchdog kicks resumed')).toBe(true);
    expect(calls).toBeGreaterThan(3);
  });

  it('treats false, a throw and a removed check as expected', async () => {
    const rx = await receiver();
    process.env.NOTIFY_SOCKET = rx.path;
    process.env.WATCHDOG_USEC = USEC;
    const w = watchdog({ maxLagMs: 60_000 });
    const remove = w.addCheck('flag', () => false);
    w.start();
    expect(await nextDecision(w)).toMatchObject({ decision: 'withheld', reason: 'check flag: failed' });
    remove();
    w.addCheck('boom', () => {
      throw new Error('disk gone');
    });
    expect(await nextDecision(w)).toMatchObject({
      failedCheck: 'boom',
      reason: 'check boom: threw disk gone',
    });
    expect(w.removeCheck('boom')).toBe(true);
    expect(await nextDecision(w)).toMatchObject({ decision: 'kick' });
    await rx.waitFor('WATCHDOG=1');
  });

  it('withholds the kick after the event loop was blocked (in-process busy-wait)', async () => {
    const rx = await receiver();
    process.env.NOTIFY_SOCKET = rx.path;
    process.env.WATCHDOG_USEC = USEC;
    const w = watchdog();
    w.start();
    await rx.waitFor('WATCHDOG=1');
    const until = performance.now() + 300;
    while (performance.now() < until) {
      // blocked for longer than the watchdog interval
    }
    const after = await nextDecision(w);
    expect(after.decision).toBe('withheld');
    expect(after.reason).toMatch(/^event loop lag \d+ ms > 100 ms$/);
    expect(after.lagMs).toBeGreaterThan(100);
    await rx.waitFor('WATCHDOG=1'); // and kicks resume
  });

  it('sends STATUS only when it changed, and STOPPING=1 and RELOADING=1', async () => {
    const rx = await receiver();
    process.env.NOTIFY_SOCKET = rx.path;
    const w = watchdog();
    w.start(); // no WATCHDOG_USEC: notifications only, no kicks
    expect(w.state().active).toBe(false);
    expect(w.status('serving 3 entries')).toBe(true);
    expect(w.status('serving 3 entries')).toBe(false);
    expect(w.status('serving 4 entries')).toBe(true);
    expect(w.reloading()).toBe(true);
    expect(w.stopping()).toBe(true);
    // In order; a repeated STATUS would be found by the second wait instead of the changed one.
    expect(await rx.waitFor((m) => m.startsWith('STATUS='))).toBe('STATUS=serving 3 entries');
    expect(await rx.waitFor((m) => m.startsWith('STATUS='))).toBe('STATUS=serving 4 entries');
    expect(await rx.waitFor(/^RELOADING=1\nMONOTONIC_USEC=\d+$/)).toBeTruthy();
    expect(await rx.waitFor('STOPPING=1')).toBe('STOPPING=1');
    expect(() => w.status('two\nlines')).toThrow(RangeError);
  });
});

describe('Watchdog outside systemd', () => {
  it('creates no timer and evaluates nothing without NOTIFY_SOCKET or WATCHDOG_USEC', () => {
    vi.useFakeTimers();
    const check = vi.fn(() => true);
    const w = watchdog();
    w.addCheck('c', check);
    w.start();
    expect(vi.getTimerCount()).toBe(0);
    expect(w.ready()).toBe(false);
    expect(w.status('x')).toBe(false);
    expect(w.stopping()).toBe(false);
    expect(w.state()).toMatchObject({ active: false, intervalMs: null, decision: null, kicks: 0 });

    process.env.WATCHDOG_USEC = USEC; // the interval alone is not systemd
    w.start();
    expect(vi.getTimerCount()).toBe(0);

    process.env.NOTIFY_SOCKET = '/nonexistent/notify.sock';
    process.env.WATCHDOG_PID = String(process.pid + 1); // inherited by a child: not ours
    w.start();
    expect(vi.getTimerCount()).toBe(0);

    delete process.env.WATCHDOG_PID;
    w.start(); // the control: now it is active
    expect(vi.getTimerCount()).toBe(1);
    expect(w.state().active).toBe(true);
    w.stop();
    expect(vi.getTimerCount()).toBe(0);
    expect(check).not.toHaveBeenCalled();
  });

  it('rejects bad arguments', () => {
    const w = watchdog();
    expect(() => w.addCheck('', () => true)).toThrow(TypeError);
    expect(() => w.addCheck('x', 1 as unknown as () => boolean)).toThrow(TypeError);
    expect(() => new Watchdog({ maxLagMs: 0 })).toThrow(RangeError);
    expect(() => w.status(1 as unknown as string)).toThrow(TypeError);
  });
});

describe('Watchdog in a child process', () => {
  interface Child {
    proc: ChildProcessWithoutNullStreams;
    send(line: string): void;
    nextState(): Promise<WatchdogState>;
  }

  function child(rx: NotifyReceiver): Child {
    const env: NodeJS.ProcessEnv = { ...process.env, NOTIFY_SOCKET: rx.path, WATCHDOG_USEC: USEC };
    delete env.WATCHDOG_PID;
    const proc = spawn(process.execPath, ['--import', 'tsx', 'test/systemd/watchdog-child.ts'], {
      cwd: root,
      env,
    });
    cleanups.push(() => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    });
    let out = '';
    const states: WatchdogState[] = [];
    let wake: (() => void) | null = null;
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      let at = out.indexOf('\n');
      while (at >= 0) {
        states.push(JSON.parse(out.slice(0, at)) as WatchdogState);
        out = out.slice(at + 1);
        at = out.indexOf('\n');
      }
      wake?.();
    });
    return {
      proc,
      send: (line) => proc.stdin.write(`${line}\n`),
      async nextState() {
        while (states.length === 0) await new Promise<void>((r) => (wake = r));
        return states.shift()!;
      },
    };
  }

  it('stops kicking while its event loop is hogged, and resumes after', async () => {
    const rx = await receiver();
    const c = child(rx);
    await rx.waitFor('READY=1', 15_000);
    await rx.waitFor('WATCHDOG=1');
    c.send('hog 800');
    await rx.waitFor('X-BEGIN=hog');
    const from = rx.cursor();
    await rx.waitFor('X-END=hog');
    // Timers ran between the 150 ms busy spells, so only the lag check kept kicks away.
    expect(rx.messages.slice(from, rx.cursor() - 1)).not.toContain('WATCHDOG=1');
    await c.nextState();
    await rx.waitFor('WATCHDOG=1');

    c.send('block 400');
    await rx.waitFor('X-END=block');
    const after = await c.nextState();
    expect(after).toMatchObject({ decision: 'withheld', failedCheck: null });
    expect(after.reason).toMatch(/^event loop lag \d+ ms > 100 ms$/);
    await rx.waitFor('WATCHDOG=1');
  });

  it('never keeps the process alive (the timer is unref’d)', async () => {
    const rx = await receiver();
    const c = child(rx);
    await rx.waitFor('WATCHDOG=1', 15_000);
    c.send('exit');
    c.proc.stdin.end();
    const [code] = await once(c.proc, 'exit');
    expect(code).toBe(0);
  });
});
