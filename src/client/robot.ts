import { ConnectCode } from '../protocol/constants.js';
import type { TlsOptions } from '../transport/tls-options.js';
import type { Logger } from '../util/log.js';
import type { Client, ConnectOptions } from './client.js';

export interface RobotOptions {
  passwd?: string;
  /** A ping every `keepalive` ms, each timing out after `keepalive` ms (default 3000, min 50). */
  keepalive?: number;
  /** Bounds TCP connect, TLS and the SERVINFO reply together (default 10000, min 50). */
  connTimeout?: number;
  /** Wait after a disconnect or a failed round of servers (default 1000). */
  reconnDelay?: number;
  /**
   * Off by default (the seed's fixed delay). When set above reconnDelay, the wait doubles after
   * every failed round up to this cap, with jitter (half to full delay).
   */
  maxReconnDelay?: number;
  /** Consecutive lost pings tolerated; one more resets the connection (default 3). */
  pingLost?: number;
  /** TLS options, as for connect. */
  tls?: TlsOptions;
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
}

const MIN_TIMING = 50;
const MIN_TURBO = 25;
/** Slack on top of the robot's own timeouts before the watchdog calls it stuck. */
const HEALTH_MARGIN_MS = 1000;

function timing(value: unknown, name: string, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw new RangeError(`${name} must be a number of milliseconds ≥ ${min}`);
  }
  return value;
}

/**
 * The robot loop of one Client: connect (trying each server in order, every round starting
 * again from the first), keep the link alive with pings, reset it when pings are lost, and
 * reconnect after a delay. Names are resolved again on every attempt (Client.connect does).
 */
export class Robot {
  private readonly servers: readonly string[];
  private readonly keepalive: number;
  private readonly connTimeout: number;
  private readonly reconnDelay: number;
  private readonly maxReconnDelay: number;
  private readonly pingLost: number;
  private readonly connectOptions: ConnectOptions;
  private state: RobotState = 'waiting';
  private server: string;
  private counters = { connects: 0, disconnects: 0, attempts: 0, lostPings: 0 };
  private lastRttMs: number | undefined;
  private consecutiveLost = 0;
  private failedRounds = 0;
  private pingTimer: NodeJS.Timeout | undefined;
  private waitTimer: NodeJS.Timeout | undefined;
  private pinging = false;
  /** Until when the current state may last before the robot counts as stuck. */
  private deadline = 0;
  private turboMs = 0;
  private turboMax = 50;
  private turboSent = 0;
  private turboTimer: NodeJS.Timeout | undefined;
  private readonly onDisconnect = (): void => this.lost();

  constructor(
    private readonly client: Client,
    url: string | readonly string[],
    options: RobotOptions,
    private readonly log: Logger,
  ) {
    const servers = typeof url === 'string' ? [url] : [...url];
    if (servers.length === 0 || servers.some((s) => typeof s !== 'string')) {
      throw new TypeError('url must be a server url or a non-empty list of them');
    }
    if (options === null || typeof options !== 'object') throw new TypeError('options must be an object');
    this.servers = servers;
    this.server = servers[0] as string;
    this.keepalive = timing(options.keepalive, 'options.keepalive', 3000, MIN_TIMING);
    this.connTimeout = timing(options.connTimeout, 'options.connTimeout', 10_000, MIN_TIMING);
    this.reconnDelay = timing(options.reconnDelay, 'options.reconnDelay', 1000, 0);
    this.maxReconnDelay = timing(options.maxReconnDelay, 'options.maxReconnDelay', 0, 0);
    const pingLost = options.pingLost ?? 3;
    if (!Number.isInteger(pingLost) || pingLost < 0)
      throw new RangeError('options.pingLost must be a whole number ≥ 0');
    this.pingLost = pingLost;
    this.connectOptions = { passwd: options.passwd ?? '', timeout: this.connTimeout };
    if (options.tls !== undefined) this.connectOptions.tls = options.tls;
  }

  start(): void {
    this.client.on('disconnect', this.onDisconnect);
    void this.round();
  }

  stop(): void {
    this.state = 'stopped';
    this.client.off('disconnect', this.onDisconnect);
    this.stopPinging();
    this.stopTurbo();
    if (this.waitTimer) clearTimeout(this.waitTimer);
    this.waitTimer = undefined;
  }

  /** A method, not a field read: the state changes across awaits. */
  private isStopped(): boolean {
    return this.state === 'stopped';
  }

  stats(): RobotStats {
    return { state: this.state, server: this.server, ...this.counters, lastRttMs: this.lastRttMs };
  }

  /** true while the robot keeps to its own timeouts; otherwise why it is stuck. */
  health(): true | string {
    if (this.state === 'stopped') return 'robot stopped';
    const late = Date.now() - this.deadline;
    return late <= 0 ? true : `robot stuck ${this.state} (${late} ms past its own timeouts)`;
  }

