import { anySubscriptionMatches } from '../protocol/index.js';

/**
 * One client's subscriptions, bounded in count and in url bytes (a peer must not grow the
 * server's memory without limit). Changes are all-or-nothing.
 */
export class Subscriptions {
  /** Made at the first subscribe: most of a server's clients never subscribe (a Set is ~170 B). */
  private urls: Set<string> | undefined;
  private bytes = 0;

  constructor(
    private readonly maxCount: number,
    private readonly maxBytes: number,
  ) {}

  get size(): number {
    return this.urls?.size ?? 0;
  }

  /** UTF-8 bytes of the urls held. */
  get byteLength(): number {
    return this.bytes;
  }

  /**
   * Adds the urls not held yet and returns them; undefined (nothing added) when they would
   * pass a limit.
   */
  add(urls: readonly string[]): string[] | undefined {
    if (this.urls === undefined) this.urls = new Set();
    const held = this.urls;
    const added = urls.filter((url) => !held.has(url));
    let bytes = this.bytes;
    for (const url of added) bytes += Buffer.byteLength(url, 'utf8');
    if (held.size + added.length > this.maxCount || bytes > this.maxBytes) return undefined;
    for (const url of added) held.add(url);
    this.bytes = bytes;
    return added;
  }

  /** Removes the urls held and returns them. */
  remove(urls: readonly string[]): string[] {
    const held = this.urls;
    if (held === undefined) return [];
    const removed = urls.filter((url) => held.delete(url));
    for (const url of removed) this.bytes -= Buffer.byteLength(url, 'utf8');
    return removed;
  }

  /** Whether a publish on `url` reaches these subscriptions (`keys`: cachedMatchKeys(url)). */
  matches(url: string, keys?: readonly string[]): boolean {
    return this.urls !== undefined && anySubscriptionMatches(this.urls, url, keys);
  }
}
