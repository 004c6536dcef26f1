import type { Route } from './http.js';
import { JugglerState } from './state.js';
import { DEFAULT_MAX_SEGMENT_SIZE, type WireGeneration } from './wire.js';

export interface ListenOptions {
  /** The WebSocket path (default '/ws'). */
  wsPath?: string;
  /** Generation spoken on wsPath: '0.7' (default, current hat.juggler) or '0.6' (seed 003). */
  wire?: WireGeneration;
  /** A second WebSocket path that speaks 0.6, for older clients (default: none). */
  legacyWsPath?: string | null;
  /** Serve files from this directory. */
  staticDir?: string | null;
  /** '/' redirects here (default '/index.html'); null: no redirect. */
  indexPath?: string | null;
  /** HTTP Basic auth on every request (bcrypt, {SHA}, $apr1$ entries). */
  htpasswdFile?: string | null;
  /** PEM with the private key and certificate (chain): https and wss. */
  pemFile?: string | null;
  /** ms between a state change and its diff (default 200); 0: every change; null: only flush(). */
  autoflushDelay?: number | null;
  /** ms connections get to close on close() before they are cut (default 100). */
  shutdownTimeout?: number;
  /** One state shared by all connections; without it each connection gets its own. */
  state?: JugglerState | null;
  /** Answer a connection's requests concurrently (default: one at a time, in order). */
  parallelRequests?: boolean;
  /** Extra HTTP routes. */
  routes?: Route[];
  /** Largest message accepted, in characters (default 4 MiB). */
  maxMessageSize?: number;
  /** Connections at once; more get HTTP 503 (default 256). */
  maxConnections?: number;
  /** Bytes queued towards one connection past which it is cut off (default 8 MiB). */
  sendBufferLimit?: number;
  /** Requests of one connection waiting for an answer; more close it (default 256). */
  maxPendingRequests?: number;
  /** 0.7 segment size in characters (default 65536). */
  maxSegmentSize?: number;
  /** Ping a connection silent for this long, ms (default 30000); null: never. */
  pingDelay?: number | null;
  /** Close it when no answer within this, ms (default 30000). */
  pingTimeout?: number;
  /** Cache-Control: no-cache on every HTTP response (default true). */
  noCache?: boolean;
}

/** The longest timer Node.js runs as asked (2^31-1 ms); longer ones fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

function duration(value: unknown, what: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value))
    throw new TypeError(`${what} must be a number of milliseconds`);
  if (!Number.isFinite(value) || value < 0 || value > MAX_TIMER_MS) {
    throw new RangeError(`${what} must be 0..${MAX_TIMER_MS} ms, got ${value}`);
  }
  return value;
}

function integer(value: unknown, what: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value)) throw new TypeError(`${what} must be an integer`);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${what} must be an integer within ${min}..${max}, got ${value}`);
  }
  return value;
}

function path(value: unknown, what: string): string {
  if (typeof value !== 'string' || !value.startsWith('/'))
    throw new TypeError(`${what} must be a path starting with '/'`);
  return value;
}

function optionalString(value: unknown, what: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || value === '') throw new TypeError(`${what} must be a non-empty string`);
  return value;
}

export function resolveListenOptions(o: ListenOptions) {
  if (typeof o !== 'object' || o === null) throw new TypeError('options must be an object');
  const wire = o.wire ?? '0.7';
  if (wire !== '0.6' && wire !== '0.7') throw new TypeError("options.wire must be '0.6' or '0.7'");
  if (o.state != null && !(o.state instanceof JugglerState))
    throw new TypeError('options.state must be a JugglerState');
  if (o.routes !== undefined && !Array.isArray(o.routes))
    throw new TypeError('options.routes must be an array');
  for (const r of o.routes ?? []) {
    path(r?.path, 'options.routes[].path');
    if (typeof r.handler !== 'function') throw new TypeError('options.routes[].handler must be a function');
  }
  const autoflushDelay =
    o.autoflushDelay === null ? null : duration(o.autoflushDelay, 'options.autoflushDelay', 200);
  const pingDelay = o.pingDelay === null ? null : duration(o.pingDelay, 'options.pingDelay', 30_000);
  const legacyWsPath = o.legacyWsPath == null ? null : path(o.legacyWsPath, 'options.legacyWsPath');
  const wsPath = path(o.wsPath ?? '/ws', 'options.wsPath');
  if (legacyWsPath === wsPath) throw new TypeError('options.legacyWsPath must differ from options.wsPath');
  return {
    wsPath,
    wire,
    legacyWsPath,
    staticDir: optionalString(o.staticDir, 'options.staticDir'),
    indexPath: o.indexPath === null ? null : path(o.indexPath ?? '/index.html', 'options.indexPath'),
    htpasswdFile: optionalString(o.htpasswdFile, 'options.htpasswdFile'),
    pemFile: optionalString(o.pemFile, 'options.pemFile'),
    autoflushDelay,
    shutdownTimeout: duration(o.shutdownTimeout, 'options.shutdownTimeout', 100),
    state: o.state ?? null,
    parallelRequests: o.parallelRequests === true,
    routes: [...(o.routes ?? [])],
    maxMessageSize: integer(o.maxMessageSize, 'options.maxMessageSize', 4 * 1024 * 1024, 2, 2 ** 30),
    maxConnections: integer(o.maxConnections, 'options.maxConnections', 256, 1, 1_000_000),
    sendBufferLimit: integer(o.sendBufferLimit, 'options.sendBufferLimit', 8 * 1024 * 1024, 1024, 2 ** 31),
    maxPendingRequests: integer(o.maxPendingRequests, 'options.maxPendingRequests', 256, 1, 65536),
    maxSegmentSize: integer(o.maxSegmentSize, 'options.maxSegmentSize', DEFAULT_MAX_SEGMENT_SIZE, 2, 2 ** 30),
    pingDelay,
    pingTimeout: duration(o.pingTimeout, 'options.pingTimeout', 30_000),
    noCache: o.noCache !== false,
  };
}
