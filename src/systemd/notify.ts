import { loadNative } from '../native/addon.js';
import { moduleLogger } from '../util/log.js';

/*
 * systemd's notify protocol (sd_notify): newline-separated KEY=VALUE assignments sent as one
 * datagram to the AF_UNIX socket named by NOTIFY_SOCKET. Node cannot send AF_UNIX datagrams,
 * so this goes through the native addon; without it, or outside systemd, it does nothing.
 * The environment is read at every call (a service may be started under systemd or not).
 */

/**
 * Sends `state` to systemd, e.g. 'READY=1', 'STATUS=listening on 3005', 'WATCHDOG=1',
 * 'STOPPING=1', 'RELOADING=1', or several such lines joined with '\n'.
 * Returns true when the datagram was sent; false outside systemd (no NOTIFY_SOCKET), without
 * the addon, or when sending failed (logged).
 */
export function notify(state: string): boolean {
  if (typeof state !== 'string') throw new TypeError('state must be a string');
  if (state.length === 0) throw new RangeError('state must not be empty');
  const socketPath = process.env.NOTIFY_SOCKET;
  if (socketPath === undefined || socketPath === '') return false;
  const log = moduleLogger('systemd');
  if (!socketPath.startsWith('/') && !socketPath.startsWith('@')) {
    // systemd >= 254 may also name a vsock address; not supported here.
    log.warn({ socket: socketPath }, 'NOTIFY_SOCKET is not a path or @abstract name; not notifying');
    return false;
  }
  const addon = loadNative();
  if (addon === undefined) return false; // the loader has already warned once
  try {
    addon.notify(socketPath, state);
    return true;
  } catch (err) {
    const e = err as { code?: string; message?: string };
    log.warn({ socket: socketPath, code: e.code, err: e.message }, 'sd_notify failed');
    return false;
  }
}

/**
 * The watchdog timeout in ms from WATCHDOG_USEC (send 'WATCHDOG=1' at about half of it), or
 * undefined when systemd set none, the value is malformed, or WATCHDOG_PID names another
 * process (the variables were inherited by a child).
 */
export function watchdogInterval(): number | undefined {
  const usecText = process.env.WATCHDOG_USEC;
  if (usecText === undefined || !/^\d+$/.test(usecText)) return undefined;
  const usec = Number(usecText);
  if (!Number.isSafeInteger(usec) || usec === 0) return undefined;
  const pidText = process.env.WATCHDOG_PID;
  if (pidText !== undefined && pidText !== '') {
    if (!/^\d+$/.test(pidText) || Number(pidText) !== process.pid) return undefined;
  }
  return Math.max(1, Math.floor(usec / 1000));
}
