import type { Command } from 'commander';
import { HEADER_LENGTH, MAX_QPACKET_LENGTH, Method, Status } from '../../protocol/constants.js';
import type { PayloadCliOptions, Target } from '../args.js';
import { addPayloadOptions, intArg, payloadData, serverUrlArg } from '../args.js';
import { connectOrExplain } from '../connect.js';
import { addConnectOptions, type ConnectCliOptions, connectOptionsFrom } from '../connect-options.js';
import { UsageError } from '../errors.js';
import { CONNECT_ENV, helpFooter, USAGE_EXIT } from '../help.js';
import { narrate, say } from '../output.js';
import { statusLabel } from '../status.js';

interface PubOpts extends ConnectCliOptions, PayloadCliOptions {
  quick?: boolean;
  via: string;
  count: number;
  json?: boolean;
}

/**
 * Bytes the published quick packet will take (header, url, param JSON, data, up to 3 pad
 * bytes): one UDP datagram must hold it, so a payload too large is refused here rather than
 * dropped by the server.
 */
function quickPacketBytes(url: string, param: unknown, data: Buffer | undefined): number {
  const paramBytes = param === undefined ? 0 : Buffer.byteLength(JSON.stringify(param));
  return HEADER_LENGTH + Buffer.byteLength(url) + paramBytes + (data?.length ?? 0) + 3;
}

export function register(program: Command): void {
  const command = program
    .command('pub')
    .description("publish through a server's publish command (the demo server's /publish)")
    .argument('<url>', 'vsoa://host:port/topic to publish on', serverUrlArg);
  addPayloadOptions(command);
  addConnectOptions(command, { timeoutHelp: 'connect and reply timeout' });
  command
    .option('--quick', 'publish on the quick (UDP) channel')
    .option('--via <command>', 'the server command that publishes for clients', '/publish')
    .option('--count <n>', 'publish n times', intArg('--count', 1, 1_000_000), 1)
    .option('--json', 'one JSON object per publish')
    .addHelpText(
      'after',
      helpFooter(
        { 0: 'published', 1: 'the server refused (status named) or a connect failure', 2: USAGE_EXIT },
        CONNECT_ENV,
      ),
    )
    .action(async (url: Target, opts: PubOpts) => {
      const data = payloadData(opts);
      if (opts.quick) {
        const bytes = quickPacketBytes(url.path, opts.param, data);
        if (bytes > MAX_QPACKET_LENGTH) {
          throw new UsageError(
            `--quick: the message takes ${bytes} bytes, over the quick channel's limit of ${MAX_QPACKET_LENGTH} bytes a packet; publish it without --quick`,
          );
        }
      }
      const connect = connectOptionsFrom(opts);
      const client = await connectOrExplain(url, connect);
      try {
        for (let i = 1; i <= opts.count; i++) {
          const { header, payload } = await client.fetch(opts.via, {
            method: Method.SET,
            payload: { param: { url: url.path, param: opts.param, quick: opts.quick === true }, data },
            timeout: connect.timeout,
          });
          if (header.status !== 0) {
            const why =
              header.status === Status.INVALID_URL
                ? `the server has no ${opts.via} command`
                : JSON.stringify(payload.param ?? '');
            throw new Error(`publish refused (${statusLabel(header.status)}): ${why}`);
          }
          if (opts.json) say(JSON.stringify({ published: url.path, quick: opts.quick === true, n: i }));
          else narrate(`published ${url.path}${opts.count > 1 ? ` (${i}/${opts.count})` : ''}`);
        }
      } finally {
        client.close();
      }
    });
}
