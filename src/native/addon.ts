import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { moduleLogger } from '../util/log.js';

/** The calls of `native/vsoa_native.c`. Failures throw Node-style errors (`code` like `EBADF`). */
export interface NativeAddon {
  setsockopt(fd: number, level: number, name: number, value: number): void;
  getsockopt(fd: number, level: number, name: number): number;
  setLinger(fd: number, onoff: number, seconds: number): void;
  getLinger(fd: number): { on: boolean; seconds: number };
  /** Sends one AF_UNIX datagram to `path` (`@name` = abstract namespace); returns bytes sent. */
  notify(path: string, message: string): number;
  /** glibc mallopt of the trim threshold, top pad and mmap threshold; false off glibc. Absent in addons built before it. */
  tuneMalloc?(trimThreshold: number, topPad: number, mmapThreshold: number): boolean;
  /** Batched UDP receive on a dup of `fd` (native/udp_batch.c); absent in addons built before it. */
  udpBatchStart?(fd: number, batch: number, state: UdpBatchState): UdpBatchHandle;
  /** Stops a receiver and closes its dup; idempotent. */
  udpBatchStop?(handle: UdpBatchHandle): void;
}

/** The native receiver, opaque to JavaScript. */
export type UdpBatchHandle = object;

/** What udpBatchStart fills for each batch before calling onBatch (native/udp_batch.c). */
export interface UdpBatchState {
  /** Datagram i at offset 0 (a whole 64 KiB slot or an exact copy). */
  buffers: (Buffer | undefined)[];
  /** Per datagram: length (-1: truncated), sender port, 4 or 6 (+ 8: addresses[i] is new). */
  meta: Int32Array;
  addresses: (string | undefined)[];
  onBatch(count: number): void;
  onError(error: Error): void;
  /** Set by udpBatchStart: the receiver lives until stopped. */
  handle?: UdpBatchHandle;
}

/** How the addon was (or was not) found. */
export interface NativeLoadInfo {
  loaded: boolean;
  /** `env`: VSOA_NATIVE_ADDON; `package`: build/Release of this package; `disabled`: VSOA_NO_NATIVE=1. */
  source: 'env' | 'package' | 'disabled' | 'missing';
  path?: string;
  error?: string;
}

/** What runs without the addon, for the one warning and for `nativeStatus()`. */
export const DEGRADED_FEATURES: readonly string[] = [
  'priority (no SO_PRIORITY; IP_TOS only where Node has setTypeOfService)',
  'keepalive (Node default: 1 s probe interval, 10 probes)',
  'linger (not settable; reset only via socket.resetAndDestroy())',
  'sd_notify (systemd notifications are not sent)',
  'allocator (tuneAllocator: set the MALLOC_* variables in the environment instead)',
  'quick-batch (quickRecvBatch: one recvmsg and one callback per quick datagram)',
];

const ADDON_FILE = join('build', 'Release', 'vsoa_native.node');

let state: { addon: NativeAddon | undefined; info: NativeLoadInfo } | undefined;
let warned = false;

/** The code of the one process warning a missing addon gives. */
export const NO_NATIVE_WARNING = 'VSOA_NO_NATIVE';

/**
 * The addon, loaded on first call and cached; `undefined` means degraded mode. Call it when a
 * feature needs the addon: the first such call without one emits one process warning
 * (`VSOA_NO_NATIVE`), so a failed build is visible without logging turned on.
 */
export function loadNative(): NativeAddon | undefined {
  state ??= load();
  if (state.addon === undefined && !warned) {
    warned = true;
    process.emitWarning(
      `vsoa-edge: native addon not loaded (${reasonOf(state.info)}); degraded: ${DEGRADED_FEATURES.map((f) => f.split(' ')[0]).join(', ')}`,
      { code: NO_NATIVE_WARNING },
    );
  }
  return state.addon;
}

/**
 * For a host that reports the missing addon itself (the CLI logs it): no process warning.
 */
export function suppressNativeWarning(): void {
  warned = true;
}

