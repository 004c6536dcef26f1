import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { type Logger, moduleLogger } from '../util/log.js';
import { notify, watchdogInterval } from './notify.js';

/*
 * systemd's watchdog (WatchdogSec=) restarts a service that stops sending WATCHDOG=1. A bare
 * setInterval would keep kicking from a process whose event loop is mostly stuck, or whose
 * work has stalled, so the kick is sent only while the process is healthy: the loop answers
 * in time and every registered check passes. Outside systemd nothing is timed or evaluated.
 */

/** A health check: true passes; false or a string (the reason) fails; throwing fails too. */
export type HealthCheck = () => boolean | string;

export interface WatchdogOptions {
  /**
   * Withhold kicks when the event loop was late by more than this, ms. Default: half the
   * watchdog interval (the kick period), read from WATCHDOG_USEC at start().
   */
  maxLagMs?: number;
}

/** What the watchdog last decided, for logs, tests and status pages. */
export interface WatchdogState {
  /** true between start() and stop() under a systemd watchdog (NOTIFY_SOCKET and WATCHDOG_USEC). */
  active: boolean;
  /** The watchdog timeout from WATCHDOG_USEC, ms; null when not active. */
  intervalMs: number | null;
  /** How often a kick is decided, ms (half the interval); null when not active. */
  kickEveryMs: number | null;
  /** The loop-lag bound, ms; null when not active. */
  maxLagMs: number | null;
  /** The last decision: 'kick' (WATCHDOG=1 sent), 'withheld', or null before the first one. */
  decision: 'kick' | 'withheld' | null;
  /** Why the last decision withheld the kick; null after a kick. */
  reason: string | null;
  /** The check that failed the last decision, null if none did (a lag or no failure). */
  failedCheck: string | null;
  /** The worst event loop lag seen in the last decision's window, ms. */
  lagMs: number;
  /** Kicks sent since start(). */
  kicks: number;
  /** Decisions that withheld the kick since start(). */
  withheld: number;
}

/** Lag is sampled this many times per kick period, within these bounds (ms). */
const SAMPLES_PER_KICK = 10;
const MIN_SAMPLE_MS = 10;
const MAX_SAMPLE_MS = 1000;

/**
 * The sd_notify side of a daemon: READY/STATUS/STOPPING/RELOADING, and WATCHDOG=1 while
 * healthy. Emits 'decision' (WatchdogState) after each kick decision.
 */
export class Watchdog extends EventEmitter {
  private readonly checks = new Map<string, HealthCheck>();
  private readonly log: Logger;
  private readonly maxLagOption: number | undefined;
  private timer: NodeJS.Timeout | null = null;
  private intervalMs: number | null = null;
  private kickEveryMs = 0;
  private maxLagMs = 0;
  private sampleMs = 0;
  private lastSample = 0;
  private lastDecisionAt = 0;
  private windowLag = 0;
  private lastStatus: string | null = null;
  private current: Omit<WatchdogState, 'active' | 'intervalMs' | 'kickEveryMs' | 'maxLagMs'> = {
    decision: null,
    reason: null,
    failedCheck: null,
    lagMs: 0,
    kicks: 0,
    withheld: 0,
  };

  constructor(options: WatchdogOptions = {}) {
    super();
    if (options === null || typeof options !== 'object') throw new TypeError('options must be an object');
    const { maxLagMs } = options;
    if (
      maxLagMs !== undefined &&
      !(typeof maxLagMs === 'number' && maxLagMs > 0 && Number.isFinite(maxLagMs))
    ) {
      throw new RangeError(`maxLagMs must be a finite number of ms > 0, got ${maxLagMs}`);
    }
    this.maxLagOption = maxLagMs;
    this.log = moduleLogger('watchdog');
  }

  /**
   * Registers (or replaces) a named check, evaluated at each kick decision only (never
   * outside systemd). Returns a function that removes it.
   */
  addCheck(name: string, check: HealthCheck): () => void {
    if (typeof name !== 'string' || name.length === 0) throw new TypeError('name must be a non-empty string');
    if (typeof check !== 'function') throw new TypeError('check must be a function');
    this.checks.set(name, check);
    return () => {
      if (this.checks.get(name) === check) this.checks.delete(name);
    };
  }

  removeCheck(name: string): boolean {
    return this.checks.delete(name);
  }

