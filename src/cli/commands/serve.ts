import type { Command } from 'commander';
import { createDemoServer } from '../../server/demo/demo-server.js';
import { getLogger } from '../../util/log.js';
import { intArg } from '../args.js';
import { untilSignal } from '../connect.js';
import { hostPort } from '../format.js';

export function register(program: Command): void {
  program
    .command('serve')
    .description('run a demo server: /echo, a /time publish every second, /publish, datagram echo')
    .option('--port <port>', 'TCP and UDP port', intArg('--port', 0, 65535), 3005)
    .option('--host <ip>', 'address to bind', '0.0.0.0')
    .option('--info <text>', 'server info sent to clients', 'vsoa-edge demo')
    .option('--passwd <password>', 'password clients must give', '')
    .option('--json', 'print the listening line as JSON')
    .action(async (opts: { port: number; host: string; info: string; passwd: string; json?: boolean }) => {
      const demo = createDemoServer({ info: { name: opts.info }, passwd: opts.passwd });
      await demo.server.listen(opts.port, opts.host);
      const { addr, port } = demo.server.address();
      const line = opts.json
        ? JSON.stringify({ listening: { addr, port } })
        : `listening on vsoa://${hostPort(addr, port)} (TCP and UDP)`;
      process.stdout.write(`${line}\n`);
      const signal = await untilSignal();
      getLogger().info({ signal }, 'stopping');
      await demo.stop();
    });
}
