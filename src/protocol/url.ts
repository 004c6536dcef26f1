/**
 * VSOA URL rules, in one place.
 * - Subscription matching: a subscription equal to the url matches; one ending in `/`
 *   matches its own path without the slash and everything below (`/a/` matches `/a`,
 *   `/a/b`, not `/ab`); `/` matches everything.
 * - Command routing: the exact url, then the longest registered prefix ending in `/`
 *   (a command `/a/` serves `/a` and `/a/b`), `/` last.
 * Both reduce to the same ordered list of keys, longest first.
 */

export function isValidUrl(url: unknown): url is string {
  return typeof url === 'string' && url.length > 0 && url.charCodeAt(0) === 0x2f;
}

/** Throws TypeError unless `url` is a string starting with `/`. */
export function assertUrl(url: unknown, name = 'url'): asserts url is string {
  if (!isValidUrl(url))
    throw new TypeError(`${name} must be a string starting with '/', got ${JSON.stringify(url)}`);
}

/**
 * The registered keys that can match `url`, most specific first: the url itself, the url
 * with a trailing `/`, then every prefix of it that ends in `/`, down to `/`. A url not
 * starting with `/` (invalid) matches only itself.
 */
export function matchKeys(url: string): string[] {
  const keys = [url];
  if (url.charCodeAt(0) !== 0x2f) return keys;
  // `/a//` (a wildcard for `/a/` and below) matches `/a/` too, so the slash is added even after one.
  keys.push(`${url}/`);
  let i = url.length - 1;
  if (url.charCodeAt(i) === 0x2f) i -= 1;
  for (i = i < 0 ? -1 : url.lastIndexOf('/', i); i >= 0; i = i === 0 ? -1 : url.lastIndexOf('/', i - 1)) {
    keys.push(url.slice(0, i + 1));
  }
  return keys;
}

const CACHE_LIMIT = 512;
const keyCache = new Map<string, readonly string[]>();

/** matchKeys with a small cache: a hot publish url computes its keys once. */
export function cachedMatchKeys(url: string): readonly string[] {
  let keys = keyCache.get(url);
  if (keys === undefined) {
    keys = matchKeys(url);
    if (keyCache.size >= CACHE_LIMIT) keyCache.clear();
    keyCache.set(url, keys);
  }
  return keys;
}

/** Whether one subscription `sub` receives a publish on `url`. */
export function subscriptionMatches(sub: string, url: string): boolean {
  if (sub === url) return true;
  if (url.charCodeAt(0) !== 0x2f || sub.charCodeAt(sub.length - 1) !== 0x2f) return false;
  return url.startsWith(sub) || url === sub.slice(0, -1);
}

/** Whether any of `subs` receives a publish on `url`. */
export function anySubscriptionMatches(subs: ReadonlySet<string>, url: string): boolean {
  if (subs.size === 0) return false;
  for (const key of cachedMatchKeys(url)) if (subs.has(key)) return true;
  return false;
}

/** The handler for `url` by the routing rule, or undefined. */
export function routeCommand<T>(table: ReadonlyMap<string, T>, url: string): T | undefined {
  if (table.size === 0) return undefined;
  for (const key of cachedMatchKeys(url)) {
    const handler = table.get(key);
    if (handler !== undefined) return handler;
  }
  return undefined;
}
