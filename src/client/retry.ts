import { monotonicNow } from '../util/clock.js';
import { MAX_PENDING } from './pending.js';

/** A request declared idempotent (`retry: true`) waiting for the next connection. */
export interface ParkedRequest {
  /** Sends it again with what is left of its timeout (0: none); false if it could not be sent. */
  resend(remainingMs: number): boolean;
  /** Settles it as failed: its own timeout passed, or no connection will come. */
  fail(reason: 'timeout' | 'closed'): void;
  /** monotonicNow() after which it has timed out; 0 for never. */
  deadline: number;
}

/**
 * Robot mode's retry list: requests whose link dropped before their reply (or that were made
 * while the robot reconnected), re-sent after the next connect, each within its own timeout.
 * Nothing lands here unless the application asked for it with `retry: true`.
 */
export class RetryList {
  private readonly parked = new Map<ParkedRequest, NodeJS.Timeout | undefined>();
  /** Requests sent again after a reconnect. */
  resent = 0;

  get size(): number {
    return this.parked.size;
  }

  /** Keeps a request for the next connect; false (not kept) when too many wait already. */
  park(request: ParkedRequest): boolean {
    if (this.parked.size >= MAX_PENDING) return false;
    const left = request.deadline === 0 ? 0 : request.deadline - monotonicNow();
    if (request.deadline !== 0 && left <= 0) {
      request.fail('timeout');
      return true;
    }
    const timer =
      request.deadline === 0
        ? undefined
        : setTimeout(() => {
            this.parked.delete(request);
            request.fail('timeout');
          }, left);
    this.parked.set(request, timer);
    return true;
  }

  /** Sends every parked request again, in the order they were parked. */
  resendAll(): void {
    const now = monotonicNow();
    for (const [request, timer] of [...this.parked]) {
      this.parked.delete(request);
      if (timer) clearTimeout(timer);
      const left = request.deadline === 0 ? 0 : request.deadline - now;
      if (request.deadline !== 0 && left <= 0) request.fail('timeout');
      else if (request.resend(left)) this.resent++;
      else request.fail('closed');
    }
  }

  /** Fails every parked request (the client is closing). */
  failAll(): void {
    for (const [request, timer] of [...this.parked]) {
      this.parked.delete(request);
      if (timer) clearTimeout(timer);
      request.fail('closed');
    }
  }
}
