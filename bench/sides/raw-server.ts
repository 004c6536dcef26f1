/**
 * The floor: a plain `net` echo server for length-prefixed frames, no VSOA. It counts
 * frames as a message server would, and since an echo is the identity, writes each chunk
 * straight back.
 */
import net from 'node:net';
import { GcMeter } from '../lib/gc-meter.js';
import { FrameCounter } from '../lib/length-prefix.js';
import { onCommands, report } from '../lib/messages.js';

const meter = new GcMeter();
let frames = 0;
const server = net.createServer({ noDelay: true }, (socket) => {
  const counter = new FrameCounter();
  socket.on('data', (chunk: Buffer) => {
    frames += counter.push(chunk);
    socket.write(chunk);
  });
  socket.on('error', () => socket.destroy());
});

server.listen(0, '127.0.0.1', () => {
  const address = server.address() as net.AddressInfo;
  onCommands(async (command) => {
    if (command.cmd === 'mark') {
      await meter.mark();
      report('marked');
    } else if (command.cmd === 'stats') {
      const clients = await new Promise<number>((resolve) => server.getConnections((_e, n) => resolve(n)));
      report('stats', { ...(await meter.report()), clients, frames });
    } else if (command.cmd === 'exit') {
      process.exit(0);
    }
  });
  report('ready', { port: address.port, pid: process.pid });
});
