import { DEFAULT_QUICK_RECV_BATCH, quickRecvBatch } from '../transport/quick-batch.js';
import { DEFAULT_QUICK_RECV_BUFFER_SIZE, quickRecvBufferSize } from '../transport/quick-socket.js';
import { duration, integer, optionsObject } from '../util/check.js';
import type { Logger } from '../util/log.js';
import { moduleLogger } from '../util/log.js';

/** The server's defaults, in one place (the CLI imports them rather than restating them). */
/** Send timeout for clients, ms (the seed's default). */
export const DEFAULT_SEND_TIMEOUT = 100;
/** Bytes that may queue for one client before it is cut off as too slow. */
export const DEFAULT_MAX_SEND_QUEUE = 8 * 1024 * 1024;
/** A connection that completes no handshake within this many ms is closed. */
export const DEFAULT_HANDSHAKE_TIMEOUT = 5000;
/** Subscriptions one client may hold. */
export const DEFAULT_MAX_SUBSCRIPTIONS = 1024;
/** UTF-8 bytes of subscription urls one client may hold, all together. */
export const DEFAULT_MAX_SUBSCRIPTION_BYTES = 64 * 1024;
/** Wrong passwords from one address answered without delay; later ones wait (see authBackoffBase). */
export const DEFAULT_AUTH_FREE_FAILURES = 3;
/** The first delay after the free failures, ms; it doubles with each further failure. */
export const DEFAULT_AUTH_BACKOFF_BASE = 100;
/** The longest delay between two password checks for one address, ms. */
export const DEFAULT_AUTH_BACKOFF_MAX = 2000;
export { DEFAULT_QUICK_RECV_BATCH, DEFAULT_QUICK_RECV_BUFFER_SIZE };

export interface ServerOptions {
  /** Server info sent to every client in the SERVINFO reply: any JSON value. */
  info?: unknown;
  /** Password clients must present; '' means none. */
  passwd?: string;
  /** Hand RPC and DATAGRAM params over as bytes, without JSON parsing. */
  raw?: boolean;
  /** Send timeout for clients in ms (DEFAULT_SEND_TIMEOUT, the seed's 100). */
  sendTimeout?: number;
  /** Bytes that may queue for one client before it is cut off as too slow (DEFAULT_MAX_SEND_QUEUE). */
  maxSendQueue?: number;
  /** A connection that completes no handshake within this many ms is closed (DEFAULT_HANDSHAKE_TIMEOUT). */
  handshakeTimeout?: number;
  /**
   * Subscriptions one client may hold (DEFAULT_MAX_SUBSCRIPTIONS). A SUBSCRIBE that would pass
   * this or `maxSubscriptionBytes` changes nothing and is answered with status NO_MEMORY (6);
   * the connection stays.
   */
  maxSubscriptions?: number;
  /** UTF-8 bytes of subscription urls one client may hold together (DEFAULT_MAX_SUBSCRIPTION_BYTES). */
  maxSubscriptionBytes?: number;
  /** Wrong passwords per address answered at once before backoff starts (DEFAULT_AUTH_FREE_FAILURES). */
  authFreeFailures?: number;
  /** First backoff delay, ms, doubling per further failure (DEFAULT_AUTH_BACKOFF_BASE; 0 disables backoff). */
  authBackoffBase?: number;
  /** Cap of the backoff delay, ms (DEFAULT_AUTH_BACKOFF_MAX). */
  authBackoffMax?: number;
  /** SO_RCVBUF the quick (UDP) socket asks for, bytes (DEFAULT_QUICK_RECV_BUFFER_SIZE; 0: the kernel's). */
  quickRecvBufferSize?: number;
  /**
   * Quick datagrams read per system call, 0..64 (DEFAULT_QUICK_RECV_BATCH, 32): recvmmsg through
   * the native addon, one callback per batch. 0, or no addon: Node reads them one at a time.
   */
  quickRecvBatch?: number;
  logger?: Logger;
}

/** ServerOptions checked, with every default applied. */
export interface ServerConfig {
  info: string;
  passwd: string;
  raw: boolean;
  sendTimeout: number;
  maxSendQueue: number;
  handshakeTimeout: number;
  maxSubscriptions: number;
  maxSubscriptionBytes: number;
  authFreeFailures: number;
  authBackoffBase: number;
  authBackoffMax: number;
  quickRecvBufferSize: number;
  quickRecvBatch: number;
  log: Logger;
}

export function checkPassword(passwd: unknown, name = 'passwd'): string {
  if (typeof passwd !== 'string') throw new TypeError(`${name} must be a string`);
  return passwd;
}

/** Validates every option (TypeError/RangeError naming it) and applies the defaults. */
export function resolveServerOptions(input: ServerOptions | undefined): ServerConfig {
  const options = optionsObject(input);
  const info = JSON.stringify(options.info ?? '');
  if (info === undefined) throw new TypeError('options.info must be a JSON value');
  const int = (value: unknown, name: string, fallback: number, min = 0): number =>
    integer(value, `options.${name}`, fallback, min);
  const ms = (value: unknown, name: string, fallback: number): number =>
    integer(duration(value, `options.${name}`, fallback), `options.${name}`, fallback);
  return {
    info,
    passwd: checkPassword(options.passwd ?? '', 'options.passwd'),
    raw: options.raw === true,
    sendTimeout: ms(options.sendTimeout, 'sendTimeout', DEFAULT_SEND_TIMEOUT),
    maxSendQueue: int(options.maxSendQueue, 'maxSendQueue', DEFAULT_MAX_SEND_QUEUE),
    handshakeTimeout: ms(options.handshakeTimeout, 'handshakeTimeout', DEFAULT_HANDSHAKE_TIMEOUT),
    maxSubscriptions: int(options.maxSubscriptions, 'maxSubscriptions', DEFAULT_MAX_SUBSCRIPTIONS),
    maxSubscriptionBytes: int(
      options.maxSubscriptionBytes,
      'maxSubscriptionBytes',
      DEFAULT_MAX_SUBSCRIPTION_BYTES,
    ),
    authFreeFailures: int(options.authFreeFailures, 'authFreeFailures', DEFAULT_AUTH_FREE_FAILURES),
    authBackoffBase: ms(options.authBackoffBase, 'authBackoffBase', DEFAULT_AUTH_BACKOFF_BASE),
    authBackoffMax: ms(options.authBackoffMax, 'authBackoffMax', DEFAULT_AUTH_BACKOFF_MAX),
    quickRecvBufferSize: quickRecvBufferSize(options.quickRecvBufferSize, 'options.quickRecvBufferSize'),
    quickRecvBatch: quickRecvBatch(
      options.quickRecvBatch,
      'options.quickRecvBatch',
      DEFAULT_QUICK_RECV_BATCH,
    ),
    log: options.logger ?? moduleLogger('server'),
  };
}
