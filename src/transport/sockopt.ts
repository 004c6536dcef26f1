import type { Socket as DgramSocket } from 'node:dgram';
import { Socket as NetSocket } from 'node:net';
import { DEGRADED_FEATURES, loadNative, type NativeAddon, nativeLoadInfo } from '../native/addon.js';
import { moduleLogger } from '../util/log.js';

/*
 * Socket options Node.js has no API for, through the native addon (see native.ts). Every setter
 * returns true only when the option was applied exactly as asked; false means degraded (no addon,
 * no descriptor yet, or the kernel refused: logged) and the Node fallback, if any, was used.
 */

/** Linux values (asm-generic: the same on x86_64, arm64 and armhf). */
export const SOL_SOCKET = 1;
export const SO_KEEPALIVE = 9;
export const SO_PRIORITY = 12;
export const SO_LINGER = 13;
export const SO_DOMAIN = 39;
export const IPPROTO_IP = 0;
export const IP_TOS = 1;
export const IPPROTO_IPV6 = 41;
export const IPV6_TCLASS = 67;
export const IPPROTO_TCP = 6;
export const TCP_KEEPIDLE = 4;
export const TCP_KEEPINTVL = 5;
export const TCP_KEEPCNT = 6;
export const AF_INET6 = 10;

/** Keepalive probes sent before the peer is declared dead. */
export const KEEPALIVE_PROBES = 3;
/** The kernel's ceiling for TCP_KEEPIDLE / TCP_KEEPINTVL (MAX_TCP_KEEPIDLE). */
const MAX_KEEPALIVE_SECONDS = 32767;

export type AnySocket = NetSocket | DgramSocket;

interface HandleLike {
  fd?: unknown;
  _parent?: HandleLike;
  recvStop?: unknown;
}

let dgramStateSymbol: symbol | undefined;

/**
 * The file descriptor under a Node socket, or undefined (not connected/bound yet, closed, or
 * not backed by a descriptor). net.Socket and TLSSocket (client or server side) expose it on
 * `_handle.fd` (a TLSWrap forwards to its TCP handle; `_parent` is kept as a second route);
 * dgram keeps its UDP handle in the internal 'state symbol' property.
 */
export function socketFd(sock: AnySocket): number | undefined {
  let handle: HandleLike | undefined;
  if (sock instanceof NetSocket) {
    handle = (sock as unknown as { _handle?: HandleLike | null })._handle ?? undefined;
  } else {
    handle = dgramHandle(sock);
  }
  for (let h = handle; h !== undefined; h = h._parent) {
    if (typeof h.fd === 'number' && Number.isInteger(h.fd) && h.fd >= 0) return h.fd;
  }
  return undefined;
}

/** A dgram socket's UDP handle (Node keeps it in the internal 'state symbol' property), or undefined. */
function dgramHandle(sock: DgramSocket): HandleLike | undefined {
  dgramStateSymbol ??= Object.getOwnPropertySymbols(sock).find((s) => s.description === 'state symbol');
  if (dgramStateSymbol === undefined) return undefined;
  const st = (sock as unknown as Record<symbol, { handle?: HandleLike | null } | undefined>)[
    dgramStateSymbol
  ];
  return st?.handle ?? undefined;
}

/**
 * Stops libuv's receive on a bound dgram socket (sending is unaffected), for a reader that takes
 * the descriptor over; false when this Node.js keeps its handle elsewhere.
 */
export function stopDgramReceive(sock: DgramSocket): boolean {
  const handle = dgramHandle(sock);
  if (handle === undefined || typeof handle.recvStop !== 'function') return false;
  (handle.recvStop as (this: HandleLike) => number).call(handle);
  return true;
}

function native(sock: AnySocket): { addon: NativeAddon; fd: number } | undefined {
  const addon = loadNative();
  if (addon === undefined) return undefined;
  const fd = socketFd(sock);
  return fd === undefined ? undefined : { addon, fd };
}

function refused(what: string, err: unknown): false {
  const e = err as { code?: string; message?: string };
  moduleLogger('sockopt').warn({ code: e.code, err: e.message }, `${what} not applied`);
  return false;
}

/**
 * Traffic priority 0..7: IP_TOS (IPV6_TCLASS on IPv6 sockets) = p<<5 with the low-delay bit
 * 0x08 when p > 0, and SO_PRIORITY = p (the egress queue). Priority 7 needs CAP_NET_ADMIN.
 * Without the addon only the TOS part is set, and only where Node has setTypeOfService.
 */
export function setPriority(sock: AnySocket, priority: number): boolean {
  if (!Number.isInteger(priority) || priority < 0 || priority > 7) {
    throw new RangeError(`priority must be an integer 0..7, got ${String(priority)}`);
  }
  const tos = priority === 0 ? 0 : (priority << 5) | 0x08;
  const n = native(sock);
  if (n === undefined) {
    const s = sock as { setTypeOfService?: (tos: number) => unknown };
    if (typeof s.setTypeOfService === 'function') {
      try {
        s.setTypeOfService(tos);
      } catch (err) {
        refused('type of service', err);
      }
    }
    return false;
  }
  try {
    if (n.addon.getsockopt(n.fd, SOL_SOCKET, SO_DOMAIN) === AF_INET6) {
      n.addon.setsockopt(n.fd, IPPROTO_IPV6, IPV6_TCLASS, tos);
      // A dual-stack socket may carry IPv4-mapped traffic, which takes IP_TOS.
      try {
        n.addon.setsockopt(n.fd, IPPROTO_IP, IP_TOS, tos);
      } catch {}
    } else {
      n.addon.setsockopt(n.fd, IPPROTO_IP, IP_TOS, tos);
    }
    n.addon.setsockopt(n.fd, SOL_SOCKET, SO_PRIORITY, priority);
    return true;
  } catch (err) {
    return refused(`priority ${priority}`, err);
  }
}