  /**
   * Reads NOTIFY_SOCKET and WATCHDOG_USEC/WATCHDOG_PID now and, under a systemd watchdog,
   * starts deciding kicks every half interval (the first one soon after start). Starting a
   * started watchdog re-reads the environment. The timer is unref'd.
   */
  start(): void {
    this.stop();
    const socket = process.env.NOTIFY_SOCKET;
    const interval = socket === undefined || socket === '' ? undefined : watchdogInterval();
    if (interval === undefined) return;
    this.intervalMs = interval;
    this.kickEveryMs = Math.max(1, Math.floor(interval / 2));
    this.maxLagMs = this.maxLagOption ?? this.kickEveryMs;
    this.sampleMs = Math.min(
      MAX_SAMPLE_MS,
      Math.max(MIN_SAMPLE_MS, Math.floor(this.kickEveryMs / SAMPLES_PER_KICK)),
    );
    this.current = { decision: null, reason: null, failedCheck: null, lagMs: 0, kicks: 0, withheld: 0 };
    const now = performance.now();
    this.lastSample = now;
    this.lastDecisionAt = now - this.kickEveryMs; // the first sample decides
    this.windowLag = 0;
    this.timer = setInterval(() => this.sample(), this.sampleMs);
    this.timer.unref();
    this.log.debug(
      { intervalMs: interval, kickEveryMs: this.kickEveryMs, maxLagMs: this.maxLagMs },
      'watchdog started',
    );
  }

  /** Stops kicking (systemd will act if WatchdogSec is still in force). Idempotent. */
  stop(): void {
    if (this.timer === null) return;
    clearInterval(this.timer);
    this.timer = null;
    this.intervalMs = null;
  }

  /** READY=1 (startup or a reload finished). False outside systemd or when sending failed. */
  ready(): boolean {
    return notify('READY=1');
  }

  /** STATUS=text, sent only when it differs from the last one sent. True when sent now. */
  status(text: string): boolean {
    if (typeof text !== 'string') throw new TypeError('text must be a string');
    if (text.includes('\n')) throw new RangeError('status text must be one line');
    if (text === this.lastStatus) return false;
    if (!notify(`STATUS=${text}`)) return false;
    this.lastStatus = text;
    return true;
  }

  /** STOPPING=1: the service is shutting down. */
  stopping(): boolean {
    return notify('STOPPING=1');
  }

  /**
   * RELOADING=1 with the MONOTONIC_USEC systemd >= 253 wants beside it; send ready() when
   * the reload is done.
   */
  reloading(): boolean {
    return notify(`RELOADING=1\nMONOTONIC_USEC=${process.hrtime.bigint() / 1000n}`);
  }

  state(): WatchdogState {
    const active = this.timer !== null;
    return {
      active,
      intervalMs: active ? this.intervalMs : null,
      kickEveryMs: active ? this.kickEveryMs : null,
      maxLagMs: active ? this.maxLagMs : null,
      ...this.current,
    };
  }

  /** Every sampleMs: how late this timer ran is the loop's lag; decide once per kick period. */
  private sample(): void {
    const now = performance.now();
    const lag = Math.max(0, now - this.lastSample - this.sampleMs);
    this.lastSample = now;
    if (lag > this.windowLag) this.windowLag = lag;
    if (now - this.lastDecisionAt >= this.kickEveryMs - this.sampleMs / 2) this.decide(now);
  }

  private decide(now: number): void {
    const lag = Math.round(this.windowLag);
    this.windowLag = 0;
    this.lastDecisionAt = now;
    let reason: string | null = null;
    let failedCheck: string | null = null;
    if (lag > this.maxLagMs) {
      reason = `event loop lag ${lag} ms > ${this.maxLagMs} ms`;
    } else {
      for (const [name, check] of this.checks) {
        const failure = runCheck(check);
        if (failure !== null) {
          reason = `check ${name}: ${failure}`;
          failedCheck = name;
          break;
        }
      }
    }
    const previous = this.current;
    if (reason === null) {
      const sent = notify('WATCHDOG=1');
      this.current = { ...previous, decision: 'kick', reason: null, failedCheck: null, lagMs: lag };
      if (sent) this.current.kicks += 1;
      if (previous.decision === 'withheld') this.log.info({ lagMs: lag }, 'watchdog kicks resumed');
    } else {
      this.current = { ...previous, decision: 'withheld', reason, failedCheck, lagMs: lag };
      this.current.withheld += 1;
      // Once when kicks stop, and again when the cause changes; not at every period.
      if (previous.decision !== 'withheld' || previous.failedCheck !== failedCheck) {
        this.log.warn(
          { check: failedCheck, reason, lagMs: lag, intervalMs: this.intervalMs },
          `watchdog kicks withheld: ${reason}`,
        );
      }
    }
    this.emit('decision', this.state());
  }
}

/** null when the check passes, else why it failed. */
function runCheck(check: HealthCheck): string | null {
  try {
    const result = check();
    if (result === true) return null;
    if (typeof result === 'string' && result.length > 0) return result;
    return result === false ? 'failed' : `returned ${JSON.stringify(result)}`;
  } catch (err) {
    return `threw ${err instanceof Error ? err.message : String(err)}`;
  }
}
