import { ConnectCode } from '../protocol/constants.js';
import { ErrorCode, VsoaError } from '../protocol/errors.js';
import { monotonicNow } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import type { RobotEvents } from './events.js';
import type { ConnectOptions, RobotSettings } from './options.js';
import { Outbox } from './outbox.js';
import { RetryList } from './retry.js';

export type { RobotOptions } from './options.js';

/** How a robot ping ended: answered, lost (no answer within keepalive), or its link closed. */
export type PingResult = 'ok' | 'lost' | 'closed';

/** What the robot needs from its client: nothing else of the Client is reachable from here. */
export interface RobotHost {
  readonly connected: boolean;
  /** Connects (calling Robot.resolved() once the url is resolved and the connect proper starts). */
  connect(url: string, options: ConnectOptions): Promise<ConnectCode>;
  disconnect(): void;
  /** Resets the current connection (RST) for `reason`. */
  reset(reason: VsoaError): void;
  /** A PINGECHO; false when it could not be sent. */
  ping(done: (result: PingResult) => void, timeoutMs: number): boolean;
  /** A NOOP (turbo ping), which wants no answer. */
  noop(): boolean;
  emit<K extends keyof RobotEvents>(event: K, ...args: RobotEvents[K]): void;
}

export type RobotState = 'connecting' | 'connected' | 'waiting' | 'stopped';

export interface RobotStats {
  state: RobotState;
  /** The server url in use or being tried. */
  server: string;
  connects: number;
  disconnects: number;
  /** Connect attempts, successful or not. */
  attempts: number;
  lostPings: number;
  /** Round-trip time of the last answered ping, in ms. */
  lastRttMs: number | undefined;
  /** Why the last connection ended (`code`: ErrorCode), undefined before any has. */
  lastCloseReason: VsoaError | undefined;
  /** Datagrams waiting in the outbox (RobotOptions.outbox). */
  outbox: number;
  /** Datagrams dropped: the oldest of a full outbox, or one the link refused at the reconnect. */
  outboxDropped: number;
  /** Datagrams sent from the outbox after reconnects. */
  outboxSent: number;
  /** `retry: true` requests sent again after reconnects. */
  retried: number;
}

/** Slack on top of the robot's own schedule before the watchdog calls it stuck. */
const HEALTH_MARGIN_MS = 1000;

/**
 * The robot loop of one client: connect (trying each server in order, every round starting
 * again from the first), keep the link alive with pings, reset it when pings are lost, and
 * reconnect after a delay. Names are resolved again on every attempt (the client's connect
 * does). It also holds robot mode's opt-ins: the outbox and the retry list.
 *
 * Health: every step of the schedule (an attempt, a ping sent or settled, a wait) moves the
 * deadline by what the next step may take; the robot is unhealthy only when a deadline passes,
 * that is when it stopped following its own schedule, never while it detects a dead server.
 */
