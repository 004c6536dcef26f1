import type { RobotOptions } from '../index.js';
import { duration, integer, optionsObject } from '../util/check.js';
import type { Logger } from '../util/log.js';
import { COMPRESSIONS, type Compression } from './codec.js';

export interface RecorderOptions {
  /** vsoa://host:port (or vsoa://name), or several for failover (robot mode). */
  server: string | readonly string[];
  /** Urls to subscribe to (a url ending in '/' takes everything below it). */
  subscribe: readonly string[];
  /** Output file; `{n}` is the split index and `{time}` the UTC start time of each file. */
  output: string;
  /** Chunk compression (default zstd). */
  compression?: Compression;
  /** zstd level 1-19 (default 3). */
  zstdLevel?: number;
  /** Uncompressed chunk size in bytes (default 1 MiB): a crash loses at most the open chunk. */
  chunkSize?: number;
  /** Start a new file when this one reaches this many bytes (default: never). */
  splitSize?: number;
  /** Start a new file after this many ms (default: never). */
  splitTime?: number;
  /** Stop after this many ms (default: run until stop()). */
  duration?: number;
  /** Record quick (UDP) publishes only. */
  quickOnly?: boolean;
  /** Stop cleanly when the output file system has less free space than this (default 256 MiB; 0: off). */
  minFreeBytes?: number;
  /** How often free space is checked, in ms (default 5000). */
  diskCheckInterval?: number;
  /** Messages waiting for the disk are bounded; beyond this many bytes they are dropped and counted (default 64 MiB). */
  maxQueueBytes?: number;
  /** The param field that carries a publish time (ms since the epoch or an ISO date); '' for none. Default 'timestamp'. */
  publishTimeField?: string;
  /** Replace existing files (default false: refuse). */
  overwrite?: boolean;
  /** Options of the robot connection (password, keepalive, reconnect delays, TLS). */
  robot?: RobotOptions;
  /** The writing software, in the MCAP header (default `vsoa-edge <version>`). */
  library?: string;
  logger?: Logger;
}

export interface ResolvedRecorderOptions {
  servers: string[];
  subscribe: string[];
  output: string;
  compression: Compression;
  zstdLevel: number;
  chunkSize: number;
  splitSize: number;
  splitTime: number;
  duration: number;
  quickOnly: boolean;
  minFreeBytes: number;
  diskCheckInterval: number;
  maxQueueBytes: number;
  publishTimeField: string;
  overwrite: boolean;
  robot: RobotOptions;
}

const GiB = 1024 ** 3;
const MAX_BYTES = 2 ** 50;

/** Checks the options; a wrong one throws a TypeError/RangeError naming it. */
export function resolveRecorderOptions(options: RecorderOptions): ResolvedRecorderOptions {
  const o = optionsObject(options);
  const servers = typeof o.server === 'string' ? [o.server] : Array.isArray(o.server) ? [...o.server] : [];
  if (servers.length === 0 || servers.some((s) => typeof s !== 'string' || !s.startsWith('vsoa://'))) {
    throw new TypeError('options.server must be a vsoa:// url or a non-empty list of them');
  }
  if (!Array.isArray(o.subscribe) || o.subscribe.length === 0) {
    throw new TypeError('options.subscribe must be a non-empty list of urls');
  }
  for (const [i, url] of o.subscribe.entries()) {
    if (typeof url !== 'string' || !url.startsWith('/')) {
      throw new TypeError(`options.subscribe[${i}] must be a url starting with '/'`);
    }
  }
  if (typeof o.output !== 'string' || o.output === '')
    throw new TypeError('options.output must be a file path');
  const compression = o.compression ?? 'zstd';
  if (!COMPRESSIONS.includes(compression)) {
    throw new RangeError(`options.compression must be one of ${COMPRESSIONS.join(', ')}`);
  }
  if (o.publishTimeField !== undefined && typeof o.publishTimeField !== 'string') {
    throw new TypeError('options.publishTimeField must be a string');
  }
  return {
    servers,
    subscribe: [...o.subscribe],
    output: o.output,
    compression,
    zstdLevel: integer(o.zstdLevel, 'options.zstdLevel', 3, 1, 19),
    chunkSize: integer(o.chunkSize, 'options.chunkSize', 1024 * 1024, 1024, 256 * 1024 * 1024),
    splitSize: integer(o.splitSize, 'options.splitSize', 0, 0, MAX_BYTES),
    // Longer than a timer allows: checked against the clock, not a timer.
    splitTime: integer(o.splitTime, 'options.splitTime', 0, 0, 365 * 86_400_000),
    duration: integer(o.duration, 'options.duration', 0, 0, 365 * 86_400_000),
    quickOnly: o.quickOnly === true,
    minFreeBytes: integer(o.minFreeBytes, 'options.minFreeBytes', 256 * 1024 * 1024, 0, MAX_BYTES),
    diskCheckInterval: duration(o.diskCheckInterval, 'options.diskCheckInterval', 5000, 10),
    maxQueueBytes: integer(o.maxQueueBytes, 'options.maxQueueBytes', 64 * 1024 * 1024, 1024, 16 * GiB),
    publishTimeField: o.publishTimeField ?? 'timestamp',
    overwrite: o.overwrite === true,
    robot: optionsObject(o.robot, 'options.robot'),
  };
}
