import type { Command } from 'commander';
import type { Client } from '../../client/client.js';
import type { Target } from '../args.js';
import { intArg, serverUrlArg } from '../args.js';
import { connectOrExplain } from '../connect.js';
import { addConnectOptions, type ConnectCliOptions, connectOptionsFrom } from '../connect-options.js';
import { CONNECT_ENV, helpFooter, USAGE_EXIT } from '../help.js';
import { narrate, say } from '../output.js';

function pingOnce(client: Client, timeout: number): Promise<number | undefined> {
  const started = process.hrtime.bigint();
  return new Promise((resolve) => {
    const sent = client.ping((_c, ok) => {
      resolve(ok ? Number(process.hrtime.bigint() - started) / 1e6 : undefined);
    }, timeout);
    if (!sent) resolve(undefined);
  });
}

interface PingOpts extends ConnectCliOptions {
  count: number;
  interval: number;
  timeout: number;
  json?: boolean;
}

export function register(program: Command): void {
  const command = program
    .command('ping')
    .description('measure VSOA ping round trips to a server')
    .argument('<url>', 'vsoa://host:port', serverUrlArg)
    .option('--count <n>', 'number of pings', intArg('--count', 1, 1_000_000), 4)
    .option('--interval <ms>', 'pause between pings', intArg('--interval', 0, 3_600_000), 200)
    .option(
      '--timeout <ms>',
      'per ping (the connect has its own 10 s)',
      intArg('--timeout', 1, 3_600_000),
      2000,
    );
  addConnectOptions(command, { timeout: false });
  command
    .option('--json', 'print a JSON summary')
    .addHelpText(
      'after',
      helpFooter(
        { 0: 'at least one ping answered', 1: 'none answered, or a connect failure', 2: USAGE_EXIT },
        CONNECT_ENV,
      ),
    )
    .action(async (url: Target, opts: PingOpts) => {
      const { timeout: _perPing, ...connectFlags } = opts;
      const client = await connectOrExplain(url, connectOptionsFrom(connectFlags));
      const rtts: number[] = [];
      let lost = 0;
      try {
        for (let i = 0; i < opts.count; i++) {
          if (i > 0 && opts.interval > 0) await new Promise((r) => setTimeout(r, opts.interval));
          const rtt = await pingOnce(client, opts.timeout);
          if (rtt === undefined) lost++;
          else rtts.push(rtt);
          if (!opts.json)
            narrate(rtt === undefined ? `ping ${i + 1}: lost` : `ping ${i + 1}: ${rtt.toFixed(3)} ms`);
        }
      } finally {
        client.close();
      }
      const sorted = [...rtts].sort((a, b) => a - b);
      const summary = {
        sent: opts.count,
        received: rtts.length,
        lost,
        minMs: sorted[0] ?? null,
        medianMs: sorted.length ? (sorted[Math.floor((sorted.length - 1) / 2)] as number) : null,
        maxMs: sorted.at(-1) ?? null,
      };
      if (opts.json) say(JSON.stringify(summary));
      else
        say(`${summary.received}/${summary.sent} answered, median ${summary.medianMs?.toFixed(3) ?? '-'} ms`);
      if (lost === opts.count) throw new Error('no ping was answered');
    });
}
