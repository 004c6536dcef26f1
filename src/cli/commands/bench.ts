import { type Command, InvalidArgumentError, Option } from 'commander';
import type { Client } from '../../client/client.js';
import { getLogger } from '../../util/log.js';
import type { Target } from '../args.js';
import { intArg, serverUrlArg } from '../args.js';
import { createBenchServer } from '../bench/bench-server.js';
import { BusyLoops } from '../bench/contend.js';
import { Progress } from '../bench/progress.js';
import { MAX_RATE } from '../bench/quick.js';
import { formatReport } from '../bench/report.js';
import { type BenchSettings, runBench, type Scenario } from '../bench/scenarios.js';
import { MAX_QUICK_SIZE, MAX_RPC_SIZE } from '../bench/wire.js';
import { connectOrExplain, untilSignal } from '../connect.js';
import { UsageError } from '../errors.js';
import { hostPort } from '../format.js';
import { cliLogger } from '../logging.js';

interface BenchOpts {
  scenario: Scenario;
  size?: number;
  sizes?: number[];
  duration?: number;
  count?: number;
  inflight: number;
  rate?: number;
  passwd?: string;
  json?: boolean;
}

const DEFAULT_SIZES = [0, 1024, 65536, MAX_RPC_SIZE];
const DEFAULT_DURATION_S = 2;

/** commander parser: `0,1024,65536`. */
function sizesArg(value: string): number[] {
  const parse = intArg('each size in --sizes', 0, MAX_RPC_SIZE);
  const sizes = value.split(',').map((part) => {
    if (part.trim() === '')
      throw new InvalidArgumentError('--sizes must be sizes in bytes separated by commas');
    return parse(part.trim());
  });
  return [...new Set(sizes)];
}

/** commander parser: seconds, fractions allowed. */
function secondsArg(value: string): number {
  const s = Number(value);
  if (!Number.isFinite(s) || s <= 0 || s > 3600) {
    throw new InvalidArgumentError('--duration must be a number of seconds above 0, at most 3600');
  }
  return s;
}

/** Checks the combination of options and derives what each scenario runs. */
function settingsOf(opts: BenchOpts, notes: string[]): BenchSettings {
  if (opts.size !== undefined && opts.sizes !== undefined)
    throw new UsageError('give --size or --sizes, not both');
  if (opts.duration !== undefined && opts.count !== undefined) {
    throw new UsageError('give --duration or --count, not both');
  }
  const explicit = opts.sizes ?? (opts.size !== undefined ? [opts.size] : undefined);
  const sizes = explicit ?? DEFAULT_SIZES;
  const tooBig = sizes.filter((s) => s > MAX_QUICK_SIZE);
  if (opts.scenario === 'quick' && explicit && tooBig.length > 0) {
    throw new UsageError(
      `quick datagram sizes must be from 0 to ${MAX_QUICK_SIZE} (one UDP packet); got ${tooBig.join(', ')}`,
    );
  }
  const quickSizes = sizes.filter((s) => s <= MAX_QUICK_SIZE);
  if (opts.scenario === 'all' && explicit && tooBig.length > 0) {
    notes.push(
      `quick: ${tooBig.join(', ')} B left out, above the quick datagram limit of ${MAX_QUICK_SIZE} B`,
    );
  }
  if (opts.scenario === 'all' && quickSizes.length === 0) notes.push('quick: no size fits a quick datagram');
  return {
    scenario: opts.scenario,
    sizes,
    quickSizes,
    durationS: opts.count !== undefined ? null : (opts.duration ?? DEFAULT_DURATION_S),
    count: opts.count ?? null,
    inflight: opts.inflight,
    rate: opts.rate ?? null,
  };
}

async function bench(target: Target | undefined, opts: BenchOpts): Promise<void> {
  const notes: string[] = [];
  const settings = settingsOf(opts, notes);
  let stopServer: (() => Promise<void>) | undefined;
  let url: string;
  if (target) {
    url = target.url;
  } else {
    // Its own lines (listening, ...) would only clutter the report: warnings and worse only.
    const root = cliLogger();
    const logger = root.child({ mod: 'bench-server' }, { level: root.levelVal > 40 ? root.level : 'warn' });
    const { server } = createBenchServer({ logger });
    await server.listen(0, '127.0.0.1');
    stopServer = () => server.close();
    url = `vsoa://127.0.0.1:${server.address().port}`;
    notes.unshift(
      `self-hosted: an echo server in this process on ${url}, sharing one thread with the client; ` +
        "name a server ('vsoa bench serve' on another board) to measure across the network",
    );
  }
  let client: Client | undefined;
  const progress = new Progress();
  try {
    client = await connectOrExplain({ url, path: '/' }, { passwd: opts.passwd ?? '', raw: true });
    if (!opts.json) process.stdout.write(`benchmarking ${url} (${describe(settings)})\n`);
    const report = await runBench(client, { url, selfHosted: !target }, settings, progress, notes);
    process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
    // Asked for quick only and nothing could be measured: not a success.
    if (settings.scenario === 'quick' && report.quick.length === 0) process.exitCode = 1;
  } finally {
    // A failure must not leave its message behind a half-drawn bar.
    progress.end();
    client?.close();
    await stopServer?.();
  }
}

