import { isUtf8 } from 'node:buffer';
import { type Command, InvalidArgumentError } from 'commander';
import type { ReceivedPayload } from '../../index.js';
import { isValidUrl } from '../../protocol/url.js';
import { formatBytes, parseDuration } from '../../record/units.js';
import { serverUrlArg, type Target } from '../args.js';
import { connectOrExplain, untilSignal } from '../connect.js';
import { addConnectOptions, type ConnectCliOptions, connectOptionsFrom } from '../connect-options.js';

interface StatCliOptions extends ConnectCliOptions {
  sub?: string[];
  json?: boolean;
  once?: number;
  width: number;
}

/** What `vsoa stat` keeps per url: counters since start and at the last tick. */
interface UrlStats {
  url: string;
  count: number;
  bytes: number;
  min: number;
  max: number;
  last: string;
  lastAt: number;
  tickCount: number;
  tickBytes: number;
  hz: number;
  bps: number;
}

export interface StatRow {
  url: string;
  count: number;
  hz: number;
  bytesPerSec: number;
  min: number;
  avg: number;
  max: number;
  ageMs: number;
  last: string;
}

/** Bounded: a bus with very many urls keeps the busiest this many (others are counted in `others`). */
const MAX_URLS = 10_000;

function topicArg(value: string, previous: string[] = []): string[] {
  if (!isValidUrl(value)) throw new InvalidArgumentError(`topic ${value} must start with '/'`);
  return [...previous, value];
}

function onceArg(value: string): number {
  try {
    const ms = parseDuration(value);
    if (ms <= 0 || ms > 86_400_000) throw new RangeError('--once must be above 0 and at most 1 day');
    return ms;
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

function text(payload: ReceivedPayload, width: number): string {
  const p = payload.param;
  let s = '';
  if (Buffer.isBuffer(p))
    s = isUtf8(p)
      ? p.toString('utf8', 0, Math.min(p.length, width * 4))
      : `0x${p.subarray(0, width).toString('hex')}`;
  if (payload.data) s += `${s ? ' ' : ''}+${payload.data.length} B data`;
  s = s.replace(/\s+/g, ' ');
  return s.length > width ? `${s.slice(0, width - 1)}…` : s;
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

function rows(stats: Map<string, UrlStats>, now: number, windowMs: number | undefined): StatRow[] {
  return [...stats.values()]
    .sort((a, b) => (a.url < b.url ? -1 : 1))
    .map((s) => ({
      url: s.url,
      count: s.count,
      hz: round2(windowMs ? (s.count * 1000) / windowMs : s.hz),
      bytesPerSec: Math.round(windowMs ? (s.bytes * 1000) / windowMs : s.bps),
      min: s.min,
      avg: s.count ? Math.round(s.bytes / s.count) : 0,
      max: s.max,
      ageMs: Math.round(now - s.lastAt),
      last: s.last,
    }));
}

function table(list: StatRow[]): string {
  const head = ['URL', 'MSG/s', 'BYTES/s', 'MIN', 'AVG', 'MAX', 'COUNT', 'AGE', 'LAST'];
  const body = list.map((r) => [
    r.url,
    r.hz.toFixed(1),
    formatBytes(Math.round(r.bytesPerSec)),
    String(r.min),
    String(r.avg),
    String(r.max),
    String(r.count),
    r.ageMs < 1000 ? `${r.ageMs}ms` : `${(r.ageMs / 1000).toFixed(1)}s`,
    r.last,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) =>
        i === 0 || i === cells.length - 1 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0),
      )
      .join('  ')
      .trimEnd();
  return `${[head, ...body].map(line).join('\n')}\n${list.length === 0 ? '(no messages yet)\n' : ''}`;
}

export function register(program: Command): void {
  const command = program
    .command('stat')
    .description('live table of what a server publishes: per url msgs/s, bytes/s, sizes, last value, age')
    .argument('<url>', 'vsoa://host:port (a path subscribes to it: vsoa://host:port/car/)', serverUrlArg)
    .option('--sub <url>', 'subscribe to this url (repeatable; default: the url path, or /)', topicArg)
    .option('--json', 'one JSON line a second instead of the table')
    .option(
      '--once <duration>',
      'print one snapshot after this long (5s) and exit; rates over the whole time',
      onceArg,
    )
    .option('--width <n>', 'width of the LAST column', (v) => Math.max(8, Number.parseInt(v, 10) || 40), 40);
  addConnectOptions(command);
  command.action(async (target: Target, opts: StatCliOptions) => {
    const topics = opts.sub ?? [target.path || '/'];
    const client = await connectOrExplain(target, { ...connectOptionsFrom(opts), raw: true });
    const stats = new Map<string, UrlStats>();
    let others = 0;
    client.onmessage = (_c, url, payload) => {
      const size = (Buffer.isBuffer(payload.param) ? payload.param.length : 0) + (payload.data?.length ?? 0);
      let s = stats.get(url);
      if (!s) {
        if (stats.size >= MAX_URLS) {
          others++;
          return;
        }
        s = {
          url,
          count: 0,
          bytes: 0,
          min: size,
          max: size,
          last: '',
          lastAt: 0,
          tickCount: 0,
          tickBytes: 0,
          hz: 0,
          bps: 0,
        };
        stats.set(url, s);
      }
      s.count++;
      s.bytes += size;
      if (size < s.min) s.min = size;
      if (size > s.max) s.max = size;
      s.last = text(payload, opts.width);
      s.lastAt = performance.now();
    };
    const lost = new Promise<string>((resolve) => {
      client.onconnect = (_c, connected) => {
        if (!connected) resolve('connection lost');
      };
    });
    const subscribed = await new Promise<boolean>((resolve) => {
      if (!client.subscribe(topics, (_c, ok) => resolve(ok), 10_000)) resolve(false);
    });
    if (!subscribed) {
      client.close();
      throw new Error(`the server refused the subscription to ${topics.join(' ')}`);
    }
    const started = performance.now();
    const print = (list: StatRow[]): void => {
      if (opts.json) {
        process.stdout.write(
          `${JSON.stringify({ time: new Date().toISOString(), topics: list, ...(others ? { others } : {}) })}\n`,
        );
      } else {
        const clear = process.stdout.isTTY && opts.once === undefined ? '\x1b[H\x1b[2J' : '';
        process.stdout.write(
          `${clear}${table(list)}${process.stdout.isTTY || opts.once !== undefined ? '' : '\n'}`,
        );
      }
    };
    if (opts.once !== undefined) {
      const ms = opts.once;
      const outcome = await Promise.race([
        new Promise<'done'>((r) => setTimeout(() => r('done'), ms)),
        lost,
        untilSignal(),
      ]);
      client.close();
      if (outcome === 'connection lost') throw new Error('connection lost');
      print(rows(stats, performance.now(), performance.now() - started));
      return;
    }
    let lastTick = started;
    const tick = setInterval(() => {
      const now = performance.now();
      const dt = (now - lastTick) / 1000;
      lastTick = now;
      for (const s of stats.values()) {
        s.hz = (s.count - s.tickCount) / dt;
        s.bps = (s.bytes - s.tickBytes) / dt;
        s.tickCount = s.count;
        s.tickBytes = s.bytes;
      }
      print(rows(stats, now, undefined));
    }, 1000);
    const outcome = await Promise.race([lost, untilSignal()]);
    clearInterval(tick);
    client.close();
    if (outcome === 'connection lost') throw new Error('connection lost');
  });
}
