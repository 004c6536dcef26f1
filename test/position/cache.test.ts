import { describe, expect, it } from 'vitest';
import { LookupCache } from '../../src/position/index.js';

function clocked(ttl: number, max?: number): { cache: LookupCache<number>; tick: (ms: number) => void } {
  let now = 0;
  const cache = new LookupCache<number>(ttl, max, () => now);
  return { cache, tick: (ms) => (now += ms) };
}

describe('LookupCache', () => {
  it('keeps a value until its ttl has passed', () => {
    const { cache, tick } = clocked(3000);
    cache.set('a', 1);
    tick(2999);
    expect(cache.get('a')).toBe(1);
    tick(1);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('set renews the expiry', () => {
    const { cache, tick } = clocked(100);
    cache.set('a', 1);
    tick(90);
    cache.set('a', 2);
    tick(90);
    expect(cache.get('a')).toBe(2);
  });

  it('ttl 0 stores nothing and empties it; negative or NaN ttl is a RangeError', () => {
    const { cache } = clocked(100);
    cache.set('a', 1);
    cache.setTtl(0);
    expect(cache.get('a')).toBeUndefined();
    cache.set('b', 2);
    expect(cache.size).toBe(0);
    expect(() => cache.setTtl(-1)).toThrow(RangeError);
    expect(() => cache.setTtl(Number.NaN)).toThrow(RangeError);
    expect(() => new LookupCache(-5)).toThrow(RangeError);
  });

  it('is bounded: the oldest entry is dropped first', () => {
    const { cache } = clocked(1000, 2);
    cache.set('a', 1);
    cache.set('b', 2);
    cache.set('c', 3);
    expect([cache.get('a'), cache.get('b'), cache.get('c')]).toEqual([undefined, 2, 3]);
  });
});
