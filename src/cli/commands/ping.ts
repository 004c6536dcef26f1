import type { Command } from 'commander';
import type { Client } from '../../client/client.js';
import type { Target } from '../args.js';
import { intArg, serverUrlArg } from '../args.js';
import { connectOrExplain } from '../connect.js';

function pingOnce(client: Client, timeout: number): Promise<number | undefined> {
  const started = process.hrtime.bigint();
  return new Promise((resolve) => {
    const sent = client.ping((_c, ok) => {
      resolve(ok ? Number(process.hrtime.bigint() - started) / 1e6 : undefined);
    }, timeout);
    if (!sent) resolve(undefined);
  });
}

export function register(program: Command): void {
  program
    .command('ping')
    .description('measure VSOA ping round trips to a server')
    .argument('<url>', 'vsoa://host:port', serverUrlArg)
    .option('--count <n>', 'number of pings', intArg('--count', 1, 1_000_000), 4)
    .option('--interval <ms>', 'pause between pings', intArg('--interval', 0, 3_600_000), 200)
    .option('--timeout <ms>', 'per ping', intArg('--timeout', 1, 3_600_000), 2000)
    .option('--passwd <password>', 'server password', '')
    .option('--json', 'print a JSON summary')
    .action(
      async (
        url: Target,
        opts: { count: number; interval: number; timeout: number; passwd: string; json?: boolean },
      ) => {
        const client = await connectOrExplain(url, opts);
        const rtts: number[] = [];
        let lost = 0;
        try {
          for (let i = 0; i < opts.count; i++) {
            if (i > 0 && opts.interval > 0) await new Promise((r) => setTimeout(r, opts.interval));
            const rtt = await pingOnce(client, opts.timeout);
            if (rtt === undefined) lost++;
            else rtts.push(rtt);
            if (!opts.json) {
              process.stdout.write(
                rtt === undefined ? `ping ${i + 1}: lost\n` : `ping ${i + 1}: ${rtt.toFixed(3)} ms\n`,
              );
            }
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
        if (opts.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
        else
          process.stdout.write(
            `${summary.received}/${summary.sent} answered, median ${summary.medianMs?.toFixed(3) ?? '-'} ms\n`,
          );
        if (lost === opts.count) throw new Error('no ping was answered');
      },
    );
}
