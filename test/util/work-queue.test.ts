import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { getLogger, setLogger } from '../../src/util/log.js';
import { WorkQueue } from '../../src/util/work-queue.js';

interface LogLine {
  level: number;
  mod: string;
  msg: string;
  job?: string;
  err?: { message: string };
}

const original = getLogger();
let lines: LogLine[];

beforeEach(() => {
  lines = [];
  setLogger(pino({ level: 'error' }, { write: (s: string) => lines.push(JSON.parse(s) as LogLine) }));
});

afterEach(() => {
  setLogger(original);
});

/** One turn of the event loop: lets any job scheduled before it run. */
function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (err: Error) => void } {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('WorkQueue ordering and scheduling', () => {
  it('runs jobs one at a time in the order added, with their arguments', async () => {
    const wq = new WorkQueue();
    const seen: string[] = [];
    const hello = (n: number, s: string): void => {
      seen.push(`${s}${n}`);
    };
    wq.add(hello, 1, 'a');
    wq.add(hello, 2, 'b');
    wq.add(() => seen.push('c'));
    expect(wq.size).toBe(3);
    await wq.onIdle();
    expect(seen).toEqual(['a1', 'b2', 'c']);
    expect(wq.size).toBe(0);
  });

  it('never runs a job inside add, nor in the same tick (microtasks included)', async () => {
    const wq = new WorkQueue();
    const seen: string[] = [];
    wq.add(() => seen.push('job'));
    seen.push('after add');
    await Promise.resolve();
    await Promise.resolve();
    seen.push('after microtasks');
    await wq.onIdle();
    expect(seen).toEqual(['after add', 'after microtasks', 'job']);
  });

  it('gives other event-loop work a turn between jobs', async () => {
    const wq = new WorkQueue();
    const seen: string[] = [];
    wq.add(() => {
      seen.push('job 1');
      setImmediate(() => seen.push('other work'));
    });
    wq.add(() => seen.push('job 2'));
    await wq.onIdle();
    expect(seen).toEqual(['job 1', 'other work', 'job 2']);
  });

  it('awaits an async job before starting the next', async () => {
    const wq = new WorkQueue();
    const seen: string[] = [];
    const gate = deferred();
    const started = deferred();
    wq.add(async () => {
      seen.push('1 start');
      started.resolve();
      await gate.promise;
      seen.push('1 end');
    });
    wq.add(() => seen.push('2'));
    await started.promise;
    for (let i = 0; i < 5; i++) await turn();
    expect(seen).toEqual(['1 start']);
    expect(wq.size).toBe(1);
    gate.resolve();
    await wq.onIdle();
    expect(seen).toEqual(['1 start', '1 end', '2']);
  });

  it('runs jobs added by a running job after it, in order', async () => {
    const wq = new WorkQueue();
    const seen: number[] = [];
    wq.add(() => {
      seen.push(1);
      wq.add(() => seen.push(3));
    });
    wq.add(() => seen.push(2));
    await wq.onIdle();
    expect(seen).toEqual([1, 2, 3]);
  });

  it('handles many jobs in order', async () => {
    const wq = new WorkQueue();
    const seen: number[] = [];
    const push = (n: number): void => {
      seen.push(n);
    };
    for (let i = 0; i < 5000; i++) wq.add(push, i);
    await wq.onIdle();
    expect(seen).toEqual(Array.from({ length: 5000 }, (_, i) => i));
  });
});

describe('WorkQueue failures', () => {
  it('logs a throwing job and a rejecting job at error level and goes on', async () => {
    const wq = new WorkQueue();
    const seen: string[] = [];
    wq.add(function thrower() {
      throw new Error('sync boom');
    });
    wq.add(async () => {
      throw new Error('async boom');
    });
    wq.add(() => seen.push('still running'));
    await wq.onIdle();
    expect(seen).toEqual(['still running']);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({
      level: 50,
      mod: 'work-queue',
      job: 'thrower',
      err: { message: 'sync boom' },
    });
    expect(lines[1]).toMatchObject({ level: 50, mod: 'work-queue', err: { message: 'async boom' } });
  });
});

describe('WorkQueue delete, isQueued, addIfNotQueued', () => {
  it('delete removes every waiting job of that function and reports whether it did', async () => {
    const wq = new WorkQueue();
    const seen: string[] = [];
    const a = (): void => {
      seen.push('a');
    };
    const b = (): void => {
      seen.push('b');
    };
    wq.add(a);
    wq.add(b);
    wq.add(a);
    expect(wq.isQueued(a)).toBe(true);
    expect(wq.delete(a)).toBe(true);
    expect(wq.isQueued(a)).toBe(false);
    expect(wq.size).toBe(1);
    expect(wq.delete(a)).toBe(false);
    await wq.onIdle();
    expect(seen).toEqual(['b']);
  });

  it('the running job is not queued and cannot be deleted; a re-added one is', async () => {
    const wq = new WorkQueue();
    const log: unknown[] = [];
    const job = (): void => {
      log.push(wq.isQueued(job), wq.delete(job), wq.size);
      if (log.length === 3) {
        wq.add(job);
        log.push(wq.isQueued(job), wq.size);
        log.push(wq.delete(job), wq.isQueued(job));
      }
    };
    wq.add(job);
    await wq.onIdle();
    expect(log).toEqual([false, false, 0, true, 1, true, false]);
  });

  it('addIfNotQueued adds only when no job of that function is waiting', async () => {
    const wq = new WorkQueue();
    const seen: number[] = [];
    const f = (n: number): void => {
      seen.push(n);
      if (n === 1) seen.push(wq.addIfNotQueued(f, 3) ? 1 : 0); // f is running, not queued
    };
    expect(wq.addIfNotQueued(f, 1)).toBe(true);
    expect(wq.addIfNotQueued(f, 2)).toBe(false);
    expect(wq.size).toBe(1);
    await wq.onIdle();
    expect(seen).toEqual([1, 1, 3]);
  });

  it('deleting every waiting job settles onIdle without running anything, and the queue still works', async () => {
    const wq = new WorkQueue();
    const seen: string[] = [];
    const a = (): void => {
      seen.push('a');
    };
    wq.add(a);
    let idle = false;
    void wq.onIdle().then(() => {
      idle = true;
    });
    expect(wq.delete(a)).toBe(true);
    await Promise.resolve(); // idle at once, as onIdle() on an empty queue: no turn needed
    expect(idle).toBe(true);
    for (let i = 0; i < 3; i++) await turn();
    expect(seen).toEqual([]);
    wq.add(a);
    await wq.onIdle();
    expect(seen).toEqual(['a']);
  });
});

describe('WorkQueue onIdle', () => {
  it('resolves at once when idle', async () => {
    const wq = new WorkQueue();
    let done = false;
    void wq.onIdle().then(() => {
      done = true;
    });
    await Promise.resolve();
    expect(done).toBe(true);
  });

  it('waits for the running async job as well as the waiting ones', async () => {
    const wq = new WorkQueue();
    const gate = deferred();
    const started = deferred();
    wq.add(async () => {
      started.resolve();
      await gate.promise;
    });
    await started.promise;
    expect(wq.size).toBe(0);
    let idle = false;
    const p = wq.onIdle().then(() => {
      idle = true;
    });
    for (let i = 0; i < 3; i++) await turn();
    expect(idle).toBe(false);
    gate.resolve();
    await p;
    expect(idle).toBe(true);
  });

  it('settles every waiter, also after a failing last job', async () => {
    const wq = new WorkQueue();
    wq.add(() => {
      throw new Error('last');
    });
    await Promise.all([wq.onIdle(), wq.onIdle()]);
    expect(lines).toHaveLength(1);
  });
});

describe('WorkQueue argument checks', () => {
  it('a job that is not a function is a TypeError naming fn', () => {
    const wq = new WorkQueue();
    const bad = 'nope' as unknown as () => void;
    expect(() => wq.add(bad)).toThrow(TypeError);
    expect(() => wq.add(bad)).toThrow(/fn/);
    expect(() => wq.addIfNotQueued(bad)).toThrow(/fn/);
    expect(() => wq.delete(bad)).toThrow(/fn/);
    expect(() => wq.isQueued(bad)).toThrow(/fn/);
    expect(wq.size).toBe(0);
  });

  it('checks job arguments at compile time', async () => {
    const wq = new WorkQueue();
    const f = (_n: number): void => {};
    wq.add(f, 1);
    // @ts-expect-error wrong argument type
    wq.add(f, 'x');
    // @ts-expect-error missing argument
    wq.addIfNotQueued(f);
    await wq.onIdle();
  });
});