  setTurbo(turboMs: number, maxCnt: number): void {
    if (turboMs !== 0 && !(Number.isFinite(turboMs) && turboMs >= MIN_TURBO && turboMs <= this.keepalive)) {
      throw new RangeError(
        `turboMs must be 0 (off) or from ${MIN_TURBO} to keepalive (${this.keepalive}) ms`,
      );
    }
    if (!Number.isInteger(maxCnt) || maxCnt < 1) throw new RangeError('maxCnt must be a whole number ≥ 1');
    this.turboMs = turboMs;
    this.turboMax = maxCnt;
    if (turboMs === 0) this.stopTurbo();
  }

  /** Called by the client whenever its count of pending RPCs changes. */
  rpcActivity(inFlight: number): void {
    if (inFlight === 0) this.stopTurbo();
    else if (this.turboMs > 0 && !this.turboTimer && this.state === 'connected') this.startTurbo();
  }

  /** One round: each server in order until one answers; then wait and start over. */
  private async round(): Promise<void> {
    for (const server of this.servers) {
      if (this.state === 'stopped') return;
      this.state = 'connecting';
      this.server = server;
      this.counters.attempts++;
      this.deadline = Date.now() + this.connTimeout + HEALTH_MARGIN_MS;
      this.client.emit('robot-attempt', server, this.counters.attempts);
      let code: ConnectCode;
      try {
        code = await this.client.connect(server, this.connectOptions);
      } catch (error) {
        this.log.warn({ err: error, server }, 'robot connect failed');
        code = ConnectCode.ERROR;
      }
      if (this.isStopped()) {
        this.client.disconnect();
        return;
      }
      if (code === ConnectCode.OK && this.client.connected) {
        this.up();
        return;
      }
      this.log.debug({ server, code }, 'robot connect attempt failed');
      this.client.emit('robot-connect-failed', server, code);
    }
    this.failedRounds++;
    this.wait();
  }

  private up(): void {
    this.state = 'connected';
    this.counters.connects++;
    this.failedRounds = 0;
    this.consecutiveLost = 0;
    this.deadline = Date.now() + this.keepalive * (this.pingLost + 2) + HEALTH_MARGIN_MS;
    this.log.info({ server: this.server }, 'robot connected');
    this.pingTimer = setInterval(() => this.ping(), this.keepalive);
  }

  private lost(): void {
    if (this.state !== 'connected') return;
    this.counters.disconnects++;
    this.stopPinging();
    this.stopTurbo();
    this.log.info({ server: this.server }, 'robot lost the connection');
    this.wait();
  }

  private wait(): void {
    if (this.state === 'stopped') return;
    this.state = 'waiting';
    const delay = this.nextDelay();
    this.deadline = Date.now() + delay + HEALTH_MARGIN_MS;
    this.client.emit('robot-waiting', delay);
    this.waitTimer = setTimeout(() => {
      this.waitTimer = undefined;
      void this.round();
    }, delay);
  }

  private nextDelay(): number {
    if (this.maxReconnDelay <= this.reconnDelay || this.failedRounds === 0) return this.reconnDelay;
    const capped = Math.min(this.maxReconnDelay, this.reconnDelay * 2 ** Math.min(this.failedRounds, 30));
    return capped / 2 + Math.random() * (capped / 2);
  }

  private ping(): void {
    if (this.pinging || this.state !== 'connected') return;
    this.pinging = true;
    const started = process.hrtime.bigint();
    const sent = this.client.ping((_client, ok) => {
      this.pinging = false;
      if (this.state !== 'connected') return;
      if (ok) {
        this.lastRttMs = Number(process.hrtime.bigint() - started) / 1e6;
        this.consecutiveLost = 0;
        this.deadline = Date.now() + this.keepalive * (this.pingLost + 2) + HEALTH_MARGIN_MS;
        return;
      }
      this.counters.lostPings++;
      this.consecutiveLost++;
      this.client.emit('robot-ping-lost', this.consecutiveLost);
      if (this.consecutiveLost > this.pingLost) {
        this.log.warn(
          { server: this.server, lost: this.consecutiveLost },
          'robot: pings lost, resetting the connection',
        );
        this.client.resetConnection();
      }
    }, this.keepalive);
    if (!sent) this.pinging = false;
  }

  private stopPinging(): void {
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = undefined;
    this.pinging = false;
  }

  private startTurbo(): void {
    this.turboSent = 0;
    this.turboTimer = setInterval(() => {
      if (this.turboSent >= this.turboMax) return;
      this.turboSent++;
      this.client.ping();
    }, this.turboMs);
  }

  private stopTurbo(): void {
    if (this.turboTimer) clearInterval(this.turboTimer);
    this.turboTimer = undefined;
  }
}
