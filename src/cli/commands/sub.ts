import type { Command } from 'commander';
import { isValidUrl } from '../../protocol/url.js';
import type { Target } from '../args.js';
import { intArg, serverUrlArg } from '../args.js';
import { connectOrExplain, untilSignal } from '../connect.js';
import { UsageError } from '../errors.js';
import { payloadJson, payloadText } from '../format.js';

function topicArg(value: string, previous: string[] = []): string[] {
  if (!isValidUrl(value)) throw new UsageError(`topic ${value} must start with '/'; see 'vsoa sub --help'`);
  return [...previous, value];
}

export function register(program: Command): void {
  program
    .command('sub')
    .description('subscribe and print messages until interrupted (or --count)')
    .argument('<url>', 'vsoa://host:port/topic (a topic ending in / takes everything below)', serverUrlArg)
    .argument('[topics...]', 'more topics on the same server')
    .option('--count <n>', 'exit after n messages', intArg('--count', 1, Number.MAX_SAFE_INTEGER))
    .option('--passwd <password>', 'server password', '')
    .option('--json', 'one JSON object per message (NDJSON)')
    .action(async (url: Target, more: string[], opts: { count?: number; passwd: string; json?: boolean }) => {
      const topics = more.reduce((acc, t) => topicArg(t, acc), [url.path]);
      const client = await connectOrExplain(url, opts);
      let received = 0;
      const done = new Promise<void>((resolve) => {
        client.onmessage = (_c, topic, payload, quick) => {
          received++;
          const line = opts.json
            ? JSON.stringify({ url: topic, quick, ...payloadJson(payload) })
            : `${topic}${quick ? ' (quick)' : ''}: ${payloadText(payload)}`;
          process.stdout.write(`${line}\n`);
          if (opts.count !== undefined && received >= opts.count) resolve();
        };
        client.onconnect = (_c, connected) => {
          if (!connected) resolve();
        };
      });
      const subscribed = await new Promise<boolean>((resolve) => {
        if (!client.subscribe(topics, (_c, ok) => resolve(ok), 10_000)) resolve(false);
      });
      if (!subscribed) {
        client.close();
        throw new Error(`the server refused the subscription to ${topics.join(' ')}`);
      }
      await Promise.race([done, untilSignal()]);
      const lost = !client.connected;
      client.close();
      if (lost && (opts.count === undefined || received < opts.count)) throw new Error('connection lost');
    });
}
