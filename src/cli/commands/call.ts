import type { Command } from 'commander';
import { Method } from '../../protocol/constants.js';
import type { PayloadCliOptions, Target } from '../args.js';
import { addPayloadOptions, payloadData, serverUrlArg } from '../args.js';
import { connectOrExplain } from '../connect.js';
import { addConnectOptions, type ConnectCliOptions, connectOptionsFrom } from '../connect-options.js';
import { payloadJson, payloadText } from '../format.js';
import { CONNECT_ENV, helpFooter, USAGE_EXIT } from '../help.js';
import { say } from '../output.js';
import { explainStatus, statusLabel } from '../status.js';

interface CallOpts extends ConnectCliOptions, PayloadCliOptions {
  set?: boolean;
  json?: boolean;
}

export function register(program: Command): void {
  const command = program
    .command('call')
    .description('send one RPC and print the reply (exit 1 when its status is not 0)')
    .argument('<url>', 'vsoa://host:port/command', serverUrlArg)
    .option('--set', 'method SET (default GET)');
  addPayloadOptions(command);
  addConnectOptions(command, { timeoutHelp: 'connect and reply timeout' });
  command
    .option('--json', 'print the reply as JSON')
    .addHelpText(
      'after',
      helpFooter(
        {
          0: 'the reply has status 0',
          1: 'another reply status (named on stderr), a connect failure or no reply',
          2: USAGE_EXIT,
        },
        CONNECT_ENV,
      ),
    )
    .action(async (url: Target, opts: CallOpts) => {
      const connect = connectOptionsFrom(opts);
      const client = await connectOrExplain(url, connect);
      try {
        const { header, payload } = await client.fetch(url.path, {
          method: opts.set ? Method.SET : Method.GET,
          payload: { param: opts.param, data: payloadData(opts) },
          timeout: connect.timeout,
        });
        if (opts.json) {
          say(JSON.stringify({ status: header.status, tunid: header.tunid, ...payloadJson(payload) }));
        } else {
          say(
            `${statusLabel(header.status)}${header.tunid ? ` tunid ${header.tunid}` : ''}: ${payloadText(payload)}`,
          );
        }
        if (header.status !== 0) {
          process.stderr.write(`vsoa call: ${url.url}: ${explainStatus(header.status)}\n`);
          process.exitCode = 1;
        }
      } finally {
        client.close();
      }
    });
}
