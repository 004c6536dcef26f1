/**
 * Body of every VSOA server child: registers the echo handler, the stream control RPC and
 * the ack datagram on the side's adapter, listens, reports `ready {port}`, then answers
 * the orchestrator's stdin commands: `mark` (start an allocation phase), `stats`
 * (GC, heap, RSS, client count) and `exit`.
 */
import type { ServerAdapter } from './adapter.js';
import { GcMeter } from './gc-meter.js';
import { fail, num, onCommands, report } from './messages.js';
import { Streamer } from './streamer.js';

export async function serve(adapter: ServerAdapter): Promise<void> {
  try {
    const meter = new GcMeter();
    const streamer = new Streamer(adapter);
    adapter.echo('/echo');
    adapter.command('/ctl/stream', (param) =>
      streamer.run(param).catch((error: unknown) => {
        console.error('stream failed:', error); // the client sees only an error status
        throw error;
      }),
    );
    // CPU time used so far, so that a client can charge a measured phase with server CPU.
    adapter.command('/ctl/cpu', async () => ({ ...process.cpuUsage() }));
    // Datagrams on /q-in are counted: the quick-in scenario's receiver.
    let quickIn = 0;
    adapter.command('/ctl/quick-in', async (param) => {
      const received = quickIn;
      if (param.reset === true) quickIn = 0;
      return { received };
    });
    adapter.ondata((url, param) => {
      if (url === '/q-in') quickIn++;
      else if (url === '/ack') streamer.ack(num(param, 'n', 0));
    });
    const port = await adapter.listen();
    onCommands(async (command) => {
      switch (command.cmd) {
        case 'mark':
          await meter.mark();
          report('marked');
          break;
        case 'stats':
          report('stats', { ...(await meter.report()), clients: adapter.count() });
          break;
        case 'exit':
          await adapter.close();
          process.exit(0);
      }
    });
    report('ready', { port, pid: process.pid });
  } catch (error) {
    fail(error);
  }
}