function describe(settings: BenchSettings): string {
  const per = settings.count !== null ? `${settings.count} per pass` : `${settings.durationS} s per pass`;
  return `${settings.scenario === 'all' ? 'rpc and quick' : settings.scenario}, ${per}`;
}

export function register(program: Command): void {
  const cmd = program
    .command('bench')
    .description(
      'measure RPC latency and throughput and quick-datagram loss and latency against a server ' +
        '(without a url: against an echo server started in this process)',
    )
    .argument('[url]', "vsoa://host:port of a 'vsoa bench serve' (or any server with /echo)", serverUrlArg)
    .addOption(
      new Option('--scenario <name>', 'what to measure').choices(['rpc', 'quick', 'all']).default('all'),
    )
    .option('--size <bytes>', 'one payload size', intArg('--size', 0, MAX_RPC_SIZE))
    .option('--sizes <list>', `payload sizes, comma-separated (default ${DEFAULT_SIZES.join(',')})`, sizesArg)
    .option('--duration <s>', `seconds per pass (default ${DEFAULT_DURATION_S})`, secondsArg)
    .option(
      '--count <n>',
      'calls or datagrams per pass, instead of --duration',
      intArg('--count', 1, 100_000_000),
    )
    .option('--inflight <n>', 'calls outstanding in the pipelined pass', intArg('--inflight', 1, 10_000), 64)
    .option(
      '--rate <n>',
      'quick datagrams per second (default: the highest found with < 1% loss)',
      intArg('--rate', 1, MAX_RATE),
    )
    .option('--passwd <password>', 'server password')
    .option('--json', 'print one JSON document: the machine and every result')
    .action((url: Target | undefined, opts: BenchOpts) => bench(url, opts));

  cmd
    .command('serve')
    // Its "global" options would be those of the benchmark, which do not apply here.
    .configureHelp({ showGlobalOptions: false })
    .description('run the server for vsoa bench: /echo, quick datagram echo, /bench/stats, /bench/reset')
    .option('--port <port>', 'TCP and UDP port', intArg('--port', 0, 65535), 3005)
    .option('--host <ip>', 'address to bind', '0.0.0.0')
    .option('--passwd <password>', 'password clients must give')
    .option(
      '--contend <n>',
      'run n busy loops beside the server while it runs (CPU contention, as a loaded board)',
      intArg('--contend', 0, 64),
      0,
    )
    .option('--json', 'print the listening line as JSON')
    .action(async (_opts: unknown, self: Command) => {
      // `vsoa bench serve --json`: the program hands `bench` the options after `serve`, so `bench`
      // takes the two it knows too (--json, --passwd); read them from either. No defaults on
      // them for that reason.
      const opts = self.optsWithGlobals<{
        port: number;
        host: string;
        passwd?: string;
        json?: boolean;
        contend: number;
      }>();
      const misplaced = cmd.options.find(
        (o) =>
          !['json', 'passwd'].includes(o.attributeName()) &&
          cmd.getOptionValueSource(o.attributeName()) === 'cli',
      );
      if (misplaced)
        throw new UsageError(`${misplaced.long} is an option of 'vsoa bench', not of 'vsoa bench serve'`);
      const { server, stats } = createBenchServer({ passwd: opts.passwd ?? '' });
      await server.listen(opts.port, opts.host);
      const { addr, port } = server.address();
      const loops = new BusyLoops(opts.contend);
      const contend = loops.pids.length;
      const line = opts.json
        ? JSON.stringify({ listening: { addr, port }, contend, contendPids: loops.pids })
        : `bench server listening on vsoa://${hostPort(addr, port)} (TCP and UDP)${contend > 0 ? `, ${contend} busy loops beside it` : ''}`;
      process.stdout.write(`${line}\n`);
      try {
        const signal = await untilSignal();
        getLogger().info({ signal, stats: stats() }, 'stopping');
      } finally {
        loops.stop();
      }
      await server.close();
    });
}
