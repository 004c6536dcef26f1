import { type Command, InvalidArgumentError } from 'commander';
import type { RecordingInfo } from '../../record/index.js';
import { formatBytes, formatDuration, parseDuration } from '../../record/units.js';
import { getLogger } from '../../util/log.js';
import { intArg } from '../args.js';
import { untilSignal } from '../connect.js';
import { addConnectOptions, type ConnectCliOptions, listenOptionsFrom } from '../connect-options.js';
import { UsageError } from '../errors.js';

interface ReplayCliOptions extends ConnectCliOptions {
  port: number;
  host: string;
  rate: number;
  loop?: boolean;
  start?: number;
  topics?: string[];
  json?: boolean;
  info?: boolean;
}

function rateArg(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 1000)
    throw new InvalidArgumentError('--rate must be a number above 0, at most 1000');
  return n;
}

function startArg(value: string): number {
  try {
    return parseDuration(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

function iso(ns: bigint | undefined): string {
  return ns === undefined ? '-' : new Date(Number(ns / 1_000_000n)).toISOString();
}

function spanMs(info: RecordingInfo): number {
  return info.startTime !== undefined && info.endTime !== undefined
    ? Number(info.endTime - info.startTime) / 1e6
    : 0;
}

/** `vsoa replay --info`: what a person wants to know about a recording. */
function infoText(info: RecordingInfo): string {
  const lines: string[] = [];
  lines.push(`file:         ${info.path} (${formatBytes(info.bytes)}, read by ${info.readBy})`);
  if (info.damage) {
    lines.push(`DAMAGED:      ${info.damage.reason}`);
    lines.push(
      `              readable: the first ${formatBytes(info.damage.readableBytes)}; counts below are what could be read, replay plays up to there`,
    );
  }
  if (info.library) lines.push(`written by:   ${info.library}`);
  const rec = info.metadata.find((m) => m.name === 'vsoa.recording')?.values;
  if (rec) lines.push(`recorded on:  ${rec.host} from ${rec.servers}, subscriptions ${rec.subscriptions}`);
  const server = info.metadata.filter((m) => m.name === 'vsoa.server').at(-1)?.values;
  if (server) lines.push(`server info:  ${server.info}`);
  lines.push(
    `time:         ${iso(info.startTime)} .. ${iso(info.endTime)} (${formatDuration(spanMs(info))})`,
  );
  lines.push(`messages:     ${info.messages}`);
  if (info.compression.length > 0) lines.push(`compression:  ${info.compression.join(', ')}`);
  const rows = info.channels.map((c) => [
    c.topic,
    c.part ?? c.messageEncoding,
    c.quick ? 'quick' : '',
    String(c.messages),
    c.rate.toFixed(2),
  ]);
  const head = ['TOPIC', 'PART', 'QUICK', 'MESSAGES', 'RATE/s'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (r: string[]): string =>
    r.map((v, i) => (i >= 3 ? v.padStart(widths[i] ?? 0) : v.padEnd(widths[i] ?? 0))).join('  ');
  lines.push('channels:');
  for (const r of [head, ...rows]) lines.push(`  ${fmt(r).trimEnd()}`);
  return `${lines.join('\n')}\n`;
}

function infoJson(info: RecordingInfo): string {
  return `${JSON.stringify(info, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))}\n`;
}

export function register(program: Command): void {
  const command = program
    .command('replay')
    .description(
      'serve an MCAP recording as a VSOA server, re-publishing with the recorded timing (or --info)',
    )
    .argument('<file>', 'the .mcap file')
    .option('--info', 'print channels, counts, time range and rates, and exit')
    .option('--port <port>', 'TCP and UDP port to serve on (0: any free)', intArg('--port', 0, 65535), 3005)
    .option('--host <addr>', 'address to listen on', '0.0.0.0')
    .option('--rate <factor>', 'speed: 2 plays twice as fast, 0.5 half', rateArg, 1)
    .option('--loop', 'start over at the end, until interrupted')
    .option('--start <offset>', 'skip this much of the start of the recording (30s, 2m)', startArg)
    .option('--topics <url...>', 'replay these urls only (a url ending in / takes everything below it)')
    .option('--json', 'JSON lines: the listening port first, then progress once a second, then the summary');
  addConnectOptions(command, { side: 'server', timeout: false });
  command.action(async (file: string, opts: ReplayCliOptions) => {
    const record = await import('../../record/index.js');
    for (const t of opts.topics ?? [])
      if (!t.startsWith('/')) throw new UsageError(`topic ${t} must start with '/'`);
    if (opts.info) {
      let recording: Awaited<ReturnType<typeof record.openRecording>>;
      try {
        recording = await record.openRecording(file);
      } catch (error) {
        if (error instanceof record.RecordingError) throw new UsageError(error.message);
        throw error;
      }
      try {
        const info = await record.recordingInfo(recording);
        process.stdout.write(opts.json ? infoJson(info) : infoText(info));
        if (info.damage)
          getLogger().warn({ damage: info.damage.reason }, `${file} is damaged; shown up to the damage`);
      } finally {
        await recording.close();
      }
      return;
    }
    const log = getLogger();
    const listen = listenOptionsFrom(opts);
    const replayer = record.createReplayer({
      file,
      port: opts.port,
      host: opts.host,
      rate: opts.rate,
      loop: opts.loop === true,
      ...(opts.start !== undefined ? { start: opts.start } : {}),
      ...(opts.topics ? { topics: opts.topics } : {}),
      passwd: listen.passwd,
      ...(listen.tls ? { tls: listen.tls } : {}),
      logger: log,
    });
    const signalled = untilSignal(); // before the listening line: a SIGTERM right after it stops cleanly
    let port: number;
    try {
      port = await replayer.listen();
    } catch (error) {
      await replayer.stop();
      if (error instanceof record.RecordingError) throw new UsageError(error.message);
      throw error;
    }
    const out = (o: unknown): boolean => process.stdout.write(`${JSON.stringify(o)}\n`);
    if (opts.json) out({ listening: port, host: opts.host, file, rate: opts.rate });
    else process.stdout.write(`replaying ${file} on vsoa://${opts.host}:${port} at rate ${opts.rate}\n`);
    const progress = opts.json ? setInterval(() => out({ progress: replayer.progress() }), 1000) : undefined;
    const outcome = await Promise.race([signalled, replayer.run()]);
    if (progress) clearInterval(progress);
    const summary =
      typeof outcome === 'string' ? { ...replayer.progress(), reason: 'stopped' as const } : outcome;
    await replayer.stop();
    if (opts.json) out({ done: summary });
    else process.stdout.write(`${summary.reason}: ${summary.published} publishes, ${summary.loops} loops\n`);
    if (summary.reason === 'damaged') {
      if (summary.published === 0)
        throw new Error(
          `${file} is damaged, nothing could be replayed: ${'damage' in summary ? summary.damage : ''}`,
        );
      log.warn(
        { damage: 'damage' in summary ? summary.damage : undefined },
        `${file} is damaged: replayed up to the damage`,
      );
    }
  });
}