export class Robot {
  readonly outbox: Outbox | undefined;
  readonly retries = new RetryList();
  private state: RobotState = 'waiting';
  private server: string;
  private counters = { connects: 0, disconnects: 0, attempts: 0, lostPings: 0 };
  private lastRttMs: number | undefined;
  private lastCloseReason: VsoaError | undefined;
  private consecutiveLost = 0;
  private failedRounds = 0;
  private pingTimer: NodeJS.Timeout | undefined;
  private waitTimer: NodeJS.Timeout | undefined;
  /** Counts connections, so that a ping of an earlier one is never taken for the current one. */
  private linkNumber = 0;
  /** Until when the current step may last before the robot counts as stuck. */
  private deadline = 0;
  private turboMs: number;
  private turboMax: number;
  private turboSent = 0;
  private turboTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly host: RobotHost,
    private readonly settings: RobotSettings,
    turbo: { turboMs: number; maxCnt: number },
    private readonly log: Logger,
  ) {
    this.server = settings.servers[0] as string;
    this.outbox = settings.outbox > 0 ? new Outbox(settings.outbox) : undefined;
    this.turboMs = turbo.turboMs;
    this.turboMax = turbo.maxCnt;
  }

  get keepalive(): number {
    return this.settings.keepalive;
  }

  start(): void {
    void this.round();
  }

  stop(): void {
    this.state = 'stopped';
    this.stopPinging();
    this.stopTurbo();
    if (this.waitTimer) clearTimeout(this.waitTimer);
    this.waitTimer = undefined;
    this.outbox?.clear();
    this.retries.failAll();
  }

  /** A method, not a field read: the state changes across awaits. */
  private isStopped(): boolean {
    return this.state === 'stopped';
  }

  stats(): RobotStats {
    return {
      state: this.state,
      server: this.server,
      ...this.counters,
      lastRttMs: this.lastRttMs,
      lastCloseReason: this.lastCloseReason,
      outbox: this.outbox?.size ?? 0,
      outboxDropped: this.outbox?.dropped ?? 0,
      outboxSent: this.outbox?.sent ?? 0,
      retried: this.retries.resent,
    };
  }

  /** true while the robot follows its own schedule; otherwise why it is stuck. */
  health(): true | string {
    if (this.state === 'stopped') return 'robot stopped';
    const late = Math.round(monotonicNow() - this.deadline);
    return late <= 0 ? true : `robot stuck ${this.state} (${late} ms past its own schedule)`;
  }

  setTurbo(turboMs: number, maxCnt: number): void {
    this.turboMs = turboMs;
    this.turboMax = maxCnt;
    if (turboMs === 0) this.stopTurbo();
  }

  /** Called by the client whenever its count of pending RPCs changes. */
  rpcActivity(inFlight: number): void {
    if (inFlight === 0) this.stopTurbo();
    else if (this.turboMs > 0 && !this.turboTimer && this.state === 'connected') this.startTurbo();
  }

  /** Called by the client once a url is resolved: connTimeout starts now (a lookup may take a while). */
  resolved(): void {
    if (this.state === 'connecting') this.progress(this.settings.connTimeout);
  }

  /** Called by the client when a connection it reported up has ended. */
  linkLost(reason: VsoaError): void {
    this.lastCloseReason = reason;
    if (this.state !== 'connected') return;
    this.counters.disconnects++;
    this.stopPinging();
    this.stopTurbo();
    this.log.info(
      { server: this.server, code: reason.code, reason: reason.message },
      'robot lost the connection',
    );
    this.wait();
  }

  /** The next step must come within `ms` (plus the margin). */
  private progress(ms: number): void {
    this.deadline = monotonicNow() + ms + HEALTH_MARGIN_MS;
  }

  /** One round: each server in order until one answers; then wait and start over. */
  private async round(): Promise<void> {
    for (const server of this.settings.servers) {
      if (this.state === 'stopped') return;
      this.state = 'connecting';
      this.server = server;
      this.counters.attempts++;
      this.progress(this.settings.connTimeout);
      this.host.emit('robot-attempt', server, this.counters.attempts);
      let code: ConnectCode;
      try {
        code = await this.host.connect(server, this.settings.connect);
      } catch (error) {
        this.log.warn({ err: error, server }, 'robot connect failed');
        code = ConnectCode.ERROR;
      }
      if (this.isStopped()) {
        this.host.disconnect();
        return;
      }
      if (code === ConnectCode.OK && this.host.connected) {
        this.up();
        return;
      }
      this.log.debug({ server, code }, 'robot connect attempt failed');
      this.host.emit('robot-connect-failed', server, code);
    }
    this.failedRounds++;
    this.wait();
  }

  private up(): void {
    this.state = 'connected';
    this.linkNumber++;
    this.counters.connects++;
    this.failedRounds = 0;
    this.consecutiveLost = 0;
    this.log.info({ server: this.server }, 'robot connected');
    this.schedulePing(this.settings.keepalive);
  }

  private wait(): void {
    if (this.state === 'stopped') return;
    this.state = 'waiting';
    const delay = this.nextDelay();
    this.progress(delay);
    this.host.emit('robot-waiting', delay);
    this.waitTimer = setTimeout(() => {
      this.waitTimer = undefined;
      void this.round();
    }, delay);
  }

  private nextDelay(): number {
    const { reconnDelay, maxReconnDelay } = this.settings;
    if (maxReconnDelay <= reconnDelay || this.failedRounds === 0) return reconnDelay;
    const capped = Math.min(maxReconnDelay, reconnDelay * 2 ** Math.min(this.failedRounds, 30));
    return capped / 2 + Math.random() * (capped / 2);
  }

  /**
   * Pings run as a chain, not an interval: the next goes `keepalive` after the previous was
   * sent, and never before it settled. A lost ping settles exactly then, so lost pings come
   * `keepalive` apart (an interval tick racing the timeout would skip every other one).
   */
  private schedulePing(delay: number): void {
    this.progress(delay + this.settings.keepalive);
    this.pingTimer = setTimeout(() => this.ping(), delay);
  }

  private ping(): void {
    this.pingTimer = undefined;
    if (this.state !== 'connected') return;
    const { keepalive, pingLost } = this.settings;
    const link = this.linkNumber;
    const sentAt = monotonicNow();
    const started = process.hrtime.bigint();
    const sent = this.host.ping((result) => {
      if (this.state !== 'connected' || link !== this.linkNumber || result === 'closed') return;
      if (result === 'ok') {
        this.lastRttMs = Number(process.hrtime.bigint() - started) / 1e6;
        this.consecutiveLost = 0;
      } else {
        this.counters.lostPings++;
        this.consecutiveLost++;
        this.host.emit('robot-ping-lost', this.consecutiveLost);
        if (this.consecutiveLost > pingLost) {
          this.log.warn(
            { server: this.server, lost: this.consecutiveLost },
            'robot: pings lost, resetting the connection',
          );
          this.host.reset(
            new VsoaError(
              ErrorCode.PING_LOST,
              `${this.consecutiveLost} pings in a row lost (keepalive ${keepalive} ms)`,
            ),
          );
          return;
        }
      }
      this.schedulePing(Math.max(0, sentAt + keepalive - monotonicNow()));
    }, keepalive);
    if (sent) this.progress(2 * keepalive);
    else this.schedulePing(keepalive);
  }

  private stopPinging(): void {
    if (this.pingTimer) clearTimeout(this.pingTimer);
    this.pingTimer = undefined;
  }

  private startTurbo(): void {
    this.turboSent = 0;
    this.turboTimer = setInterval(() => {
      if (this.turboSent >= this.turboMax) return;
      this.turboSent++;
      this.host.noop();
    }, this.turboMs);
  }

  private stopTurbo(): void {
    if (this.turboTimer) clearInterval(this.turboTimer);
    this.turboTimer = undefined;
  }
}
