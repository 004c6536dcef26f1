import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { getLogger, setLogger } from '../../src/util/log.js';
import { Timer } from '../../src/util/timer.js';

interface LogLine {
  level: number;
  mod: string;
  msg: string;
  err?: { message: string };
}

const original = getLogger();
let lines: LogLine[];
let timers: Timer[];

/** A timer whose logger writes to `lines` (moduleLogger binds at construction). */
function makeTimer(options?: { unref?: boolean }): Timer {
  const t = new Timer(options);
  timers.push(t);
  return t;
}

beforeEach(() => {
  lines = [];
  timers = [];
  setLogger(pino({ level: 'error' }, { write: (s: string) => lines.push(JSON.parse(s) as LogLine) }));
  vi.useFakeTimers();
});

afterEach(() => {
  for (const t of timers) t.stop();
  vi.useRealTimers();
  setLogger(original);
});

describe('Timer one shot', () => {
  it('fires once after timeoutMs with the given arguments', () => {
    const t = makeTimer();
    const cb = vi.fn((_a: number, _b: string) => {});
    t.start(100, cb, 0, 1, 'two');
    expect(t.isStarted()).toBe(true);
    vi.advanceTimersByTime(99);
    expect(cb).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(cb).toHaveBeenCalledTimes(1);
    expect(cb).toHaveBeenCalledWith(1, 'two');
    vi.advanceTimersByTime(10_000);
    expect(cb).toHaveBeenCalledTimes(1);
    expect(t.isStarted()).toBe(false);
  });

  it('is no longer started inside its own callback', () => {
    const t = makeTimer();
    let inside: boolean | undefined;
    t.start(10, () => {
      inside = t.isStarted();
    });
    vi.advanceTimersByTime(10);
    expect(inside).toBe(false);
  });

  it('may restart itself from its callback', () => {
    const t = makeTimer();
    let calls = 0;
    const cb = (): void => {
      calls++;
      if (calls < 3) t.start(50, cb);
    };
    t.start(50, cb);
    vi.advanceTimersByTime(100);
    expect(calls).toBe(2);
    expect(t.isStarted()).toBe(true);
    vi.advanceTimersByTime(50);
    expect(calls).toBe(3);
    expect(t.isStarted()).toBe(false);
  });

  it('intervalMs defaults to one shot', () => {
    const t = makeTimer();
    const cb = vi.fn();
    t.start(5, cb);
    vi.advanceTimersByTime(1000);
    expect(cb).toHaveBeenCalledTimes(1);
  });
});

