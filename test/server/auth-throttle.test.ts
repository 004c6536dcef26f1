/** The per-address password backoff on its own: keys, ordering, memory bound. */
import { afterEach, describe, expect, it } from 'vitest';
import { AuthThrottle, throttleKey } from '../../src/server/auth-throttle.js';
import type { Logger } from '../../src/util/log.js';

const noop = (): void => {};
const silent: Logger = { debug: noop, info: noop, warn: noop, error: noop, child: () => silent };
const throttles: AuthThrottle[] = [];
afterEach(() => {
  for (const t of throttles.splice(0)) t.close();
});

function throttle(free = 1, base = 50, max = 1000): AuthThrottle {
  const t = new AuthThrottle({ free, base, max, log: silent });
  throttles.push(t);
  return t;
}

describe('AuthThrottle', () => {
  it('keys IPv4 by address and IPv6 by /64', () => {
    expect(throttleKey('127.0.0.1')).toBe('127.0.0.1');
    expect(throttleKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(throttleKey('2001:db8:1:2:bbbb:cccc:dddd:eeee')).toBe('2001:db8:1:2::/64');
    expect(throttleKey('2001:DB8:0001:2::')).toBe('2001:db8:1:2::/64');
    expect(throttleKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(throttleKey('::1')).toBe('0:0:0:0::/64');
  });

  it('runs checks at once until the free failures are used, then one at a time after each delay', async () => {
    const t = throttle(1, 50, 1000);
    const ran: Array<[string, number]> = [];
    const t0 = performance.now();
    const check = (name: string, fail: boolean) => () => {
      ran.push([name, performance.now() - t0]);
      if (fail) t.failed('10.0.0.1');
      return true;
    };
    t.admit('10.0.0.1', check('a', true)); // free
    t.admit('10.0.0.1', check('b', true)); // at once (nothing delayed yet), then 50 ms
    t.admit('10.0.0.1', check('c', true)); // after 50 ms, then 100 ms
    t.admit('10.0.0.1', () => false); // a connection that went away: skipped at no cost
    t.admit('10.0.0.1', check('d', false)); // after 100 more
    t.admit('10.0.0.2', check('other', false)); // never delayed
    expect(ran.map(([n]) => n)).toEqual(['a', 'b', 'other']);
    await new Promise((r) => setTimeout(r, 400));
    expect(ran.map(([n]) => n)).toEqual(['a', 'b', 'other', 'c', 'd']);
    const at = Object.fromEntries(ran);
    expect(at.c).toBeGreaterThanOrEqual(45);
    expect((at.d ?? 0) - (at.c ?? 0)).toBeGreaterThanOrEqual(95);
    expect(t.isThrottled('10.0.0.1')).toBe(true);
    expect(t.isThrottled('10.0.0.2')).toBe(false);
  });

  it('tracks at most 4096 addresses', () => {
    const t = throttle();
    for (let i = 0; i < 10_000; i++) t.failed(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    expect(t.size).toBe(4096);
  });
});
