/**
 * The client's options, their defaults and their checks, in one place. The CLI imports the
 * defaults from here instead of restating them; every duration goes through `duration()`
 * (which refuses more than 2^31−1 ms, the most a Node timer can wait).
 */
import type { ResolvedUrl } from '../position/resolve.js';
import { Method } from '../protocol/constants.js';
import type { Payload } from '../protocol/payload.js';
import { quickRecvBatch } from '../transport/quick-batch.js';
import { quickRecvBufferSize } from '../transport/quick-socket.js';
import type { TlsOptions } from '../transport/tls-options.js';
import { duration, integer, optionsObject } from '../util/check.js';
import type { Logger } from '../util/log.js';

/** Bounds TCP connect, the TLS handshake and the SERVINFO reply together (ms). */
export const DEFAULT_CONNECT_TIMEOUT = 10_000;
/** An RPC, ping or (un)subscribe waits this long for its reply (ms; the seed's 60 s). */
export const DEFAULT_REQUEST_TIMEOUT = 60_000;
/** A queued write that makes no progress for this long ends the connection (ms; the seed's 0.5 s). */
export const DEFAULT_SEND_TIMEOUT = 500;
/** Bytes that may queue towards the server before requests are refused (8 MiB). */
export const DEFAULT_MAX_SEND_QUEUE = 8 * 1024 * 1024;

/** The robot's timings (ms) and limits when its options leave them out (the seed's). */
export const ROBOT_DEFAULTS = {
  keepalive: 3000,
  connTimeout: 10_000,
  reconnDelay: 1000,
  /** 0: no backoff, the seed's fixed delay. */
  maxReconnDelay: 0,
  pingLost: 3,
  /** 0: no outbox, datagrams while disconnected are refused (false). */
  outbox: 0,
  turboMaxCnt: 50,
} as const;
/** The seed's floor for keepalive and connTimeout. */
export const MIN_ROBOT_TIMING = 50;
/** The seed's floor for a turbo ping interval. */
export const MIN_TURBO = 25;
/** Largest outbox: beyond this a datagram backlog is better dropped than replayed. */
export const MAX_OUTBOX = 65_536;

export interface ClientOptions {
  /** Hand params over as bytes, without JSON parsing. */
  raw?: boolean;
  logger?: Logger;
  /**
   * Where a url points (a seam for tests and custom discovery). Default: literal addresses as
   * they are, names through the position service (resolveServerUrl). A rejection with a
   * VsoaError carrying `connectCode` makes connect() resolve that code.
   */
  resolve?: (url: string) => Promise<ResolvedUrl>;
  /** SO_RCVBUF for the quick (UDP) socket, bytes (default 32 MiB; 0: the kernel default). */
  quickRecvBufferSize?: number;
  /**
   * Quick datagrams read per system call, 0..64 (default 0: Node reads them one at a time). A
   * client receiving fast quick publishes can set the server's 32; it keeps that many 64 KiB
   * slots (touched as used) per connection.
   */
  quickRecvBatch?: number;
}

export interface ConnectOptions {
  passwd?: string;
  /** Bounds TCP connect, the TLS handshake and the SERVINFO reply together (ms, default 10000). */
  timeout?: number;
  /** Connect over TLS (the quick channel is off then). */
  tls?: TlsOptions;
}

export interface CallOptions {
  method?: number | 'GET' | 'SET';
  payload?: Payload | null;
  /** ms, default 60000; 0 waits forever. */
  timeout?: number;
  /**
   * Robot mode only: the request is idempotent. If the link drops before the reply (or the
   * robot is reconnecting when it is made), it is sent again after the next connect, within
   * its own timeout. Never re-sent after a timeout. Without robot mode it has no effect.
   */
  retry?: boolean;
}

export interface RobotOptions {
  passwd?: string;
  /** A ping every `keepalive` ms, each timing out after `keepalive` ms (default 3000, min 50). */
  keepalive?: number;
  /** Bounds TCP connect, TLS and the SERVINFO reply together (default 10000, min 50). */
  connTimeout?: number;
  /** Wait after a disconnect or a failed round of servers (default 1000). */
  reconnDelay?: number;
  /**
   * Off by default (the seed's fixed delay). When set above reconnDelay, the wait doubles after
   * every failed round up to this cap, with jitter (half to full delay).
   */
  maxReconnDelay?: number;
  /** Consecutive lost pings tolerated; one more resets the connection (default 3). */
  pingLost?: number;
  /**
   * Datagrams sent while disconnected wait in an outbox of this many (drop-oldest, counted in
   * robotStats()) and go out in order after the next connect, after the re-subscriptions.
   * Default 0: none, datagram() returns false while disconnected.
   */
  outbox?: number;
  /** TLS options, as for connect. */
  tls?: TlsOptions;
}

