import { Status, Type } from '../protocol/constants.js';
import type { Logger } from '../util/log.js';
import { safely } from '../util/safely.js';
import { MAX_PENDING } from './pending.js';
import type { Session } from './session.js';

/**
 * The subscriptions an application holds, in the order it made them: what the robot replays
 * after every reconnect, before reporting the connection. (Un)subscribe calls made while not
 * connected change the set, and their callbacks wait here for the next replay's outcome.
 */
export class HeldSubscriptions {
  private readonly urls = new Set<string>();
  private readonly waiting: Array<{ done: (ok: boolean) => void; subscribe: boolean }> = [];
  /** A change without a callback was made while disconnected. */
  private changed = false;

  constructor(private readonly log: Logger) {}

  get size(): number {
    return this.urls.size;
  }

  /** Calls were made while disconnected: the next connect owes them a replay, robot or not. */
  get owed(): boolean {
    return this.changed || this.waiting.length > 0;
  }

  list(): string[] {
    return [...this.urls];
  }

  update(urls: readonly string[], subscribe: boolean): void {
    for (const url of urls) {
      if (subscribe) this.urls.add(url);
      else this.urls.delete(url);
    }
  }

  /**
   * A call made while disconnected, settled by the next replay (an unsubscribe always
   * succeeds). False when MAX_PENDING callbacks wait already: the call is refused.
   */
  defer(done: ((ok: boolean) => void) | undefined, subscribe: boolean): boolean {
    if (!done) {
      this.changed = true;
      return true;
    }
    if (this.waiting.length >= MAX_PENDING) return false;
    this.waiting.push({ done, subscribe });
    return true;
  }

  /** Settles every deferred call: `ok` is the replay's outcome (false: the client closed). */
  settle(ok: boolean): void {
    this.changed = false;
    for (const { done, subscribe } of this.waiting.splice(0)) {
      safely(this.log, 'subscribe callback', () => done(subscribe ? ok : true));
    }
  }
}

/**
 * Sends the held subscriptions as one SUBSCRIBE list: `done(true)` when the server took them
 * (at once when there are none), false when it refused or did not answer in time, 'closed'
 * when the link dropped meanwhile.
 */
export function replaySubscriptions(
  session: Session,
  urls: string[],
  timeout: number,
  log: Logger,
  done: (ok: boolean | 'closed') => void,
): void {
  if (urls.length === 0) {
    done(true);
    return;
  }
  const sent = session.request(
    { type: Type.SUBSCRIBE },
    JSON.stringify(urls),
    undefined,
    timeout,
    (reply, reason) => {
      if (reason === 'closed') return done('closed');
      const ok = reply?.status === Status.SUCCESS;
      if (!ok) log.warn({ urls, status: reply?.status, reason }, 're-subscribe failed');
      done(ok);
    },
  );
  if (!sent) {
    log.warn({ urls }, 're-subscribe could not be sent');
    done(false);
  }
}
