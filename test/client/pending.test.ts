import { describe, expect, it, vi } from 'vitest';
import { PendingTable } from '../../src/client/pending.js';
import { Type } from '../../src/protocol/index.js';
import { memoryLogger } from '../helpers/net.js';

/** The client's table of calls in flight: seqno matching, timeouts, settling on close. */
describe('PendingTable', () => {
  it('keeps time on a monotonic clock: a wall-clock step (NTP at boot) neither expires nor strands requests', () => {
    vi.useFakeTimers();
    try {
      const year = 365 * 24 * 3600 * 1000;
      const table = new PendingTable();
      const settled: Array<[number, string]> = [];
      const add = (seqno: number, timeout: number) =>
        table.add(seqno, Type.RPC, timeout, (_p, reason) => settled.push([seqno, reason]));
      add(1, 1000);
      add(2, 60_000);
      vi.setSystemTime(Date.now() + 10 * year); // an RTC-less board syncs its clock
      vi.advanceTimersByTime(1000);
      expect(settled).toEqual([[1, 'timeout']]); // 2 still has 59 s to go
      add(3, 1000);
      vi.setSystemTime(Date.now() - 10 * year);
      vi.advanceTimersByTime(1000);
      expect(settled).toEqual([
        [1, 'timeout'],
        [3, 'timeout'],
      ]);
      expect(table.size).toBe(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('skips seqnos in use, wraps, and refuses more than 0xFFFF pending', () => {
    const table = new PendingTable();
    const settle = () => {};
    const first = table.allocate() as number;
    table.add(first, 1, 0, settle);
    expect(first).toBe(1);
    for (let i = 0; i < 0xfffe; i++) table.add(table.allocate() as number, 1, 0, settle);
    expect(table.size).toBe(0xffff);
    expect(table.allocate()).toBeUndefined();
    table.cancel(100);
    table.cancel(200);
    const zero = table.allocate() as number;
    expect(zero).toBe(0);
    table.add(zero, 1, 0, settle);
    expect(table.allocate()).toBe(100);
  });

  it('times requests out by one timer: earliest first, re-armed, left armed (unref) when the table empties', () => {
    vi.useFakeTimers();
    try {
      const table = new PendingTable();
      const settled: Array<[number, string]> = [];
      const add = (seqno: number, timeout: number) =>
        table.add(seqno, Type.RPC, timeout, (_p, reason) => settled.push([seqno, reason]));
      add(1, 1000);
      add(2, 100);
      add(3, 0);
      add(4, 500);
      expect(vi.getTimerCount()).toBe(1);
      vi.advanceTimersByTime(100);
      expect(settled).toEqual([[2, 'timeout']]);
      vi.advanceTimersByTime(400);
      expect(settled).toEqual([
        [2, 'timeout'],
        [4, 'timeout'],
      ]);
      const reply = {
        type: Type.RPC,
        flags: 1,
        status: 0,
        seqno: 1,
        tunid: 0,
        url: '',
        param: undefined,
        data: undefined,
      };
      expect(table.resolve(reply)).toBe(true);
      table.cancel(3);
      expect(table.size).toBe(0);
      // Still armed for seqno 1's deadline: the next call arms nothing. It fires, finds
      // nothing, and is not re-armed.
      expect(vi.getTimerCount()).toBe(1);
      add(5, 2000);
      expect(vi.getTimerCount()).toBe(1);
      expect(table.resolve({ ...reply, seqno: 5 })).toBe(true);
      vi.advanceTimersByTime(5000);
      expect(vi.getTimerCount()).toBe(0);
      expect(settled).toEqual([
        [2, 'timeout'],
        [4, 'timeout'],
        [1, 'reply'],
        [5, 'reply'],
      ]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('settles every entry when one callback throws: the throw is logged, the rest still run', () => {
    const { logger, lines } = memoryLogger();
    const counted: number[] = [];
    const table = new PendingTable({ settled: (type) => counted.push(type), log: logger });
    const reasons: string[] = [];
    table.add(1, Type.RPC, 0, () => {
      throw new Error('app bug');
    });
    table.add(2, Type.PINGECHO, 0, (_p, reason) => reasons.push(reason));
    table.failAll();
    expect(reasons).toEqual(['closed']);
    expect(counted).toEqual([Type.RPC, Type.PINGECHO]);
    expect(lines().filter((l) => l.msg === 'reply callback threw')).toHaveLength(1);
  });

  it('matches replies by seqno and type', () => {
    const table = new PendingTable();
    const settle = vi.fn();
    table.add(5, Type.RPC, 0, settle);
    const reply = {
      type: Type.PINGECHO,
      flags: 1,
      status: 0,
      seqno: 5,
      tunid: 0,
      url: '',
      param: undefined,
      data: undefined,
    };
    expect(table.resolve(reply)).toBe(false);
    expect(table.resolve({ ...reply, type: Type.RPC })).toBe(true);
    expect(settle).toHaveBeenCalledTimes(1);
  });
});
