import { type Command, InvalidArgumentError, Option } from 'commander';
import { isValidUrl } from '../../protocol/url.js';
import type { RecorderOptions } from '../../record/index.js';
import { parseDuration, parseSize } from '../../record/units.js';
import { Watchdog } from '../../systemd/watchdog.js';
import { getLogger } from '../../util/log.js';
import { intArg, serverUrlArg } from '../args.js';
import {
  assignDefined,
  ROBOT_SERVER_CONFIG_KEYS,
  type RobotServerConfig,
  readConfigObject,
} from '../config-file.js';
import { untilSignal } from '../connect.js';
import {
  addConnectOptions,
  type ConnectCliOptions,
  connectOptionsFrom,
  passwdFromFile,
  tlsFromConfig,
} from '../connect-options.js';
import { UsageError } from '../errors.js';
import { versionLine } from '../version.js';

/** The record config file (`/etc/vsoa/record-NAME.json`); command-line options override it. */
interface RecordConfig extends RobotServerConfig {
  subscribe?: string[];
  output?: string;
  compression?: 'zstd' | 'lz4' | 'none';
  splitSize?: string | number;
  splitTime?: string | number;
  duration?: string | number;
  chunkSize?: string | number;
  minFree?: string | number;
  maxQueue?: string | number;
  quick?: boolean;
  publishTimeField?: string;
  overwrite?: boolean;
}

const CONFIG_KEYS = new Set([
  ...ROBOT_SERVER_CONFIG_KEYS,
  'subscribe',
  'output',
  'compression',
  'splitSize',
  'splitTime',
  'duration',
  'chunkSize',
  'minFree',
  'maxQueue',
  'quick',
  'publishTimeField',
  'overwrite',
]);

interface RecordCliOptions extends ConnectCliOptions {
  config?: string;
  sub?: string[];
  output?: string;
  splitSize?: number;
  splitTime?: number;
  compression?: 'zstd' | 'lz4' | 'none';
  quick?: boolean;
  duration?: number;
  chunkSize?: number;
  minFree?: number;
  maxQueue?: number;
  publishTimeField?: string;
  overwrite?: boolean;
  keepalive?: number;
  reconnDelay?: number;
}

function sizeArg(name: string): (v: string) => number {
  return (v) => {
    try {
      return parseSize(v);
    } catch (error) {
      throw new InvalidArgumentError(`${name}: ${(error as Error).message}`);
    }
  };
}

function durationArg(name: string): (v: string) => number {
  return (v) => {
    try {
      return parseDuration(v);
    } catch (error) {
      throw new InvalidArgumentError(`${name}: ${(error as Error).message}`);
    }
  };
}

function topicArg(value: string, previous: string[] = []): string[] {
  if (!isValidUrl(value)) throw new InvalidArgumentError(`topic ${value} must start with '/'`);
  return [...previous, value];
}

function readConfig(path: string): RecordConfig {
  return readConfigObject(path, 'record', CONFIG_KEYS) as RecordConfig;
}

/** A config value that is a size or duration: a number (bytes, ms) or text such as "512M", "10m". */
function configUnit(
  value: unknown,
  key: string,
  path: string,
  parse: (t: string) => number,
): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return value;
  if (typeof value === 'string') {
    try {
      return parse(value);
    } catch (error) {
      throw new UsageError(`record config ${path}: "${key}": ${(error as Error).message}`);
    }
  }
  throw new UsageError(`record config ${path}: "${key}" must be a number or text such as "512M" / "10m"`);
}

/** Merges the config file and the flags (flags win) into the recorder's options. */
function recorderOptions(urls: string[], opts: RecordCliOptions): RecorderOptions {
  const path = opts.config ?? '';
  const c = opts.config ? readConfig(opts.config) : {};
  const servers = urls.length > 0 ? urls : typeof c.server === 'string' ? [c.server] : (c.server ?? []);
  if (servers.length === 0)
    throw new UsageError('give a server url, or a --config with "server"; see \'vsoa record --help\'');
  for (const s of servers) {
    try {
      serverUrlArg(s);
    } catch (error) {
      throw new UsageError(`${s}: ${(error as Error).message}`);
    }
  }
  const subscribe = [...(c.subscribe ?? []), ...(opts.sub ?? [])];
  if (subscribe.length === 0)
    throw new UsageError('give the urls to record with --sub URL (--sub / records everything)');
  for (const t of subscribe) if (!isValidUrl(t)) throw new UsageError(`topic ${t} must start with '/'`);
  const output = opts.output ?? c.output;
  if (!output) throw new UsageError('give the output file with -o FILE (or "output" in the config)');
  const connect = connectOptionsFrom(opts);
  const passwd =
    connect.passwd || (c.passwdFile ? passwdFromFile(c.passwdFile, `${path}: passwdFile`) : (c.passwd ?? ''));
  const tls = connect.tls ?? tlsFromConfig(c.tls, `record config ${path}`);
  const splitSize = opts.splitSize ?? configUnit(c.splitSize, 'splitSize', path, parseSize);
  const splitTime = opts.splitTime ?? configUnit(c.splitTime, 'splitTime', path, parseDuration);
  const options: RecorderOptions = {
    server: servers,
    subscribe,
    output,
    compression: opts.compression ?? c.compression ?? 'zstd',
    quickOnly: opts.quick ?? c.quick ?? false,
    overwrite: opts.overwrite ?? c.overwrite ?? false,
    library: versionLine(),
    robot: {
      passwd,
      connTimeout: c.connTimeout ?? connect.timeout,
      keepalive: opts.keepalive ?? c.keepalive ?? 3000,
      reconnDelay: opts.reconnDelay ?? c.reconnDelay ?? 1000,
      ...(c.maxReconnDelay !== undefined ? { maxReconnDelay: c.maxReconnDelay } : {}),
      ...(tls ? { tls } : {}),
    },
  };
  assignDefined(options, {
    splitSize,
    splitTime,
    duration: opts.duration ?? configUnit(c.duration, 'duration', path, parseDuration),
    chunkSize: opts.chunkSize ?? configUnit(c.chunkSize, 'chunkSize', path, parseSize),
    minFreeBytes: opts.minFree ?? configUnit(c.minFree, 'minFree', path, parseSize),
    maxQueueBytes: opts.maxQueue ?? configUnit(c.maxQueue, 'maxQueue', path, parseSize),
    publishTimeField: opts.publishTimeField ?? c.publishTimeField,
  });
  return options;
}

