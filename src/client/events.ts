import type { ConnectCode } from '../protocol/constants.js';
import type { VsoaError } from '../protocol/errors.js';

/** The robot's events, emitted by its Client. */
export interface RobotEvents {
  /** A connect attempt starts (`attempt` counts every attempt of this robot). */
  'robot-attempt': [server: string, attempt: number];
  /** An attempt failed with this code; the next server (or the wait) follows. */
  'robot-connect-failed': [server: string, code: ConnectCode];
  /** The robot waits this long before its next round. */
  'robot-waiting': [delayMs: number];
  /** A ping got no answer; `consecutive` counts the lost pings in a row. */
  'robot-ping-lost': [consecutive: number];
}

/**
 * The events of a Client, so that `client.on('disconnect', (reason) => …)` is typed.
 * `connect` and `disconnect` come with `onconnect(client, true, info)` and
 * `onconnect(client, false, reason)`.
 */
export interface ClientEvents extends RobotEvents {
  /** The handshake is done (and, in robot mode, the subscriptions replayed); `info` is the server's. */
  connect: [info: unknown];
  /** A connection that was reported up ended; `reason.code` says why (ErrorCode). */
  disconnect: [reason: VsoaError];
  /** The server set this client's priority (QOSSETUP), 0..7. */
  priority: [priority: number];
}
