/**
 * VSOA URL rules, in one place.
 * - Subscription matching: a subscription equal to the url matches; one ending in `/`
 *   matches its own path without the slash and everything below (`/a/` matches `/a`,
 *   `/a/b`, not `/ab`); `/` matches everything.
 * - Command routing: the exact url, then the longest registered prefix ending in `/`
 *   (a command `/a/` serves `/a` and `/a/b`), `/` last.
 * Both reduce to the same ordered list of keys, longest first. A peer chooses the urls it
 * sends, so nothing here allocates per prefix of a peer's url: only shallow urls get a key
 * list (cached, bounded); deeper ones are matched by comparing each candidate in place.
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
 * starting with `/` (invalid) matches only itself. O(depth) strings: for shallow urls only
 * (see cachedMatchKeys).
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

/** Urls longer or deeper than this get no key list: they are matched in place. */
const MAX_KEYED_LENGTH = 256;
const MAX_KEYED_DEPTH = 16;
/** At most this many urls' keys are cached: at most 512 × 18 short strings. */
const CACHE_LIMIT = 512;
const keyCache = new Map<string, readonly string[]>();

function isShallow(url: string): boolean {
  if (url.length > MAX_KEYED_LENGTH) return false;
  let depth = 0;
  for (let i = url.indexOf('/'); i >= 0; i = url.indexOf('/', i + 1))
    if (++depth > MAX_KEYED_DEPTH) return false;
  return true;
}

/**
 * matchKeys with a small bounded cache, for shallow urls: a hot publish url computes its keys
 * once. Undefined for a long or deep url: match it with subscriptionMatches / routeCommand,
 * which compare in place.
 */
export function cachedMatchKeys(url: string): readonly string[] | undefined {
  let keys = keyCache.get(url);
  if (keys === undefined) {
    if (!isShallow(url)) return undefined;
    keys = matchKeys(url);
    if (keyCache.size >= CACHE_LIMIT) keyCache.clear();
    keyCache.set(url, keys);
  }
  return keys;
}

/** @internal How much the key cache holds (tests bound it). */
export function matchKeyCacheSize(): { urls: number; keys: number; chars: number } {
  let keys = 0;
  let chars = 0;
  for (const [url, list] of keyCache) {
    keys += list.length;
    chars += url.length;
    for (const key of list) chars += key.length;
  }
  return { urls: keyCache.size, keys, chars };
}

/** Whether one subscription (or prefix command) `sub` covers `url`. No allocation. */
export function subscriptionMatches(sub: string, url: string): boolean {
  if (sub === url) return true;
  const last = sub.length - 1;
  if (url.charCodeAt(0) !== 0x2f || sub.charCodeAt(last) !== 0x2f) return false;
  // `/a/` covers `/a` (the url plus a slash), and `/a/...` (a prefix).
  return url.startsWith(sub) || (url.length === last && sub.startsWith(url));
}

/**
 * Whether any of `subs` receives a publish on `url`. `keys` is cachedMatchKeys(url), when the
 * caller tests many sets against one url.
 */
export function anySubscriptionMatches(
  subs: ReadonlySet<string>,
  url: string,
  keys: readonly string[] | undefined = cachedMatchKeys(url),
): boolean {
  if (subs.size === 0) return false;
  if (keys !== undefined) {
    for (const key of keys) if (subs.has(key)) return true;
    return false;
  }
  if (subs.has(url)) return true;
  for (const sub of subs) if (subscriptionMatches(sub, url)) return true;
  return false;
}

/** The handler for `url` by the routing rule, or undefined. */
export function routeCommand<T>(table: ReadonlyMap<string, T>, url: string): T | undefined {
  if (table.size === 0) return undefined;
  const keys = cachedMatchKeys(url);
  if (keys === undefined) return scanRoute(table, url);
  for (const key of keys) {
    const handler = table.get(key);
    if (handler !== undefined) return handler;
  }
  return undefined;
}

/**
 * Routing a long or deep url: the exact entry, else the most specific prefix entry that covers
 * it (the url plus `/` first, then the longest). O(table size × key length), no allocation.
 */
function scanRoute<T>(table: ReadonlyMap<string, T>, url: string): T | undefined {
  const exact = table.get(url);
  if (exact !== undefined) return exact;
  let best: T | undefined;
  let bestRank = -1;
  for (const [key, handler] of table) {
    if (!subscriptionMatches(key, url)) continue;
    // The url with a slash added outranks every shorter prefix.
    const rank = key.length > url.length ? Number.MAX_SAFE_INTEGER : key.length;
    if (rank > bestRank) {
      best = handler;
      bestRank = rank;
    }
  }
  return best;
}
