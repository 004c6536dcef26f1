import { isUtf8 } from 'node:buffer';
import { EventEmitter } from 'node:events';
import { statfs } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { Client, type ReceivedPayload } from '../index.js';
import { type Logger, moduleLogger } from '../util/log.js';
import { packageInfo } from '../util/package-info.js';
import { NsClock } from './clock.js';
import { chunkCompressor } from './codec.js';
import { RECORDING_METADATA, SERVER_METADATA } from './convention.js';
import { McapFile } from './mcap-file.js';
import { outputPath } from './output-path.js';
import {
  type RecorderOptions,
  type ResolvedRecorderOptions,
  resolveRecorderOptions,
} from './recorder-options.js';
import { publishTimeOf } from './schema.js';

export type StopReason = 'stopped' | 'duration' | 'disk-full' | 'error';

export interface RecorderStats {
  /** Publishes recorded. */
  messages: number;
  /** Param and data bytes recorded. */
  bytes: number;
  /** Publishes dropped because the disk could not keep up (bounded queue). */
  dropped: number;
  connected: boolean;
  connects: number;
  disconnects: number;
  /** Every file written or being written, in order. */
  files: string[];
}

export interface RecorderSummary extends RecorderStats {
  reason: StopReason;
  /** Why it stopped, for 'disk-full' and 'error'. */
  detail?: string;
}

type Entry =
  | {
      kind: 'publish';
      url: string;
      quick: boolean;
      param?: Buffer;
      data?: Buffer;
      time: bigint;
      size: number;
    }
  | { kind: 'event'; event: Record<string, unknown>; time: bigint; size: number };

const EMPTY = new Uint8Array(0);
/** Queue bookkeeping per entry on top of its bytes, so that tiny messages are bounded too. */
const ENTRY_OVERHEAD = 128;

/**
 * Records publishes from a VSOA server into MCAP files (see convention.ts for the mapping).
 * The connection is a robot (reconnects, replays subscriptions); the gaps are recorded as
 * events. Publishes wait in a bounded queue for the single writer; files rotate by size or time;
 * free space is watched. Events: 'file' (path), 'connect' (info), 'disconnect', 'stop' (summary).
 */
export class Recorder extends EventEmitter {
  private readonly o: ResolvedRecorderOptions;
  private readonly log: Logger;
  private readonly library: string;
  private readonly clock = new NsClock();
  private readonly client = new Client({ raw: true });
  private readonly queue: (Entry | undefined)[] = [];
  private head = 0;
  private queuedBytes = 0;
  private pumping: Promise<void> | undefined;
  private file: McapFile | undefined;
  private fileOpenedAt = 0;
  private sequence = 0;
  private serverInfo: { server: string; info: unknown } | undefined;
  private droppedSinceEvent = 0;
  private timers: NodeJS.Timeout[] = [];
  private started = false;
  private stopping = false;
  private readonly counters = { messages: 0, bytes: 0, dropped: 0, connects: 0, disconnects: 0 };
  private readonly files: string[] = [];
  private resolveDone!: (summary: RecorderSummary) => void;
  /** Resolves once the recorder has stopped and its last file is complete. */
  readonly done = new Promise<RecorderSummary>((resolve) => {
    this.resolveDone = resolve;
  });

  constructor(options: RecorderOptions) {
    super();
    this.o = resolveRecorderOptions(options);
    this.log = options.logger ?? moduleLogger('record');
    const { name, version } = packageInfo();
    this.library = options.library ?? `${name} ${version}`;
  }

  stats(): RecorderStats {
    return { ...this.counters, connected: this.client.connected, files: [...this.files] };
  }

  /** For watchdogs: true while connected or reconnecting on schedule, and writing; otherwise why not. */
  health(): true | string {
    if (this.stopping) return 'recorder stopping';
    return this.client.robotHealth();
  }

  /** Opens the first file and starts connecting; rejects if the file cannot be created. */
  async start(): Promise<void> {
    if (this.started) throw new Error('recorder already started');
    this.started = true;
    const free = await this.freeBytes();
    if (free !== undefined && free < this.o.minFreeBytes) {
      throw new Error(
        `only ${mib(free)} free on ${dirname(this.o.output)}, below the minimum ${mib(this.o.minFreeBytes)}`,
      );
    }
    await this.openFile(0);
    this.client.onmessage = (_c, url, payload, quick) => this.onPublish(url, payload, quick);
    this.client.onconnect = (_c, connected, info) => this.onConnect(connected, info);
    this.client.subscribe(this.o.subscribe);
    this.client.robot(this.o.servers, this.o.robot);
    const startedAt = Date.now();
    if (this.o.duration > 0) {
      this.every(Math.min(this.o.duration, 1000), () => {
        if (Date.now() - startedAt >= this.o.duration) void this.stop('duration');
      });
    }
    if (this.o.minFreeBytes > 0) this.every(this.o.diskCheckInterval, () => void this.checkDisk());
    if (this.o.splitTime > 0) this.every(1000, () => this.maybeRotate());
  }

