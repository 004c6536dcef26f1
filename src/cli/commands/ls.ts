import type { Command } from 'commander';
import { FileTransferError, listFiles } from '../../files/index.js';
import { serverUrlArg, type Target } from '../args.js';
import { connectOrExplain } from '../connect.js';
import { addConnectOptions, type ConnectCliOptions, connectOptionsFrom } from '../connect-options.js';
import { CONNECT_ENV, helpFooter, USAGE_EXIT } from '../help.js';
import { say } from '../output.js';

interface LsOpts extends ConnectCliOptions {
  json?: boolean;
}

export function register(program: Command): void {
  const command = program
    .command('ls')
    .description('list a directory served by `vsoa serve --files`')
    .argument('<url>', 'vsoa://host:port/<prefix>/[dir/]', serverUrlArg)
    .option('--json', 'one JSON array of { name, type, size, mtime }');
  addConnectOptions(command, { timeoutHelp: 'connect and request timeout' });
  command
    .addHelpText(
      'after',
      helpFooter(
        { 0: 'listed', 1: 'refused (not a directory, not found) or no connection', 2: USAGE_EXIT },
        CONNECT_ENV,
      ),
    )
    .action(async (url: Target, opts: LsOpts) => {
      const connect = connectOptionsFrom(opts);
      const client = await connectOrExplain(url, connect);
      try {
        const entries = await listFiles(client, url.path, { timeout: connect.timeout });
        if (opts.json) {
          say(JSON.stringify(entries));
          return;
        }
        for (const e of entries) {
          const when = new Date(e.mtime).toISOString().slice(0, 16).replace('T', ' ');
          say(
            `${e.type === 'dir' ? 'd' : '-'} ${String(e.size).padStart(12)}  ${when}  ${e.name}${e.type === 'dir' ? '/' : ''}`,
          );
        }
      } catch (error) {
        if (error instanceof FileTransferError) throw new Error(error.message);
        throw error;
      } finally {
        client.close();
      }
    });
}
