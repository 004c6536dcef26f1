import type { McapTypes } from '@mcap/core';
import { type PartKind, RECORDING_METADATA, SERVER_METADATA } from './convention.js';
import type { Damage, Recording, StreamPass } from './reader.js';

export interface ChannelInfo {
  id: number;
  topic: string;
  /** The VSOA url (undefined for the recorder's events and foreign channels). */
  url: string | undefined;
  part: PartKind | 'event' | undefined;
  quick: boolean;
  messageEncoding: string;
  messages: number;
  /** Messages per second over the recording's time range. */
  rate: number;
}

export interface RecordingInfo {
  path: string;
  bytes: number;
  /** 'index' when read through the summary; 'scan' when the file had to be read from the start. */
  readBy: 'index' | 'scan';
  damage: Damage | undefined;
  library: string;
  messages: number;
  /** Log times (ns since the epoch) of the first and last message. */
  startTime: bigint | undefined;
  endTime: bigint | undefined;
  channels: ChannelInfo[];
  compression: string[];
  /** Metadata records: the recorder's (host, software, subscriptions) and each server's info. */
  metadata: Array<{ name: string; values: Record<string, string> }>;
}

type Channel = McapTypes.TypedMcapRecords['Channel'];

function channelInfo(channel: Channel, messages: number, seconds: number): ChannelInfo {
  const part = channel.metadata.get('vsoa.part');
  return {
    id: channel.id,
    topic: channel.topic,
    url: channel.metadata.get('vsoa.url') ?? (channel.topic.startsWith('/') ? channel.topic : undefined),
    part: part === 'param' || part === 'param-raw' || part === 'data' || part === 'event' ? part : undefined,
    quick: channel.metadata.get('vsoa.quick') === 'true',
    messageEncoding: channel.messageEncoding,
    messages,
    rate: seconds > 0 ? messages / seconds : 0,
  };
}

/** Channels, counts, time range and metadata: from the summary, or by reading the whole file. */
export async function recordingInfo(recording: Recording): Promise<RecordingInfo> {
  const base = { path: recording.path, bytes: recording.size };
  const indexed = recording.indexed;
  if (indexed && !recording.damage) {
    const stats = indexed.statistics;
    const start = stats?.messageStartTime;
    const end = stats?.messageEndTime;
    const seconds = start !== undefined && end !== undefined ? Number(end - start) / 1e9 : 0;
    const metadata: RecordingInfo['metadata'] = [];
    for await (const m of indexed.readMetadata())
      metadata.push({ name: m.name, values: Object.fromEntries(m.metadata) });
    return {
      ...base,
      readBy: 'index',
      damage: undefined,
      library: indexed.header.library,
      messages: Number(stats?.messageCount ?? 0n),
      startTime: start,
      endTime: end,
      channels: [...indexed.channelsById.values()].map((c) =>
        channelInfo(c, Number(stats?.channelMessageCounts.get(c.id) ?? 0n), seconds),
      ),
      compression: [...new Set(indexed.chunkIndexes.map((c) => c.compression || 'none'))],
      metadata,
    };
  }
  const pass: StreamPass = { channels: new Map(), metadata: [], damage: undefined };
  const counts = new Map<number, number>();
  let start: bigint | undefined;
  let end: bigint | undefined;
  let messages = 0;
  for await (const { message } of recording.stream(pass)) {
    messages++;
    counts.set(message.channelId, (counts.get(message.channelId) ?? 0) + 1);
    if (start === undefined || message.logTime < start) start = message.logTime;
    if (end === undefined || message.logTime > end) end = message.logTime;
  }
  const seconds = start !== undefined && end !== undefined ? Number(end - start) / 1e9 : 0;
  return {
    ...base,
    readBy: 'scan',
    damage: pass.damage ?? recording.damage,
    library: '',
    messages,
    startTime: start,
    endTime: end,
    channels: [...pass.channels.values()].map((c) => channelInfo(c, counts.get(c.id) ?? 0, seconds)),
    compression: [],
    metadata: pass.metadata.map((m) => ({ name: m.name, values: Object.fromEntries(m.metadata) })),
  };
}

/** The server info recorded last (what a replay announces), or undefined. */
export function recordedServerInfo(info: RecordingInfo): unknown {
  const servers = info.metadata.filter((m) => m.name === SERVER_METADATA);
  const last = servers[servers.length - 1]?.values.info;
  if (last === undefined) return undefined;
  try {
    return JSON.parse(last);
  } catch {
    return last;
  }
}

/** The recorder's own metadata (host, software, subscriptions), or undefined for a foreign file. */
export function recorderMetadata(info: RecordingInfo): Record<string, string> | undefined {
  return info.metadata.find((m) => m.name === RECORDING_METADATA)?.values;
}