  private every(ms: number, fn: () => void): void {
    const timer = setInterval(fn, ms);
    timer.unref();
    this.timers.push(timer);
  }

  private async freeBytes(): Promise<number | undefined> {
    try {
      const s = await statfs(dirname(this.o.output));
      return s.bavail * s.bsize;
    } catch {
      return undefined; // the directory may not exist yet: creating the file will say so
    }
  }

  private async checkDisk(): Promise<void> {
    const free = await this.freeBytes();
    if (free === undefined || free >= this.o.minFreeBytes || this.stopping) return;
    const detail = `free disk space ${mib(free)} below the minimum ${mib(this.o.minFreeBytes)} on ${dirname(this.o.output)}`;
    this.log.error({ free, minFree: this.o.minFreeBytes }, `${detail}: stopping`);
    await this.stop('disk-full', detail);
  }

  private async openFile(index: number): Promise<void> {
    const splitting = this.o.splitSize > 0 || this.o.splitTime > 0;
    const path = outputPath(this.o.output, index, splitting, new Date());
    const file = await McapFile.create(path, {
      compressChunk: await chunkCompressor(this.o.compression, this.o.zstdLevel),
      chunkSize: this.o.chunkSize,
      library: this.library,
      exclusive: !this.o.overwrite,
    });
    await file.addMetadata(RECORDING_METADATA, {
      host: hostname(),
      software: this.library,
      servers: JSON.stringify(this.o.servers),
      subscriptions: JSON.stringify(this.o.subscribe),
      startedAt: new Date().toISOString(),
      file: String(index),
      compression: this.o.compression,
      quickOnly: String(this.o.quickOnly),
      publishTimeField: this.o.publishTimeField,
    });
    if (this.serverInfo) await this.writeServerInfo(file);
    this.file = file;
    this.fileOpenedAt = Date.now();
    this.files.push(path);
    this.log.info({ path }, 'recording to a new file');
    this.emit('file', path);
  }

  private writeServerInfo(file: McapFile): Promise<void> {
    const s = this.serverInfo;
    if (!s) return Promise.resolve();
    return file.addMetadata(SERVER_METADATA, {
      server: s.server,
      info: JSON.stringify(s.info ?? null),
      at: new Date().toISOString(),
    });
  }

  private onConnect(connected: boolean, info: unknown): void {
    if (this.stopping) return; // our own close(): the 'stopped' event says it
    const server = this.client.robotStats()?.server ?? '';
    if (connected) {
      this.counters.connects++;
      this.serverInfo = { server, info };
      this.push({
        kind: 'event',
        event: { event: 'connected', server, info },
        time: this.clock.now(),
        size: 0,
      });
      this.emit('connect', info);
    } else {
      this.counters.disconnects++;
      this.push({ kind: 'event', event: { event: 'disconnected', server }, time: this.clock.now(), size: 0 });
      this.emit('disconnect');
    }
  }

  private onPublish(url: string, payload: ReceivedPayload, quick: boolean): void {
    if (this.stopping || (this.o.quickOnly && !quick)) return;
    const param = Buffer.isBuffer(payload.param) ? payload.param : undefined;
    const data = payload.data;
    const size = (param?.length ?? 0) + (data?.length ?? 0);
    if (this.queuedBytes + size + ENTRY_OVERHEAD > this.o.maxQueueBytes) {
      this.counters.dropped++;
      if (this.droppedSinceEvent++ === 0) this.log.warn('the disk does not keep up: dropping publishes');
      return;
    }
    this.flushDropped();
    const time = this.clock.now();
    const entry: Entry = { kind: 'publish', url, quick, time, size };
    if (param) entry.param = param;
    if (data) entry.data = data;
    this.push(entry);
  }

  /** The drops since the last accepted publish, as one event. */
  private flushDropped(): void {
    if (this.droppedSinceEvent === 0) return;
    const dropped = this.droppedSinceEvent;
    this.droppedSinceEvent = 0;
    this.push({ kind: 'event', event: { event: 'dropped', dropped }, time: this.clock.now(), size: 0 });
  }

