/** URL rules: publish matching, command routing and URL validation, by table and by property. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  anySubscriptionMatches,
  assertUrl,
  cachedMatchKeys,
  isValidUrl,
  matchKeyCacheSize,
  matchKeys,
  routeCommand,
  subscriptionMatches,
} from '../../src/protocol/index.js';

const SEED = Number(process.env.FC_SEED ?? 0x5653_4f41);

// [subscription, url, matches]
const MATCHES: readonly (readonly [string, string, boolean])[] = [
  // `/` receives every valid url.
  ['/', '/', true],
  ['/', '/a', true],
  ['/', '/a/', true],
  ['/', '/a/b/c', true],
  ['/', '/a//x', true],
  // A subscription ending in `/`: its own path, with or without the slash, and all below.
  ['/a/', '/a/', true],
  ['/a/', '/a', true],
  ['/a/', '/a/b', true],
  ['/a/', '/a/b/c', true],
  ['/a/', '/a//x', true],
  ['/a/', '/a/b/', true],
  ['/a/', '/ab', false],
  ['/a/', '/', false],
  ['/a/', '/b/a/', false],
  ['/a/b/', '/a/b', true],
  ['/a/b/', '/a/b/c', true],
  ['/a/b/', '/a', false],
  ['/a/b/', '/a/', false],
  ['/a/b/', '/a/bc', false],
  // An exact subscription: that url only, not below it, not with a trailing slash.
  ['/a', '/a', true],
  ['/a', '/a/', false],
  ['/a', '/a/b', false],
  ['/a', '/ab', false],
  ['/e', '/e', true],
  ['/e', '/e/f', false],
  ['/ab', '/a', false],
  ['/a/b', '/a/b', true],
  ['/a/b', '/a/b/c', false],
  // Doubled slashes are ordinary path text.
  ['/a//', '/a//x', true],
  ['/a//', '/a/x', false],
  ['/a//', '/a/', true],
  ['/a//', '/a', false],
  // Urls that are not valid (empty, no leading `/`) match only themselves.
  ['/', '', false],
  ['/', 'a', false],
  ['/', 'a/b', false],
  ['/a/', 'a/b', false],
  ['a/', 'a', false],
  ['a/', 'a/b', false],
  ['', '', true],
  ['a', 'a', true],
];

describe('subscriptionMatches / anySubscriptionMatches', () => {
  it.each(MATCHES)('%j receives %j: %s', (sub, url, expected) => {
    expect(subscriptionMatches(sub, url)).toBe(expected);
    expect(anySubscriptionMatches(new Set([sub]), url)).toBe(expected);
  });

  it('any of several subscriptions', () => {
    const subs = new Set(['/x', '/a/b/', '/e']);
    expect(anySubscriptionMatches(subs, '/a/b/c')).toBe(true);
    expect(anySubscriptionMatches(subs, '/a/b')).toBe(true);
    expect(anySubscriptionMatches(subs, '/e')).toBe(true);
    expect(anySubscriptionMatches(subs, '/x/y')).toBe(false);
    expect(anySubscriptionMatches(subs, '/a')).toBe(false);
    expect(anySubscriptionMatches(new Set(), '/a')).toBe(false);
  });

  it('the set form agrees with the single form for every url and subscription', () => {
    const path = fc.string({ unit: fc.constantFrom('/', 'a', 'b'), maxLength: 7 });
    fc.assert(
      fc.property(path, path, (sub, url) => {
        expect(anySubscriptionMatches(new Set([sub]), url)).toBe(subscriptionMatches(sub, url));
      }),
      { seed: SEED, numRuns: 3000 },
    );
  });

  it('the same url asked twice gives the same answer (cached keys)', () => {
    const subs = new Set(['/a/']);
    for (let i = 0; i < 3; i++) {
      expect(anySubscriptionMatches(subs, '/a/b/c')).toBe(true);
      expect(anySubscriptionMatches(subs, '/ab')).toBe(false);
    }
  });
});

describe('routeCommand', () => {
  // Each registered url's handler is its own name.
  const table = (...urls: string[]): Map<string, string> => new Map(urls.map((u) => [u, u]));

  // [registered, url, handler]
  const ROUTES: readonly (readonly [readonly string[], string, string | undefined])[] = [
    [['/echo'], '/echo', '/echo'],
    [['/echo'], '/echo/', undefined],
    [['/echo'], '/echo/x', undefined],
    [['/echo'], '/ech', undefined],
    // A command ending in `/` serves its own path and everything below.
    [['/a/'], '/a/', '/a/'],
    [['/a/'], '/a', '/a/'],
    [['/a/'], '/a/b', '/a/'],
    [['/a/'], '/a/b/c', '/a/'],
    [['/a/'], '/a//x', '/a/'],
    [['/a/'], '/a/b/', '/a/'],
    [['/a/'], '/ab', undefined],
    [['/a/'], '/', undefined],
    // Longest prefix wins.
    [['/a/', '/a/b/'], '/a/b/c', '/a/b/'],
    [['/a/', '/a/b/'], '/a/b', '/a/b/'],
    [['/a/', '/a/b/'], '/a/bc', '/a/'],
    [['/a/', '/a/b/'], '/a/c/d', '/a/'],
    [['/a/b/', '/a/'], '/a/b/c/d', '/a/b/'],
    // Exact beats prefix.
    [['/a/', '/a/b'], '/a/b', '/a/b'],
    [['/a/', '/a/b'], '/a/b/c', '/a/'],
    [['/a/', '/a'], '/a', '/a'],
    [['/a/', '/a'], '/a/', '/a/'],
    // `/` is the last resort, for valid urls only.
    [['/', '/a/'], '/a/b', '/a/'],
    [['/', '/a/'], '/ab', '/'],
    [['/', '/a/'], '/', '/'],
    [['/', '/a/'], '/zzz/y', '/'],
    [['/'], '/a//x', '/'],
    [['/', '/a/'], '', undefined],
    [['/', '/a/'], 'a', undefined],
    [['/', '/a/'], 'a/b', undefined],
    [['/', '/echo'], 'echo', undefined],
    [[], '/a', undefined],
  ];

  it.each(ROUTES)('registered %j: %j goes to %j', (urls, url, expected) => {
    expect(routeCommand(table(...urls), url)).toBe(expected);
  });

  it('matchKeys lists the candidates most specific first', () => {
    expect(matchKeys('/a/b/c')).toEqual(['/a/b/c', '/a/b/c/', '/a/b/', '/a/', '/']);
    expect(matchKeys('/a/b/')).toEqual(['/a/b/', '/a/b//', '/a/', '/']);
    expect(matchKeys('/a//x')).toEqual(['/a//x', '/a//x/', '/a//', '/a/', '/']);
    expect(matchKeys('/')).toEqual(['/', '//']);
    expect(matchKeys('')).toEqual(['']);
    expect(matchKeys('a/b')).toEqual(['a/b']);
  });

  it('routes to the longest registered key that matches, by the publish rule', () => {
    const path = fc.string({ unit: fc.constantFrom('/', 'a', 'b'), minLength: 1, maxLength: 6 });
    const url = path.map((p) => `/${p}`);
    fc.assert(
      fc.property(fc.uniqueArray(url, { maxLength: 6 }), url, (keys, u) => {
        // Among keys the publish rule matches, the exact one, else the longest.
        const matching = keys.filter((k) => subscriptionMatches(k, u));
        const expected = matching.includes(u) ? u : matching.sort((a, b) => b.length - a.length)[0];
        expect(routeCommand(table(...keys), u)).toBe(expected);
      }),
      { seed: SEED, numRuns: 2000 },
    );
  });
});

describe('deep and long urls: matched in place, no key list, bounded cache', () => {
  // Past 16 levels (or 256 characters) no key list is built: routing and matching scan instead.
  const DEEP = `/${'d/'.repeat(17)}`;
  const path = fc.string({ unit: fc.constantFrom('/', 'a', 'b'), minLength: 0, maxLength: 6 });
  const table = (...urls: string[]): Map<string, string> => new Map(urls.map((u) => [u, u]));

  it('the scan routes like the key list does', () => {
    const key = path.map((p) => `${DEEP}${p}`);
    const anyKey = fc.oneof(key, fc.constantFrom('/', '/d/', DEEP));
    fc.assert(
      fc.property(fc.uniqueArray(anyKey, { maxLength: 6 }), key, (keys, u) => {
        expect(cachedMatchKeys(u)).toBeUndefined();
        const expected = matchKeys(u).find((k) => keys.includes(k));
        expect(routeCommand(table(...keys), u)).toBe(expected);
        expect(anySubscriptionMatches(new Set(keys), u)).toBe(expected !== undefined);
      }),
      { seed: SEED, numRuns: 2000 },
    );
  });

  it('routing 128 distinct urls of 65,535 slashes is fast and caches nothing', () => {
    const routes = table('/echo', '/a/', '/a/b/');
    const before = matchKeyCacheSize();
    const started = performance.now();
    for (let i = 0; i < 128; i++) {
      const url = `${'/'.repeat(65_531)}${String(i).padStart(4, '0')}`;
      expect(routeCommand(routes, url)).toBeUndefined();
      expect(anySubscriptionMatches(new Set(['/a/', '/x']), url)).toBe(false);
    }
    // Before: ~0.2 s each (every prefix built and hashed): 25 s.
    expect(performance.now() - started).toBeLessThan(2000);
    expect(matchKeyCacheSize()).toEqual(before);
    expect(routeCommand(table('/'), '/'.repeat(65_535))).toBe('/');
  });

  it('the cache holds at most 512 urls whatever is asked', () => {
    for (let i = 0; i < 5000; i++) cachedMatchKeys(`/flood/${i}/x`);
    const size = matchKeyCacheSize();
    expect(size.urls).toBeLessThanOrEqual(512);
    expect(size.keys).toBeLessThanOrEqual(512 * 18);
  });
});

describe('isValidUrl / assertUrl', () => {
  it.each(['/', '/a', '/a/', '/a//x', '/é/中'])('%j is valid', (url) => {
    expect(isValidUrl(url)).toBe(true);
    expect(() => assertUrl(url)).not.toThrow();
  });

  it.each([['' as unknown], ['a'], ['a/'], [' /a'], [undefined], [null], [42], [['/a']], [{ url: '/a' }]])(
    '%j is not valid',
    (url) => {
      expect(isValidUrl(url)).toBe(false);
      expect(() => assertUrl(url)).toThrow(TypeError);
      expect(() => assertUrl(url)).toThrow(/^url /);
      expect(() => assertUrl(url, 'topic')).toThrow(/^topic must be a string starting with '\/'/);
    },
  );
});
