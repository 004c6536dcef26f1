import type { Command } from 'commander';
import { Method } from '../../protocol/constants.js';
import type { Target } from '../args.js';
import { dataArg, intArg, jsonArg, serverUrlArg } from '../args.js';
import { connectOrExplain } from '../connect.js';
import { payloadJson, payloadText } from '../format.js';

interface CallOpts {
  set?: boolean;
  param?: unknown;
  data?: Buffer;
  passwd: string;
  timeout: number;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('call')
    .description('send one RPC and print the reply (exit 1 when its status is not 0)')
    .argument('<url>', 'vsoa://host:port/command', serverUrlArg)
    .option('--set', 'method SET (default GET)')
    .option('--param <json>', 'param as JSON', jsonArg)
    .option('--data <@file|hex>', 'data bytes: @path reads a file, else hex', dataArg)
    .option('--passwd <password>', 'server password', '')
    .option('--timeout <ms>', 'connect and reply timeout', intArg('--timeout', 1, 3_600_000), 10_000)
    .option('--json', 'print the reply as JSON')
    .action(async (url: Target, opts: CallOpts) => {
      const client = await connectOrExplain(url, opts);
      try {
        const { header, payload } = await client.fetch(url.path, {
          method: opts.set ? Method.SET : Method.GET,
          payload: { param: opts.param, data: opts.data },
          timeout: opts.timeout,
        });
        if (opts.json) {
          process.stdout.write(
            `${JSON.stringify({ status: header.status, tunid: header.tunid, ...payloadJson(payload) })}\n`,
          );
        } else {
          process.stdout.write(
            `status ${header.status}${header.tunid ? ` tunid ${header.tunid}` : ''}: ${payloadText(payload)}\n`,
          );
        }
        if (header.status !== 0) process.exitCode = 1;
      } finally {
        client.close();
      }
    });
}
