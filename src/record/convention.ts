/**
 * How a VSOA publish becomes MCAP messages (the README's "Record and replay" section says the
 * same for users). One publish of `url` gives, all with the same log time and sequence number:
 * - on topic `url`, message encoding `json`: the param, its bytes as received, when it is JSON;
 * - on topic `url#param` (encoding `application/octet-stream`): the param when it is not JSON;
 * - on topic `url#data` (same encoding): the data bytes; an empty message here when the publish
 *   had neither param nor data, so that every publish leaves at least one message.
 * Quick (UDP) publishes go to channels of the same topics whose metadata says `vsoa.quick=true`.
 * Recorder events (connected, disconnected, messages dropped) are JSON messages on `EVENTS_TOPIC`,
 * which cannot be a VSOA url (it does not start with '/').
 */

export type PartKind = 'param' | 'param-raw' | 'data';

export const RAW_ENCODING = 'application/octet-stream';
export const EVENTS_TOPIC = 'vsoa-recorder/events';
/** Metadata record written when each file opens. */
export const RECORDING_METADATA = 'vsoa.recording';
/** Metadata record written on every connect (the server's info). */
export const SERVER_METADATA = 'vsoa.server';

/** The MCAP topic of one part of a publish of `url`. */
export function topicOf(url: string, kind: PartKind): string {
  return kind === 'param' ? url : kind === 'param-raw' ? `${url}#param` : `${url}#data`;
}

/** Channel metadata: what replay needs to rebuild the publish. */
export function channelMetadata(url: string, kind: PartKind, quick: boolean): Map<string, string> {
  return new Map([
    ['vsoa.url', url],
    ['vsoa.part', kind],
    ['vsoa.quick', quick ? 'true' : 'false'],
  ]);
}

export interface ChannelRole {
  url: string;
  kind: PartKind;
  quick: boolean;
}

/** The role of a channel written by the recorder, or undefined (events, foreign channels). */
export function channelRole(topic: string, metadata: ReadonlyMap<string, string>): ChannelRole | undefined {
  const url = metadata.get('vsoa.url');
  const kind = metadata.get('vsoa.part');
  if (url === undefined || (kind !== 'param' && kind !== 'param-raw' && kind !== 'data')) {
    // A foreign MCAP file: a JSON channel whose topic is a url still replays as params.
    return topic.startsWith('/') ? { url: topic, kind: 'param', quick: false } : undefined;
  }
  return { url, kind, quick: metadata.get('vsoa.quick') === 'true' };
}

/** Whether `url` is selected by `topics` (each a url, or a prefix ending in '/'); all when empty. */
export function selected(url: string, topics: readonly string[] | undefined): boolean {
  if (!topics || topics.length === 0) return true;
  return topics.some((t) => t === url || (t.endsWith('/') && url.startsWith(t)));
}
