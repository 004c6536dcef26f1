import type { Command } from 'commander';
import { Method } from '../../protocol/constants.js';
import type { Target } from '../args.js';
import { dataArg, jsonArg, serverUrlArg } from '../args.js';
import { connectOrExplain } from '../connect.js';

interface PubOpts {
  param?: unknown;
  data?: Buffer;
  quick?: boolean;
  via: string;
  passwd: string;
}

export function register(program: Command): void {
  program
    .command('pub')
    .description("publish through a server's publish command (the demo server's /publish)")
    .argument('<url>', 'vsoa://host:port/topic to publish on', serverUrlArg)
    .option('--param <json>', 'param as JSON', jsonArg)
    .option('--data <@file|hex>', 'data bytes: @path reads a file, else hex', dataArg)
    .option('--quick', 'publish on the quick (UDP) channel')
    .option('--via <command>', 'the server command that publishes for clients', '/publish')
    .option('--passwd <password>', 'server password', '')
    .action(async (url: Target, opts: PubOpts) => {
      const client = await connectOrExplain(url, opts);
      try {
        const { header, payload } = await client.fetch(opts.via, {
          method: Method.SET,
          payload: {
            param: { url: url.path, param: opts.param, quick: opts.quick === true },
            data: opts.data,
          },
        });
        if (header.status !== 0) {
          const why =
            header.status === 3
              ? `the server has no ${opts.via} command`
              : JSON.stringify(payload.param ?? '');
          throw new Error(`publish refused (status ${header.status}): ${why}`);
        }
        process.stdout.write(`published ${url.path}\n`);
      } finally {
        client.close();
      }
    });
}