export function register(program: Command): void {
  const command = program
    .command('record')
    .description(
      'record publishes into an MCAP file (opens in Foxglove / Lichtblick); reconnects, rotates files',
    )
    .argument('[url...]', 'vsoa://host:port or vsoa://name; several for failover')
    .option('--config <file>', 'record config JSON (/etc/vsoa/record-NAME.json); flags override it')
    .option(
      '--sub <url>',
      'url to record (repeatable; a url ending in / takes everything below it)',
      topicArg,
    )
    .option('-o, --output <file>', 'output .mcap file; {n} = split index, {time} = UTC start time')
    .option('--split-size <size>', 'start a new file at this size (512M, 2G)', sizeArg('--split-size'))
    .option(
      '--split-time <duration>',
      'start a new file after this long (10m, 1h)',
      durationArg('--split-time'),
    )
    .addOption(
      new Option('--compression <codec>', 'chunk compression (default zstd)').choices([
        'zstd',
        'lz4',
        'none',
      ]),
    )
    .option('--quick', 'record quick (UDP) publishes only')
    .option('--duration <duration>', 'stop after this long (30s, 1h)', durationArg('--duration'))
    .option(
      '--chunk-size <size>',
      'chunk size (default 1M): a crash loses at most the open chunk',
      sizeArg('--chunk-size'),
    )
    .option(
      '--min-free <size>',
      'stop cleanly below this much free disk space (default 256M; 0: off)',
      sizeArg('--min-free'),
    )
    .option(
      '--max-queue <size>',
      'publishes waiting for the disk, at most (default 64M; beyond: dropped, counted)',
      sizeArg('--max-queue'),
    )
    .option(
      '--publish-time-field <name>',
      "param field holding the publish time, ms or ISO date (default 'timestamp'; '' none)",
    )
    .option('--overwrite', 'replace existing files (default: refuse)')
    .option(
      '--keepalive <ms>',
      'ping interval and timeout (default 3000)',
      intArg('--keepalive', 50, 3_600_000),
    )
    .option(
      '--reconn-delay <ms>',
      'wait before reconnecting (default 1000)',
      intArg('--reconn-delay', 0, 3_600_000),
    );
  addConnectOptions(command, { timeoutHelp: 'connect and handshake timeout (ms)' });
  command.action(async (urls: string[], opts: RecordCliOptions) => {
    const options = recorderOptions(urls, opts);
    const log = getLogger();
    options.logger = log;
    const { createRecorder } = await import('../../record/index.js');
    let recorder: ReturnType<typeof createRecorder>;
    try {
      recorder = createRecorder(options);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    recorder.on('connect', (info: unknown) => log.info({ info }, 'connected: recording'));
    recorder.on('disconnect', () => log.warn('disconnected: the gap is recorded, reconnecting'));
    // Handlers before start: a SIGTERM right after READY=1 must complete the file, not kill.
    const signalled = untilSignal();
    try {
      await recorder.start();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') {
        throw new UsageError(
          `${(error as { path?: string }).path ?? options.output} exists: give another -o, put {time} or {n} in the name, or --overwrite`,
        );
      }
      if (code === 'ENOENT' || code === 'EACCES' || code === 'ENOTDIR') {
        throw new UsageError(
          `cannot create ${(error as { path?: string }).path ?? options.output}: ${code} (does the directory exist, and is it writable?)`,
        );
      }
      throw error;
    }
    const watchdog = new Watchdog();
    watchdog.addCheck('record', () => recorder.health());
    watchdog.start();
    watchdog.ready();
    const report = (): void => {
      const s = recorder.stats();
      watchdog.status(
        `${s.connected ? 'recording' : 'reconnecting'}: ${s.messages} publishes, ${s.dropped} dropped, ${s.files.at(-1)}`,
      );
    };
    report();
    recorder.on('connect', report);
    recorder.on('disconnect', report);
    const status = setInterval(report, 5000);
    status.unref();
    const outcome = await Promise.race([signalled, recorder.done]);
    clearInterval(status);
    watchdog.stopping();
    const summary = await recorder.stop();
    watchdog.stop();
    if (typeof outcome === 'string') log.info({ signal: outcome }, 'stopping');
    process.stdout.write(
      `${JSON.stringify({ reason: summary.reason, publishes: summary.messages, dropped: summary.dropped, files: summary.files })}\n`,
    );
    if (summary.reason === 'error' || summary.reason === 'disk-full') {
      throw new Error(`stopped: ${summary.detail ?? summary.reason}`);
    }
  });
}
