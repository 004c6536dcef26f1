import { EventEmitter } from 'node:events';
import { Server, type TlsOptions } from '../index.js';
import { integer, optionsObject } from '../util/check.js';
import { type Logger, moduleLogger } from '../util/log.js';
import { type RecordingInfo, recordedServerInfo, recordingInfo } from './info.js';
import { openRecording, type Recording } from './reader.js';

export interface ReplayOptions {
  /** The MCAP file. */
  file: string;
  /** TCP and UDP port to serve on (default 3005; 0 picks a free one). */
  port?: number;
  host?: string;
  /** Speed factor: 2 plays twice as fast (default 1). */
  rate?: number;
  /** Start over at the end, until stop(). */
  loop?: boolean;
  /** Skip this many ms from the start of the recording. */
  start?: number;
  /** Urls to replay (a url, or a prefix ending in '/'); all by default. */
  topics?: readonly string[];
  /** Server info to announce (default: the recorded server's info). */
  info?: unknown;
  passwd?: string;
  tls?: TlsOptions;
  logger?: Logger;
}

export interface ReplayProgress {
  /** Publishes sent (all loops). */
  published: number;
  /** Completed loops. */
  loops: number;
  /** Position in the recording, ms from its start. */
  position: number;
  /** How late the last publish went out against its schedule, in ms. */
  lateMs: number;
  /** Subscribers connected now. */
  clients: number;
}

export interface ReplaySummary extends ReplayProgress {
  reason: 'end' | 'stopped' | 'damaged';
  /** What the damage was, when the file could be replayed only partly. */
  damage?: string;
}

/** Wait no longer than this per timer, so that stop() and rate changes are prompt. */
const MAX_SLEEP_MS = 1000;

/**
 * Serves a recording as a VSOA server, re-publishing each publish (param bytes, data, quick
 * flag) at its recorded time scaled by `rate`. One schedule for the whole run: each publish
 * is due at start + (its log time − first log time) / rate, so timer lateness never adds up.
 */
export class Replayer extends EventEmitter {
  /** The VSOA server, once listen() has resolved. */
  server: Server | undefined;
  private readonly log: Logger;
  private readonly rate: number;
  private readonly startOffsetNs: bigint;
  private recording: Recording | undefined;
  private info: RecordingInfo | undefined;
  private stopped = false;
  private wake: (() => void) | undefined;
  private progressState: ReplayProgress = { published: 0, loops: 0, position: 0, lateMs: 0, clients: 0 };
  private runPromise: Promise<ReplaySummary> | undefined;

  constructor(private readonly options: ReplayOptions) {
    super();
    optionsObject(options);
    if (typeof options.file !== 'string' || options.file === '')
      throw new TypeError('options.file must be a path');
    const rate = options.rate ?? 1;
    if (typeof rate !== 'number' || !Number.isFinite(rate) || rate <= 0 || rate > 1000) {
      throw new RangeError('options.rate must be a number above 0 and at most 1000');
    }
    this.rate = rate;
    this.startOffsetNs = BigInt(integer(options.start, 'options.start', 0)) * 1_000_000n;
    integer(options.port, 'options.port', 3005, 0, 65535);
    this.log = options.logger ?? moduleLogger('replay');
  }

  progress(): ReplayProgress {
    return { ...this.progressState, clients: this.server?.count() ?? 0 };
  }

  /** Opens the file and listens; resolves the bound port. Then call run(). */
  async listen(): Promise<number> {
    this.recording = await openRecording(this.options.file);
    this.info = await recordingInfo(this.recording); // a file without index is read once here
    const info = this.options.info ?? recordedServerInfo(this.info) ?? 'vsoa replay';
    const server = new Server({ info, passwd: this.options.passwd ?? '' });
    this.server = server;
    await server.listen(this.options.port ?? 3005, this.options.host ?? '0.0.0.0', this.options.tls);
    return server.address()?.port ?? 0;
  }

  /** Replays (all loops); resolves when the recording ends or stop() is called. */
  run(): Promise<ReplaySummary> {
    this.runPromise ??= this.play();
    return this.runPromise;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, Math.min(ms, MAX_SLEEP_MS));
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private async play(): Promise<ReplaySummary> {
    const recording = this.recording;
    const server = this.server;
    const info = this.info;
    if (!recording || !server || !info) throw new Error('call listen() first');
    const first = (info.startTime ?? 0n) + this.startOffsetNs;
    let reason: ReplaySummary['reason'] = 'end';
    do {
      const wallStart = performance.now();
      let any = false;
      for await (const p of recording.publishes({ startTime: first, ...this.topicsOption() })) {
        if (this.stopped) break;
        any = true;
        const offsetMs = Number(p.logTime - first) / 1e6;
        const due = wallStart + offsetMs / this.rate;
        for (
          let wait = due - performance.now();
          wait > 0.5 && !this.stopped;
          wait = due - performance.now()
        ) {
          await this.sleep(wait);
        }
        if (this.stopped) break;
        const payload: { param?: Buffer; data?: Buffer } = {};
        if (p.param) payload.param = p.param;
        if (p.data) payload.data = p.data;
        try {
          server.publish(p.url, payload, p.quick);
        } catch (error) {
          this.log.warn({ err: error, url: p.url }, 'cannot re-publish');
        }
        this.progressState.published++;
        this.progressState.position = Number(p.logTime - (info.startTime ?? 0n)) / 1e6;
        this.progressState.lateMs = Math.max(0, performance.now() - due);
      }
      if (recording.damage) {
        reason = 'damaged';
        break;
      }
      if (this.stopped) {
        reason = 'stopped';
        break;
      }
      this.progressState.loops++;
      if (!any) break; // nothing to play (an empty selection): do not spin
    } while (this.options.loop === true);
    const summary: ReplaySummary = { ...this.progress(), reason };
    if (recording.damage) summary.damage = recording.damage.reason;
    return summary;
  }

  private topicsOption(): { topics?: readonly string[] } {
    return this.options.topics && this.options.topics.length > 0 ? { topics: this.options.topics } : {};
  }

  /** Stops replaying, closes the server and the file. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.runPromise?.catch(() => undefined);
    await this.server?.close();
    await this.recording?.close();
    this.recording = undefined;
  }
}

export function createReplayer(options: ReplayOptions): Replayer {
  return new Replayer(options);
}
