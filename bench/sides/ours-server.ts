/** Server child for our library (dist/ or src/: lib/ours.ts). */
import { jsonParam, type ServerAdapter } from '../lib/adapter.js';
import { loadServer } from '../lib/ours.js';
import { QUICK_RCVBUF_BYTES, QUICK_RCVBUF_CHOSEN } from '../lib/quick-rcvbuf.js';
import { serve } from '../lib/server-main.js';

const { Server } = await loadServer();

// BENCH_QUICK_RECV_BATCH=0: Node reads quick datagrams one at a time (the A/B of quickRecvBatch).
const batch = process.env.BENCH_QUICK_RECV_BATCH;
const server = new Server({
  info: 'bench',
  ...(batch ? { quickRecvBatch: Number(batch) } : {}),
  // BENCH_QUICK_RCVBUF: the raw floor's size; otherwise the library's own default.
  ...(QUICK_RCVBUF_CHOSEN ? { quickRecvBufferSize: QUICK_RCVBUF_BYTES } : {}),
});

const adapter: ServerAdapter = {
  async listen() {
    await server.listen(0, '127.0.0.1');
    return server.address().port;
  },
  echo(url) {
    server.command(url, (cli, request, payload) => cli.reply(request.seqno, payload));
  },
  command(url, handler) {
    server.command(url, async (cli, request, payload) => {
      cli.reply(request.seqno, { param: await handler(jsonParam(payload.param)) });
    });
  },
  ondata(handler) {
    server.ondata = (_cli, url, payload) => handler(url, jsonParam(payload.param));
  },
  publish(url, data, quick) {
    server.publish(url, { data }, quick);
  },
  count: () => server.count(),
  close: () => server.close(),
};

await serve(adapter);
