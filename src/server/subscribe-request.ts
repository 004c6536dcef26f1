import type { Packet } from '../protocol/index.js';
import { isValidUrl } from '../protocol/index.js';

/**
 * The urls named by a SUBSCRIBE/UNSUBSCRIBE request, or undefined when it is malformed
 * (answered with status ARGUMENTS).
 *
 * Forms: a url (used even when a list param is present, as both official servers do), or an
 * empty url with a JSON array param. Lists are all-or-nothing, like the official Node.js
 * server: an empty list or any entry that is not a string starting with `/` rejects the
 * whole request and changes nothing, so a client never ends up half subscribed without
 * knowing it. An UNSUBSCRIBE with no url is malformed too (we never read it as "clear all").
 */
export function subscriptionUrls(packet: Packet): { urls: string[]; list: boolean } | undefined {
  if (packet.url.length > 0) return isValidUrl(packet.url) ? { urls: [packet.url], list: false } : undefined;
  if (packet.param === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(packet.param.toString('utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed) || parsed.length === 0) return undefined;
  for (const url of parsed) if (!isValidUrl(url)) return undefined;
  return { urls: [...new Set(parsed as string[])], list: true };
}