/** Whether the addon is loaded and, if not, why; loads it if not yet tried (no warning). */
export interface NativeStatus {
  loaded: boolean;
  /** Why not (absent when loaded). */
  reason?: string;
  /** What runs degraded without it. */
  degraded: readonly string[];
}

export function nativeStatus(): NativeStatus {
  state ??= load();
  const { info } = state;
  return info.loaded
    ? { loaded: true, degraded: [] }
    : { loaded: false, reason: reasonOf(info), degraded: DEGRADED_FEATURES };
}

function reasonOf(info: NativeLoadInfo): string {
  if (info.source === 'missing')
    return `${info.error ?? 'not found'}: the install script could not build it (needs node-gyp, python3, a C compiler)`;
  return info.path ? `${info.path}: ${info.error ?? 'unknown error'}` : (info.error ?? 'unknown error');
}

export function nativeLoadInfo(): NativeLoadInfo {
  state ??= load();
  return { ...state.info };
}

/** Test hook: forget the cached result so the next call reads the environment again. */
export function resetNativeForTests(): void {
  state = undefined;
  unavailableReason = undefined;
  warned = false;
}

function load(): { addon: NativeAddon | undefined; info: NativeLoadInfo } {
  const result = tryLoad();
  if (result.addon === undefined) {
    moduleLogger('native').warn(
      {
        source: result.info.source,
        path: result.info.path,
        error: result.info.error,
        degraded: DEGRADED_FEATURES,
      },
      `native addon not loaded; degraded: ${DEGRADED_FEATURES.map((f) => f.split(' ')[0]).join(', ')}`,
    );
  }
  return result;
}

let unavailableReason: string | undefined;

/**
 * For a host that knows the addon cannot be had (the single executable could not extract
 * it): the loader then does without, and its one warning says why.
 */
export function markNativeUnavailable(reason: string): void {
  unavailableReason = reason;
  state = undefined;
}

function tryLoad(): { addon: NativeAddon | undefined; info: NativeLoadInfo } {
  if (process.env.VSOA_NO_NATIVE === '1') {
    return { addon: undefined, info: { loaded: false, source: 'disabled', error: 'VSOA_NO_NATIVE=1' } };
  }
  if (unavailableReason !== undefined) {
    return { addon: undefined, info: { loaded: false, source: 'disabled', error: unavailableReason } };
  }
  const explicit = process.env.VSOA_NATIVE_ADDON;
  if (explicit !== undefined && explicit !== '') return open(explicit, 'env');
  const found = findPackageAddon();
  if (found === undefined) {
    return { addon: undefined, info: { loaded: false, source: 'missing', error: `${ADDON_FILE} not found` } };
  }
  return open(found, 'package');
}

function open(
  path: string,
  source: 'env' | 'package',
): { addon: NativeAddon | undefined; info: NativeLoadInfo } {
  try {
    const mod: { exports: Partial<NativeAddon> } = { exports: {} };
    process.dlopen(mod, path);
    const e = mod.exports;
    if (
      typeof e.setsockopt !== 'function' ||
      typeof e.getsockopt !== 'function' ||
      typeof e.setLinger !== 'function' ||
      typeof e.getLinger !== 'function' ||
      typeof e.notify !== 'function'
    ) {
      return { addon: undefined, info: { loaded: false, source, path, error: 'not a vsoa_native addon' } };
    }
    return { addon: e as NativeAddon, info: { loaded: true, source, path } };
  } catch (err) {
    return { addon: undefined, info: { loaded: false, source, path, error: (err as Error).message } };
  }
}

/**
 * The package root is the nearest directory above this module holding a package.json: the same
 * walk works from src/transport (tsx, vitest) and dist/transport. A bundle without a usable
 * import.meta.url (the single executable) sets VSOA_NATIVE_ADDON instead.
 */
function findPackageAddon(): string | undefined {
  let dir: string;
  try {
    dir = dirname(fileURLToPath(import.meta.url));
  } catch {
    return undefined;
  }
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) {
      const candidate = join(dir, ADDON_FILE);
      return existsSync(candidate) ? candidate : undefined;
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}