  private push(entry: Entry): void {
    this.queue.push(entry);
    this.queuedBytes += entry.size + ENTRY_OVERHEAD;
    this.kick();
  }

  /** Runs the writer unless it runs already (and again if entries came while it was finishing). */
  private kick(): void {
    this.pumping ??= this.pump().finally(() => {
      this.pumping = undefined;
      if (this.head < this.queue.length && this.file) this.kick();
    });
  }

  /** The single writer: takes entries in order and awaits each write (McapWriter's rule). */
  private async pump(): Promise<void> {
    try {
      if (this.needsRotation()) await this.rotate();
      while (this.head < this.queue.length) {
        const entry = this.queue[this.head] as Entry;
        this.queue[this.head++] = undefined;
        if (this.head > 4096 && this.head * 2 > this.queue.length) {
          this.queue.splice(0, this.head);
          this.head = 0;
        }
        this.queuedBytes -= entry.size + ENTRY_OVERHEAD;
        await this.write(entry);
        if (this.needsRotation()) await this.rotate();
      }
    } catch (error) {
      const detail = `cannot write ${this.file?.path}: ${(error as Error).message}`;
      this.log.error({ err: error }, detail);
      this.queue.length = 0;
      this.head = 0;
      this.queuedBytes = 0;
      await this.file?.abandon();
      this.file = undefined;
      void this.stop('error', detail);
    }
  }

  private async write(entry: Entry): Promise<void> {
    const file = this.file;
    if (!file) return;
    if (entry.kind === 'event') {
      await file.addEvent(entry.event, entry.time);
      if (entry.event.event === 'connected') await this.writeServerInfo(file);
      return;
    }
    const seq = this.sequence;
    this.sequence = (this.sequence + 1) >>> 0;
    const { url, quick, param, data, time } = entry;
    let value: unknown;
    let json = false;
    if (param && isUtf8(param)) {
      try {
        value = JSON.parse(param.toString('utf8'));
        json = true;
      } catch {
        // not JSON: recorded as bytes on url#param
      }
    }
    const publishTime = (json && publishTimeOf(value, this.o.publishTimeField)) || time;
    if (param)
      await file.addPart(url, json ? 'param' : 'param-raw', quick, param, time, publishTime, seq, value);
    if (data || !param) await file.addPart(url, 'data', quick, data ?? EMPTY, time, publishTime, seq);
    this.counters.messages++;
    this.counters.bytes += entry.size;
  }

  private needsRotation(): boolean {
    if (!this.file || this.stopping) return false;
    if (this.o.splitSize > 0 && this.file.size >= this.o.splitSize) return true;
    return this.o.splitTime > 0 && Date.now() - this.fileOpenedAt >= this.o.splitTime;
  }

  /** Rotation by time while nothing arrives: through the writer, never beside a write. */
  private maybeRotate(): void {
    if (this.needsRotation()) this.kick();
  }

  private async rotate(): Promise<void> {
    const old = this.file as McapFile;
    this.file = undefined;
    await old.close();
    this.log.info({ path: old.path }, 'file complete');
    await this.openFile(this.files.length);
  }

  /**
   * Stops: closes the connection, writes what is queued, completes the file (summary and
   * index). Resolves the summary (also `done`); calling it again returns the same.
   */
  async stop(reason: StopReason = 'stopped', detail?: string): Promise<RecorderSummary> {
    if (this.stopping) return this.done;
    this.stopping = true;
    for (const timer of this.timers) clearInterval(timer);
    this.client.close();
    this.flushDropped();
    let failure = detail;
    try {
      while (this.pumping) await this.pumping;
      if (this.file) {
        await this.file.addEvent({ event: 'stopped', reason }, this.clock.now());
        await this.file.close();
        this.log.info({ path: this.file.path }, 'file complete');
      }
    } catch (error) {
      failure = `cannot complete ${this.file?.path}: ${(error as Error).message}`;
      await this.file?.abandon();
    }
    this.file = undefined;
    const summary: RecorderSummary = {
      ...this.stats(),
      connected: false,
      reason: failure && reason !== 'disk-full' ? 'error' : reason,
    };
    if (failure) summary.detail = failure;
    this.emit('stop', summary);
    this.resolveDone(summary);
    return summary;
  }
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
}

/** A recorder (not started: call start()). */
export function createRecorder(options: RecorderOptions): Recorder {
  return new Recorder(options);
}