/** ClientOptions checked, with defaults applied. */
export interface ClientSettings {
  raw: boolean;
  logger: Logger | undefined;
  resolve: ((url: string) => Promise<ResolvedUrl>) | undefined;
  quickRecvBufferSize: number;
  quickRecvBatch: number;
}

export function clientSettings(options: ClientOptions | undefined): ClientSettings {
  const o = optionsObject(options);
  if (o.resolve !== undefined && typeof o.resolve !== 'function') {
    throw new TypeError('options.resolve must be a function');
  }
  return {
    raw: o.raw === true,
    logger: o.logger,
    resolve: o.resolve,
    quickRecvBufferSize: quickRecvBufferSize(o.quickRecvBufferSize, 'options.quickRecvBufferSize'),
    quickRecvBatch: quickRecvBatch(o.quickRecvBatch, 'options.quickRecvBatch', 0),
  };
}

export interface ConnectSettings {
  passwd: string;
  timeout: number;
  tls: TlsOptions | undefined;
}

export function connectSettings(options: ConnectOptions | undefined): ConnectSettings {
  const o = optionsObject(options);
  const passwd = o.passwd ?? '';
  if (typeof passwd !== 'string') throw new TypeError('options.passwd must be a string');
  return {
    passwd,
    timeout: duration(o.timeout, 'options.timeout', DEFAULT_CONNECT_TIMEOUT),
    tls: o.tls ?? undefined,
  };
}

export interface CallSettings {
  method: number;
  timeout: number;
  retry: boolean;
}

export function callSettings(options: CallOptions | undefined): CallSettings {
  const o = optionsObject(options);
  return {
    method: checkMethod(o.method),
    timeout: duration(o.timeout, 'options.timeout', DEFAULT_REQUEST_TIMEOUT),
    retry: o.retry === true,
  };
}

function checkMethod(method: unknown): number {
  if (method === undefined || method === Method.GET || method === 'GET') return Method.GET;
  if (method === Method.SET || method === 'SET') return Method.SET;
  throw new TypeError(`options.method must be Method.GET, Method.SET, 'GET' or 'SET', got ${String(method)}`);
}

/** RobotOptions checked, with defaults applied. */
export interface RobotSettings {
  servers: readonly string[];
  keepalive: number;
  connTimeout: number;
  reconnDelay: number;
  maxReconnDelay: number;
  pingLost: number;
  outbox: number;
  connect: ConnectOptions;
}

export function robotSettings(url: unknown, options: RobotOptions | undefined): RobotSettings {
  const servers = typeof url === 'string' ? [url] : Array.isArray(url) ? [...(url as unknown[])] : [];
  if (servers.length === 0 || servers.some((s) => typeof s !== 'string')) {
    throw new TypeError('url must be a server url or a non-empty list of them');
  }
  const o = optionsObject(options);
  const d = ROBOT_DEFAULTS;
  const connTimeout = duration(o.connTimeout, 'options.connTimeout', d.connTimeout, MIN_ROBOT_TIMING);
  const connect: ConnectOptions = { passwd: o.passwd ?? '', timeout: connTimeout };
  if (typeof connect.passwd !== 'string') throw new TypeError('options.passwd must be a string');
  if (o.tls !== undefined) connect.tls = o.tls;
  return {
    servers: servers as string[],
    keepalive: duration(o.keepalive, 'options.keepalive', d.keepalive, MIN_ROBOT_TIMING),
    connTimeout,
    reconnDelay: duration(o.reconnDelay, 'options.reconnDelay', d.reconnDelay),
    maxReconnDelay: duration(o.maxReconnDelay, 'options.maxReconnDelay', d.maxReconnDelay),
    pingLost: integer(o.pingLost, 'options.pingLost', d.pingLost, 0, 1_000_000),
    outbox: integer(o.outbox, 'options.outbox', d.outbox, 0, MAX_OUTBOX),
    connect,
  };
}

/** Turbo pings: 0 (off) or MIN_TURBO.., and at most `keepalive` once that is known. */
export function turboSettings(
  turboMs: unknown,
  maxCnt: unknown,
  keepalive: number | undefined,
): { turboMs: number; maxCnt: number } {
  const ms = duration(turboMs, 'turboMs', 0);
  if (ms !== 0 && (ms < MIN_TURBO || (keepalive !== undefined && ms > keepalive))) {
    throw new RangeError(
      `turboMs must be 0 (off) or from ${MIN_TURBO} to keepalive (${keepalive ?? 'the robot keepalive'}) ms, got ${ms}`,
    );
  }
  return { turboMs: ms, maxCnt: integer(maxCnt, 'maxCnt', ROBOT_DEFAULTS.turboMaxCnt, 1) };
}
