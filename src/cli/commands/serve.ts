import type { Command } from 'commander';
import { serveFiles } from '../../files/index.js';
import { getLogger } from '../../util/log.js';
import { bindHostArg, intArg } from '../args.js';
import { untilSignal } from '../connect.js';
import {
  addConnectOptions,
  type ConnectCliOptions,
  listenOptionsFrom,
  PASSWD_ENV,
} from '../connect-options.js';
import { createDemoServer } from '../demo/demo-server.js';
import { UsageError } from '../errors.js';
import { hostPort } from '../format.js';
import { helpFooter, USAGE_EXIT } from '../help.js';
import { say } from '../output.js';

interface ServeOpts extends ConnectCliOptions {
  port: number;
  host: string;
  info: string;
  json?: boolean;
  files?: string;
  filesPrefix: string;
  writable?: boolean;
}

export function register(program: Command): void {
  const command = program
    .command('serve')
    .description('run a demo server: /echo, a /time publish every second, /publish, datagram echo')
    .option('--port <port>', 'TCP and UDP port', intArg('--port', 0, 65535), 3005)
    .option('--host <ip>', 'address to bind (an IP address or localhost)', bindHostArg, '0.0.0.0')
    .option('--info <text>', 'server info sent to clients', 'vsoa-edge demo')
    .option('--files <dir>', 'also serve the files below DIR (vsoa cp / vsoa ls)')
    .option('--files-prefix <url>', 'the url the files are served at', '/files')
    .option('--writable', 'with --files: accept uploads');
  addConnectOptions(command, { side: 'server', timeout: false });
  command
    .option('--json', 'print the listening line as JSON')
    .addHelpText(
      'after',
      helpFooter({ 0: 'stopped by SIGINT/SIGTERM', 1: 'could not listen', 2: USAGE_EXIT }, [
        `${PASSWD_ENV}  the password clients must give, when --passwd and --passwd-file are not given`,
      ]),
    )
    .action(async (opts: ServeOpts) => {
      const { passwd, tls } = listenOptionsFrom(opts);
      const demo = createDemoServer({ info: { name: opts.info }, passwd });
      if (opts.files !== undefined) {
        if (!opts.filesPrefix.startsWith('/')) throw new UsageError("--files-prefix must start with '/'");
        try {
          serveFiles(demo.server, opts.filesPrefix, opts.files, {
            writable: opts.writable === true,
            logger: getLogger(),
          });
        } catch (error) {
          throw new UsageError(`--files ${opts.files}: ${(error as Error).message}`);
        }
      } else if (opts.writable) {
        throw new UsageError('--writable needs --files DIR');
      }
      await demo.server.listen(opts.port, opts.host, tls);
      const { addr, port } = demo.server.address();
      const line = opts.json
        ? JSON.stringify({ listening: { addr, port, tls: tls !== undefined } })
        : `listening on vsoa://${hostPort(addr, port)} (${tls ? 'TLS' : 'TCP and UDP'})`;
      say(line);
      const signal = await untilSignal();
      getLogger().info({ signal }, 'stopping');
      await demo.stop();
    });
}
