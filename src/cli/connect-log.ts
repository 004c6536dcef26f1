import { Client } from '../client/client.js';
import { resolveServerUrl } from '../position/resolve.js';
import { ConnectCode } from '../protocol/constants.js';
import { connectError } from '../protocol/errors.js';
import { connectCodeName } from '../protocol/names.js';
import type { Logger } from '../util/log.js';
import { CONNECT_HINTS } from './connect.js';

/** How often a failure that keeps repeating is logged again (with how many times it happened). */
export const REMINDER_MS = 60_000;

/**
 * Connect outcomes of a reconnecting client (robot, `sub`), logged the way an operator wants:
 * a failure once when it starts or changes (server or code), then a reminder at most every
 * REMINDER_MS saying how often it happened since; always the code's name, never a stack.
 */
export class ConnectionLog {
  private failing: { key: string; since: number; count: number; lastLogged: number } | undefined;

  constructor(
    private readonly log: Logger,
    private readonly reminderMs = REMINDER_MS,
    private readonly now: () => number = Date.now,
  ) {}

  failed(server: string, code: number): void {
    const key = `${server} ${code}`;
    const t = this.now();
    const entry = { server, code, codeName: connectCodeName(code) };
    if (this.failing?.key !== key) {
      this.failing = { key, since: t, count: 1, lastLogged: t };
      this.log.warn(
        entry,
        `connect failed: ${connectCodeName(code)}: ${CONNECT_HINTS[code] ?? 'connect failed'}`,
      );
      return;
    }
    this.failing.count++;
    if (t - this.failing.lastLogged >= this.reminderMs) {
      this.failing.lastLogged = t;
      this.log.warn(
        { ...entry, failures: this.failing.count, sinceMs: t - this.failing.since },
        `still failing: ${connectCodeName(code)} (${this.failing.count} attempts)`,
      );
    }
  }

  connected(server: string): void {
    const after = this.failing?.count;
    this.failing = undefined;
    this.log.info(after ? { server, failedAttempts: after } : { server }, 'connected');
  }

  lost(server: string | undefined): void {
    this.log.warn({ server }, `lost the connection to ${server ?? 'the server'}; reconnecting`);
  }
}

/**
 * A Client for the reconnecting verbs that tells a mistake no retry can fix from a failure that
 * may pass: a name the position service marks secure while no TLS settings were given is
 * reported to `onConfigError` (the CLI exits 2) instead of becoming one more retry. It goes
 * through the client's `resolve` seam, so it holds whatever calls connect (the robot too).
 */
export function reportingClient(hasTls: boolean, onConfigError: (message: string) => void): Client {
  return new Client({
    resolve: async (url) => {
      const target = await resolveServerUrl(url);
      if (target.security && !hasTls) {
        const message = `server ${target.name ?? url} requires TLS (the position service says security: true)`;
        onConfigError(message);
        throw connectError(ConnectCode.ERROR, message);
      }
      return target;
    },
  });
}