/**
 * TCP keepalive: the first probe after `idleMs` of silence, then one every `idleMs`, and the
 * connection fails (ETIMEDOUT) after KEEPALIVE_PROBES unanswered ones, so a vanished peer is
 * noticed about 4 x idle after the last traffic. Times are whole seconds (at least 1).
 * `idleMs` 0 turns keepalive off. Without the addon Node's own setKeepAlive is used
 * (1 s interval, 10 probes). Call it on a connected socket.
 */
export function setKeepAlive(sock: NetSocket, idleMs: number): boolean {
  if (typeof idleMs !== 'number' || !Number.isFinite(idleMs) || idleMs < 0) {
    throw new RangeError(`idleMs must be a finite number >= 0, got ${String(idleMs)}`);
  }
  const seconds = Math.min(MAX_KEEPALIVE_SECONDS, Math.max(1, Math.round(idleMs / 1000)));
  const n = native(sock);
  if (n === undefined) {
    sock.setKeepAlive(idleMs > 0, idleMs);
    return false;
  }
  try {
    if (idleMs === 0) {
      n.addon.setsockopt(n.fd, SOL_SOCKET, SO_KEEPALIVE, 0);
      return true;
    }
    n.addon.setsockopt(n.fd, IPPROTO_TCP, TCP_KEEPIDLE, seconds);
    n.addon.setsockopt(n.fd, IPPROTO_TCP, TCP_KEEPINTVL, seconds);
    n.addon.setsockopt(n.fd, IPPROTO_TCP, TCP_KEEPCNT, KEEPALIVE_PROBES);
    n.addon.setsockopt(n.fd, SOL_SOCKET, SO_KEEPALIVE, 1);
    return true;
  } catch (err) {
    sock.setKeepAlive(idleMs > 0, idleMs);
    return refused('keepalive', err);
  }
}

/**
 * SO_LINGER on with `seconds`; 0 makes close send a reset (RST) instead of a FIN. Without the
 * addon nothing can be set and this returns false: the only reset Node offers is the caller
 * using `socket.resetAndDestroy()` instead of `destroy()`/`end()`.
 */
export function setLinger(sock: NetSocket, seconds: number): boolean {
  if (!Number.isInteger(seconds) || seconds < 0 || seconds > 0x7fffffff) {
    throw new RangeError(`seconds must be an integer >= 0, got ${String(seconds)}`);
  }
  const n = native(sock);
  if (n === undefined) return false;
  try {
    n.addon.setLinger(n.fd, 1, seconds);
    return true;
  } catch (err) {
    return refused('linger', err);
  }
}

function requireNative(sock: AnySocket): { addon: NativeAddon; fd: number } {
  const addon = loadNative();
  if (addon === undefined) {
    throw Object.assign(new Error('native addon not available'), { code: 'ERR_VSOA_NO_NATIVE' });
  }
  const fd = socketFd(sock);
  if (fd === undefined) throw Object.assign(new Error('socket has no descriptor'), { code: 'EBADF' });
  return { addon, fd };
}

/** Reads an integer socket option (tests, diagnostics). Throws without the addon or a descriptor. */
export function getSockOptInt(sock: AnySocket, level: number, name: number): number {
  const n = requireNative(sock);
  return n.addon.getsockopt(n.fd, level, name);
}

/** Reads SO_LINGER (tests, diagnostics). Throws without the addon or a descriptor. */
export function getLinger(sock: NetSocket): { on: boolean; seconds: number } {
  const n = requireNative(sock);
  return n.addon.getLinger(n.fd);
}

export type FeatureMode = 'native' | 'degraded';

export interface NativeStatus {
  addon: boolean;
  source: 'env' | 'package' | 'disabled' | 'missing';
  path?: string;
  error?: string;
  features: {
    priority: FeatureMode;
    keepalive: FeatureMode;
    linger: FeatureMode;
    notify: FeatureMode;
    /** tuneAllocator (glibc mallopt). */
    allocator: FeatureMode;
    /** quickRecvBatch (recvmmsg). */
    quickBatch: FeatureMode;
  };
  /** Human-readable notes on what degraded mode lacks (empty when the addon is loaded). */
  degraded: readonly string[];
}

/** Which features run natively and which are degraded (loads the addon if not yet tried). */
export function nativeStatus(): NativeStatus {
  const info = nativeLoadInfo();
  const mode: FeatureMode = info.loaded ? 'native' : 'degraded';
  const status: NativeStatus = {
    addon: info.loaded,
    source: info.source,
    features: {
      priority: mode,
      keepalive: mode,
      linger: mode,
      notify: mode,
      allocator: mode,
      // An addon built before udp_batch.c loads without it.
      quickBatch: info.loaded && loadNative()?.udpBatchStart !== undefined ? 'native' : 'degraded',
    },
    degraded: info.loaded ? [] : DEGRADED_FEATURES,
  };
  if (info.path !== undefined) status.path = info.path;
  if (info.error !== undefined) status.error = info.error;
  return status;
}