describe('Timer periodic', () => {
  it('fires first after timeoutMs, then every intervalMs, until stopped', () => {
    const t = makeTimer();
    const at: number[] = [];
    const start = Date.now();
    t.start(100, () => at.push(Date.now() - start), 30);
    vi.advanceTimersByTime(190);
    expect(at).toEqual([100, 130, 160, 190]);
    expect(t.isStarted()).toBe(true);
    t.stop();
    expect(t.isStarted()).toBe(false);
    vi.advanceTimersByTime(1000);
    expect(at).toHaveLength(4);
  });

  it('is started inside its callback and can stop itself there', () => {
    const t = makeTimer();
    const seen: boolean[] = [];
    t.start(
      10,
      (n: number) => {
        seen.push(t.isStarted());
        if (seen.length === n) t.stop();
      },
      10,
      3,
    );
    vi.advanceTimersByTime(1000);
    expect(seen).toEqual([true, true, true]);
    expect(t.isStarted()).toBe(false);
  });

  it('stopping inside the first (timeout) callback prevents the interval', () => {
    const t = makeTimer();
    const cb = vi.fn(() => t.stop());
    t.start(10, cb, 10);
    vi.advanceTimersByTime(1000);
    expect(cb).toHaveBeenCalledTimes(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('keeps going when the callback throws, and logs each failure at error level', () => {
    const t = makeTimer();
    let calls = 0;
    t.start(
      10,
      () => {
        calls++;
        throw new Error(`boom ${calls}`);
      },
      10,
    );
    vi.advanceTimersByTime(30);
    expect(calls).toBe(3);
    expect(t.isStarted()).toBe(true);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatchObject({ level: 50, mod: 'timer', err: { message: 'boom 1' } });
    expect(lines[2]!.err!.message).toBe('boom 3');
  });

  it('logs a rejecting async callback instead of leaving an unhandled rejection', async () => {
    const t = makeTimer();
    t.start(10, async () => {
      throw new Error('async boom');
    });
    await vi.advanceTimersByTimeAsync(10);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 50, mod: 'timer', err: { message: 'async boom' } });
  });
});

describe('Timer restart and stop', () => {
  it('starting a started timer restarts it with the new settings', () => {
    const t = makeTimer();
    const first = vi.fn();
    const second = vi.fn();
    t.start(100, first);
    vi.advanceTimersByTime(60);
    t.start(100, second);
    vi.advanceTimersByTime(99);
    expect(first).not.toHaveBeenCalled();
    expect(second).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(second).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(1000);
    expect(first).not.toHaveBeenCalled();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('restarting a periodic timer leaves a single schedule', () => {
    const t = makeTimer();
    const cb = vi.fn();
    t.start(10, cb, 10);
    vi.advanceTimersByTime(25); // fired at 10 and 20: the interval is running
    t.start(10, cb, 10);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(100);
    expect(cb).toHaveBeenCalledTimes(2 + 10);
  });

  it('a stopped timer does not fire, stop is idempotent, and it can start again', () => {
    const t = makeTimer();
    const cb = vi.fn();
    t.stop();
    t.start(10, cb);
    t.stop();
    t.stop();
    expect(t.isStarted()).toBe(false);
    vi.advanceTimersByTime(100);
    expect(cb).not.toHaveBeenCalled();
    t.start(10, cb);
    vi.advanceTimersByTime(10);
    expect(cb).toHaveBeenCalledTimes(1);
  });
});

describe('Timer argument checks', () => {
  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31])('timeoutMs %s is a RangeError', (ms) => {
    expect(() => makeTimer().start(ms, () => {})).toThrow(RangeError);
    expect(() => makeTimer().start(ms, () => {})).toThrow(/timeoutMs/);
  });

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31])('intervalMs %s is a RangeError', (ms) => {
    expect(() => makeTimer().start(10, () => {}, ms)).toThrow(RangeError);
    expect(() => makeTimer().start(10, () => {}, ms)).toThrow(/intervalMs/);
  });

  it('non-number delays and a non-function callback are TypeErrors naming the argument', () => {
    const t = makeTimer();
    expect(() => t.start('10' as unknown as number, () => {})).toThrow(TypeError);
    expect(() => t.start('10' as unknown as number, () => {})).toThrow(/timeoutMs/);
    expect(() => t.start(10, () => {}, '5' as unknown as number)).toThrow(/intervalMs/);
    expect(() => t.start(10, null as unknown as () => void)).toThrow(TypeError);
    expect(() => t.start(10, null as unknown as () => void)).toThrow(/callback/);
    expect(() => new Timer(null as unknown as { unref?: boolean })).toThrow(TypeError);
  });

  it('a rejected start leaves a running timer as it was', () => {
    const t = makeTimer();
    const cb = vi.fn();
    t.start(10, cb);
    expect(() => t.start(0, cb)).toThrow(RangeError);
    expect(t.isStarted()).toBe(true);
    vi.advanceTimersByTime(10);
    expect(cb).toHaveBeenCalledTimes(1);
  });

  it('checks callback arguments at compile time', () => {
    const t = makeTimer();
    const cb = (_a: number, _b: string): void => {};
    t.start(10, cb, 0, 1, 'x');
    // @ts-expect-error wrong argument type
    t.start(10, cb, 0, 'x', 'x');
    // @ts-expect-error missing argument
    t.start(10, cb, 0, 1);
    t.stop();
  });

  it('runs sub-millisecond delays after 1 ms, as Node does', () => {
    const t = makeTimer();
    const cb = vi.fn();
    t.start(0.5, cb, 0.25);
    vi.advanceTimersByTime(3);
    expect(cb).toHaveBeenCalledTimes(3);
  });
});

describe('Timer and the process lifetime', () => {
  // Real timers: the point is what Node's event loop counts as keeping the process alive.
  beforeEach(() => {
    vi.useRealTimers();
  });

  function refTimeouts(): number {
    return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  }

  it('keeps the process alive by default, one shot and periodic', () => {
    const t = makeTimer();
    const before = refTimeouts();
    t.start(60_000, () => {});
    expect(refTimeouts()).toBe(before + 1);
    t.start(60_000, () => {}, 1000);
    expect(refTimeouts()).toBe(before + 1);
    t.stop();
    expect(refTimeouts()).toBe(before);
  });

  it('does not with { unref: true }', () => {
    const t = makeTimer({ unref: true });
    const before = refTimeouts();
    t.start(60_000, () => {});
    expect(t.isStarted()).toBe(true);
    expect(refTimeouts()).toBe(before);
  });

  it('the interval of an unref timer is unref too', async () => {
    const t = makeTimer({ unref: true });
    const before = refTimeouts();
    const fired = new Promise<void>((resolve) => t.start(1, resolve, 60_000));
    await fired; // the interval is armed before the callback runs
    expect(t.isStarted()).toBe(true);
    expect(refTimeouts()).toBe(before);
  });
});
