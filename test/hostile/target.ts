/**
 * The server the hostile suite attacks, run as its own process under the memory limits of a
 * small board (--max-old-space-size=256, a 2 GiB address space). It prints its port, serves
 * /echo, a seed-style echoing stream at /stream-echo, /stats (memory after GC, clients,
 * datagrams that reached ondata), and counts what the attacks made it do. With
 * TARGET_TICK_MS it also publishes a tick (the soak's traffic from the server side).
 */
import { Server } from '../../src/index.js';

const gc = (globalThis as { gc?: () => void }).gc;
const server = new Server({ info: 'hostile target', passwd: process.env.TARGET_PASSWD ?? '' });
let datagrams = 0;
let streamsOpen = 0;
server.ondata = () => {
  datagrams++;
};
server.command('/echo', (cli, req, payload) => cli.reply(req.seqno, payload));
server.command('/stats', (cli, req) => {
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  cli.reply(req.seqno, {
    param: {
      rss: m.rss,
      heapUsed: m.heapUsed,
      arrayBuffers: m.arrayBuffers,
      external: m.external,
      clients: server.count(),
      datagrams,
      streamsOpen,
    },
  });
});
server.command('/stream-echo', (cli, req) => {
  // The seed's echo: whatever arrives is sent straight back, ignoring backpressure.
  const stream = server.createStream(
    (_s, connected) => {
      streamsOpen += connected ? 1 : -1;
    },
    (s, data) => {
      s.send(data);
    },
  );
  cli.reply(req.seqno, {}, 0, stream.tunid);
});
// The soak's server side: a tick published to every subscriber, normal and quick in turn.
const tickMs = Number(process.env.TARGET_TICK_MS ?? 0);
if (tickMs > 0) {
  let n = 0;
  setInterval(() => {
    n++;
    server.publish('/soak/tick', { param: { n } }, n % 2 === 0);
  }, tickMs).unref();
}
await server.listen(0, '127.0.0.1');
process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
process.on('SIGTERM', () => {
  void server.close().then(() => process.exit(0));
});
